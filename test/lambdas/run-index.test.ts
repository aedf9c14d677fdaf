/** The run index against dynalite: summaries kept by the emitter, listed newest first without a Scan. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeEmitter } from "../../lambdas/emitter/emitter.js";
import { dynamoRunIndex, type RunIndex } from "../../lambdas/shared/run-index.js";
import { dynamoTraceStore } from "../../lambdas/shared/trace-store.js";
import type { EventName, TraceEvent } from "../../protocol/index.js";
import { startTestTable, type TestTable } from "../helpers/dynalite.js";
import { envelope, traceEvent } from "../support/events.js";
import { recordingGateway } from "../support/gateway.js";
import { recordingLog, recordingMetrics } from "../support/telemetry.js";

let table: TestTable;
let index: RunIndex;
beforeAll(async () => {
  table = await startTestTable("run-index-test");
  index = dynamoRunIndex(table.client, table.tableName);
});
afterAll(() => table.close());

const DAY = 24 * 60 * 60 * 1000;
const NOW = Date.UTC(2026, 11, 2, 12, 0, 0);

function at(traceId: string, seq: number, time: number, event: EventName, metadata: object = {}): TraceEvent {
  return traceEvent(seq, { trace_id: traceId, timestamp: new Date(time).toISOString(), event, metadata });
}

function emitterFor(runIndex: Pick<RunIndex, "recordEvent">) {
  const metrics = recordingMetrics();
  const log = recordingLog();
  const emit = makeEmitter({
    store: dynamoTraceStore(table.client, table.tableName),
    runIndex,
    gateway: recordingGateway(),
    deadLetters: { send: async () => {} },
    log,
    metrics,
    now: () => NOW,
    source: "trace-stream",
    retentionSeconds: 86400,
    concurrency: 4,
  });
  return { emit, metrics, log };
}

describe("run index", () => {
  it("gives a trace the same summary from one batch write (the stream fan-out's) as from its events one by one", async () => {
    const t = NOW - 120_000;
    const run = (traceId: string) => [
      at(traceId, 0, t, "plan_created", { goal: "Ship it" }),
      at(traceId, 1, t + 10, "tool_call_start", { tool: "lookup", call_id: "c1" }),
      at(traceId, 2, t + 20, "tool_call_error", { tool: "lookup", call_id: "c1", error: "down" }),
      at(traceId, 3, t + 30, "llm_call_complete", {
        call_id: "m1",
        model: "m",
        input_tokens: 700,
        output_tokens: 80,
        cost_usd: 0.02,
      }),
      at(traceId, 4, t + 35, "llm_call_error", { call_id: "m2", model: "m", error: "overloaded" }),
      at(traceId, 5, t + 40, "plan_failed", { error: "gave up" }),
    ];
    for (const event of run("batch-eq/one-by-one")) await index.recordEvent(event, 2_000_000_000);
    const batched = run("batch-eq/batched");
    await index.recordEvents(batched.slice(0, 2), 2_000_000_000);
    await index.recordEvents(batched.slice(2), 2_000_000_000);
    const { runs } = await index.recentRuns({ now: NOW, prefixes: ["batch-eq/"], limit: 10, maxDays: 2 });
    expect(runs).toHaveLength(2);
    const [a, b] = runs.map(({ traceId: _id, ...summary }) => summary);
    expect(b).toEqual(a);
    expect(a).toMatchObject({ status: "failed", eventCount: 6, modelCalls: 2, errors: 3, goal: "Ship it" });
  });

  it("keeps one summary per trace from the events the emitter stores, counting a redelivered event once", async () => {
    const { emit } = emitterFor(index);
    const t = NOW - 60_000;
    const events = [
      at("team-a/run-1", 0, t, "plan_created", { goal: "Refund the order" }),
      at("team-a/run-1", 1, t + 10, "tool_call_start", { tool: "lookup", call_id: "c1" }),
      at("team-a/run-1", 2, t + 20, "tool_call_error", { tool: "lookup", call_id: "c1", error: "down" }),
      at("team-a/run-1", 3, t + 30, "llm_call_complete", {
        call_id: "m1",
        model: "m",
        input_tokens: 1000,
        output_tokens: 200,
        cost_usd: 0.01,
      }),
      at("team-a/run-1", 4, t + 40, "plan_completed", {}),
    ];
    for (const event of events) await emit(envelope(event));
    await emit(envelope(events[3])); // EventBridge delivers at least once

    const { runs } = await index.recentRuns({ now: NOW, prefixes: ["team-a/"], limit: 10, maxDays: 2 });
    expect(runs).toEqual([
      {
        traceId: "team-a/run-1",
        goal: "Refund the order",
        status: "completed",
        startedAt: t,
        lastEventAt: t + 40,
        eventCount: 5,
        toolCalls: 1,
        errors: 1,
        modelCalls: 1,
        inputTokens: 1000,
        outputTokens: 200,
        costUsd: 0.01,
      },
    ]);
  });

  it("lists runs newest first across days, only those the prefixes grant, a page at a time", async () => {
    for (const [traceId, startedAt] of [
      ["team-b/old", NOW - DAY - 5_000],
      ["team-b/new", NOW - 1_000],
      ["team-b/mid", NOW - 3_000],
      ["team-c/other", NOW - 2_000],
      ["team-b/too-old", NOW - 9 * DAY],
    ] as const) {
      await index.recordEvent(at(traceId, 0, startedAt, "plan_created", { goal: traceId }), 9_999_999_999);
    }

    const first = await index.recentRuns({ now: NOW, prefixes: ["team-b/"], limit: 2, maxDays: 7 });
    expect(first.runs.map((run) => run.traceId)).toEqual(["team-b/new", "team-b/mid"]);
    expect(first.next).toBeDefined();
    const second = await index.recentRuns({
      now: NOW,
      prefixes: ["team-b/"],
      limit: 2,
      maxDays: 7,
      after: first.next,
    });
    expect(second.runs.map((run) => run.traceId)).toEqual(["team-b/old"]);
    expect(second.next).toBeUndefined();

    const both = await index.recentRuns({
      now: NOW,
      prefixes: ["team-b/new", "team-c/"],
      limit: 10,
      maxDays: 7,
    });
    expect(both.runs.map((run) => run.traceId)).toEqual(["team-b/new", "team-c/other"]);
  });

  it("leaves a run running until its terminal event, whatever arrives after", async () => {
    await index.recordEvent(at("team-d/r", 1, NOW - 500, "plan_failed", { error: "x" }), 9_999_999_999);
    await index.recordEvent(at("team-d/r", 0, NOW - 900, "plan_created", { goal: "g" }), 9_999_999_999);
    const { runs } = await index.recentRuns({ now: NOW, prefixes: ["team-d/"], limit: 10, maxDays: 1 });
    expect(runs[0]).toMatchObject({ status: "failed", goal: "g", eventCount: 2, errors: 1 });
  });

  it("stores and delivers the event when the run summary cannot be written, and counts the failure", async () => {
    const { emit, metrics } = emitterFor({
      recordEvent: async () => {
        throw new Error("throttled");
      },
    });
    const outcome = await emit(envelope(at("team-e/r", 0, NOW, "plan_created", { goal: "g" })));
    expect(outcome).toMatchObject({ kind: "delivered", duplicate: false });
    expect(metrics.counts.RunIndexFailures).toBe(1);
  });
});
