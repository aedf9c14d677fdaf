import { describe, expect, it } from "vitest";
import { formatEvent, painter } from "../../bin/commands/event-format.js";
import type { TraceEvent } from "../../protocol/trace-event.js";

const plain = painter(false);

function event(name: TraceEvent["event"], metadata: Record<string, unknown>): TraceEvent {
  return {
    event_id: "9b2f8a53-9c55-4c3e-8f0c-1d0d3b7d2a10",
    trace_id: "t",
    seq: 0,
    event: name,
    timestamp: "2026-01-02T03:04:05.678Z",
    status: "success",
    metadata,
    schema_version: 1,
  } as TraceEvent;
}

describe("one line per event", () => {
  it("says 1 step, not 1 steps, and 5 steps", () => {
    expect(formatEvent(event("plan_created", { goal: "say hello", steps: 1 }), plain)).toMatch(
      /plan_created +say hello {2}1 step$/,
    );
    expect(formatEvent(event("plan_created", { goal: "g", steps: 5 }), plain)).toMatch(/ 5 steps$/);
    expect(formatEvent(event("plan_completed", { steps_completed: 1 }), plain)).toMatch(
      /plan_completed +1 step$/,
    );
    expect(formatEvent(event("plan_completed", { steps_completed: 0 }), plain)).toMatch(/ 0 steps$/);
  });
});
