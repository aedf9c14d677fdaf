import { describe, expect, it } from "vitest";
import { createStopControl, SAME_SIGNAL_MS } from "../../bin/commands/stop-signals.js";

function control() {
  let clock = 1_000;
  let exits = 0;
  const stop = createStopControl({ exitNow: () => exits++, now: () => clock });
  return {
    stop,
    advance: (ms: number) => (clock += ms),
    exits: () => exits,
  };
}

describe("signals to the CLI process", () => {
  it("the first signal asks the command to stop and clean up", () => {
    const { stop, exits } = control();
    expect(stop.signal.aborted).toBe(false);
    stop.onSignal();
    expect(stop.signal.aborted).toBe(true);
    expect(exits()).toBe(0);
  });

  it("one Ctrl-C delivered twice (by the terminal and by npm) is still one: the clean-up goes on", () => {
    const { stop, advance, exits } = control();
    stop.onSignal();
    advance(5);
    stop.onSignal();
    advance(SAME_SIGNAL_MS - 5);
    stop.onSignal();
    expect(exits()).toBe(0);
  });

  it("a second Ctrl-C later, while the command is still cleaning up, ends the process at once", () => {
    const { stop, advance, exits } = control();
    stop.onSignal();
    advance(SAME_SIGNAL_MS + 1);
    stop.onSignal();
    expect(exits()).toBe(1);
  });
});
