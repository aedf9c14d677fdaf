import { describe, expect, it } from "vitest";
import type { RunSummaryWire } from "../../client/runs-client.js";
import {
  DEFAULT_STALLED_AFTER_MS,
  orderRuns,
  runDuration,
  runState,
  stalledAfterFromSearch,
} from "../../web/runs-view.js";
import { runSummary } from "../support/run-summaries.js";

const run = runSummary;

const NOW = 1_000_000;
const STALL = 60_000;

describe("the runs list's view", () => {
  it("puts active runs first, then stalled and finished ones, each newest first", () => {
    const runs = [
      run("done-new", { status: "completed", started_at: 900_000, last_event_at: 950_000 }),
      run("active-old", { started_at: 100_000, last_event_at: NOW - 1000 }),
      run("stalled", { started_at: 950_000, last_event_at: NOW - STALL }),
      run("active-new", { started_at: 800_000, last_event_at: NOW - 5 }),
    ];
    expect(orderRuns(runs, NOW, STALL).map((held) => held.trace_id)).toEqual([
      "active-new",
      "active-old",
      "stalled",
      "done-new",
    ]);
    expect(runState(runs[2] as RunSummaryWire, NOW, STALL)).toBe("stalled");
  });

  it("counts a running run's duration to now, any other run's to its last event", () => {
    expect(runDuration(run("a", { started_at: 1000, last_event_at: NOW - 10 }), NOW, STALL)).toBe(NOW - 1000);
    expect(
      runDuration(run("b", { started_at: 1000, last_event_at: 5000, status: "failed" }), NOW, STALL),
    ).toBe(4000);
    expect(runDuration(run("c", { started_at: 1000, last_event_at: 5000 }), NOW, STALL)).toBe(4000);
  });

  it("reads the stalled time from ?stalledAfter=SECONDS, falling back on bad values", () => {
    expect(stalledAfterFromSearch("?stalledAfter=30")).toBe(30_000);
    for (const search of [
      "",
      "?stalledAfter=0",
      "?stalledAfter=abc",
      "?stalledAfter=1.5",
      "?stalledAfter=999999",
    ]) {
      expect(stalledAfterFromSearch(search)).toBe(DEFAULT_STALLED_AFTER_MS);
    }
  });
});
