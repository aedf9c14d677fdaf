/** RunsClient: its pure merge and filter rules, and the client against the local stack. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import {
  isStalled,
  laterRun,
  matchesRunsFilter,
  type RunSummaryWire,
  RunsClient,
} from "../../client/index.js";
import type { WebSocketConstructor } from "../../client/subscriber-socket.js";
import { DEFAULT_RUNS_WATCHERS_CACHE_MS } from "../../lambdas/emitter/handler.js";
import { putTraceEvents, startTestStack, type TestStack, traceEvent } from "../helpers/local-stack.js";
import { eventually } from "../soak/trace-watchers.js";
import { runSummary } from "../support/run-summaries.js";

const run = (fields: Partial<RunSummaryWire> = {}): RunSummaryWire =>
  runSummary("team-a/r1", { goal: "Refund order 1234", started_at: 1_000, last_event_at: 2_000, ...fields });

describe("runs list rules", () => {
  it("keeps the further of two copies of a run, whichever arrives last", () => {
    const early = run({ tool_calls: 1 });
    const later = run({ tool_calls: 2, last_event_at: 3_000 });
    const done = run({ status: "completed", tool_calls: 2, last_event_at: 3_000 });
    expect(laterRun(early, later)).toBe(later);
    expect(laterRun(later, early)).toBe(later);
    expect(laterRun(done, later)).toBe(done);
    expect(laterRun(later, done)).toBe(done);
  });

  it("calls a running run stalled after the configured quiet time, never a finished one", () => {
    expect(isStalled(run(), 2_000 + 59_999, 60_000)).toBe(false);
    expect(isStalled(run(), 2_000 + 60_000, 60_000)).toBe(true);
    expect(isStalled(run({ status: "failed" }), 10_000_000, 60_000)).toBe(false);
  });

  it("filters by status (running excludes stalled) and by id prefix or goal words", () => {
    const quiet = 2_000 + 60_000;
    expect(matchesRunsFilter(run(), { status: "running" }, quiet, 60_000)).toBe(false);
    expect(matchesRunsFilter(run(), { status: "stalled" }, quiet, 60_000)).toBe(true);
    expect(matchesRunsFilter(run(), { status: "running" }, 2_001, 60_000)).toBe(true);
    expect(matchesRunsFilter(run(), { status: "completed" }, 2_001, 60_000)).toBe(false);
    expect(matchesRunsFilter(run(), { search: "team-a/" }, 0, 60_000)).toBe(true);
    expect(matchesRunsFilter(run(), { search: "a/r1" }, 0, 60_000)).toBe(false);
    expect(matchesRunsFilter(run(), { search: "REFUND order" }, 0, 60_000)).toBe(true);
    expect(matchesRunsFilter(run({ goal: undefined }), { search: "refund" }, 0, 60_000)).toBe(false);
  });
});

describe("RunsClient on the local stack", () => {
  let stack: TestStack;
  let client: RunsClient;
  beforeAll(async () => {
    stack = await startTestStack();
    const started = Date.now() - 10_000;
    const events = Array.from({ length: 5 }, (_, n) =>
      traceEvent(`team-c/run-${n}`, 0, {
        event: "plan_created",
        metadata: { goal: n === 3 ? "Reconcile invoices" : `Task ${n}` },
        timestamp: new Date(started + n).toISOString(),
      }),
    );
    await putTraceEvents(stack, events);
    await stack.deliveriesIdle();
    client = new RunsClient({
      url: stack.endpoints.webSocketUrl,
      getToken: () => stack.mintToken("team-c/*"),
      pageSize: 2,
      WebSocket: WebSocket as unknown as WebSocketConstructor,
    });
    client.start();
  });
  afterAll(async () => {
    client?.close();
    await stack?.stop();
  });

  const ids = () => client.getSnapshot().runs.map((held) => held.trace_id);

  it("lists the newest page, then more pages on request", async () => {
    await eventually(() => ids().length === 2 && !client.getSnapshot().loading, "the first page", 10_000);
    expect(ids()).toEqual(["team-c/run-4", "team-c/run-3"]);
    expect(client.getSnapshot().hasMore).toBe(true);
    client.loadMore();
    await eventually(() => ids().length === 4 && !client.getSnapshot().loading, "the second page", 10_000);
    expect(ids()).toEqual(["team-c/run-4", "team-c/run-3", "team-c/run-2", "team-c/run-1"]);
  });

  it("shows a new run and a run's progress live", async () => {
    stack.clock.advance(DEFAULT_RUNS_WATCHERS_CACHE_MS + 1);
    await putTraceEvents(stack, [
      traceEvent("team-c/run-new", 0, { event: "plan_created", metadata: { goal: "Fresh" } }),
      traceEvent("team-c/run-4", 1, { event: "tool_call_start", metadata: { tool: "t", call_id: "c" } }),
    ]);
    await eventually(
      () => ids()[0] === "team-c/run-new" && client.getSnapshot().runs.some((held) => held.tool_calls === 1),
      "the live updates",
      10_000,
    );
  });

  it("lists again from the newest run under a new filter", async () => {
    client.setFilter({ search: "reconcile" });
    await eventually(() => !client.getSnapshot().loading && ids().length === 1, "the filtered page", 10_000);
    expect(ids()).toEqual(["team-c/run-3"]);
    expect(client.getSnapshot().hasMore).toBe(false);
  });
});
