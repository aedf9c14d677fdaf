import { describe, expect, it } from "vitest";
import { pageFrame, runFilter } from "../../lambdas/resume/list-runs.js";
import type { RunSummary } from "../../lambdas/shared/run-index.js";
import { keys } from "../../lib/table-design.js";
import { MAX_FRAME_BYTES, MAX_RUN_GOAL_CHARS, parseServerFrame, utf8Bytes } from "../../protocol/index.js";

const summary = (traceId: string, fields: Partial<RunSummary> = {}): RunSummary => ({
  traceId,
  goal: undefined,
  status: "running",
  startedAt: 1_000,
  lastEventAt: 2_000,
  toolCalls: 0,
  errors: 0,
  modelCalls: 0,
  inputTokens: 0,
  outputTokens: 0,
  costUsd: 0,
  ...fields,
});

describe("listRuns", () => {
  it("filters by status (stalled after the client's quiet time) and by id prefix or goal words", () => {
    const quiet = summary("team-a/r1", { goal: "Refund order" });
    const now = 2_000 + 60_000;
    expect(runFilter({}, now)).toBeUndefined();
    expect(runFilter({ status: "stalled", stalledAfterMs: 60_000 }, now)?.(quiet)).toBe(true);
    expect(runFilter({ status: "running", stalledAfterMs: 60_000 }, now)?.(quiet)).toBe(false);
    expect(runFilter({ status: "running" }, now)?.(quiet)).toBe(true);
    expect(runFilter({ status: "failed" }, now)?.(quiet)).toBe(false);
    expect(runFilter({ search: "team-a/" }, now)?.(quiet)).toBe(true);
    expect(runFilter({ search: "refund ORDER" }, now)?.(quiet)).toBe(true);
    expect(runFilter({ search: "a/r1" }, now)?.(quiet)).toBe(false);
  });

  it("cuts a page whose goals JSON escapes out of one frame, and carries on from the last run kept", () => {
    const goal = "\u0001".repeat(MAX_RUN_GOAL_CHARS); // six bytes a character once escaped
    const runs = Array.from({ length: 100 }, (_, n) =>
      summary(`t/${"x".repeat(100)}-${String(n).padStart(3, "0")}`, { goal, startedAt: 10_000 - n }),
    );
    const frame = pageFrame(runs, undefined);
    expect(utf8Bytes(frame)).toBeLessThanOrEqual(MAX_FRAME_BYTES);
    const parsed = parseServerFrame(frame);
    if (parsed.type !== "runs") throw new Error("not a runs frame");
    expect(parsed.runs.length).toBeLessThan(100);
    const last = runs[parsed.runs.length - 1] as RunSummary;
    expect(parsed.next).toBe(keys.runsOrder(last.startedAt, last.traceId));
    expect(pageFrame(runs.slice(0, 3), "2026-12-01")).toContain('"next":"2026-12-01"');
  });
});
