/** The run index against dynalite: summaries kept by the emitter, listed newest first without a Scan. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type EmitterDeps, makeEmitter } from "../../lambdas/emitter/emitter.js";
import {
  dynamoRunIndex,
  LAST_EVENT_REFRESH_MS,
  type RunIndex,
  RunsCursorError,
} from "../../lambdas/shared/run-index.js";
import { dynamoRunsWatchers } from "../../lambdas/shared/runs-watchers.js";
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

function emitterFor(
  runIndex: Pick<RunIndex, "recordEvent">,
  gateway = recordingGateway(),
  runsWatchers: EmitterDeps["runsWatchers"] = dynamoRunsWatchers(table.client, table.tableName),
) {
  const metrics = recordingMetrics();
  const log = recordingLog();
  const emit = makeEmitter({
    store: dynamoTraceStore(table.client, table.tableName),
    runIndex,
    runsWatchers,
    runsWatchersCacheMs: 2000,
    maxRunsWatchers: 200,
    gateway,
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
    const { runs } = await index.recentRuns({ now: NOW, grants: ["batch-eq/*"], limit: 10, maxDays: 2 });
    expect(runs).toHaveLength(2);
    const [a, b] = runs.map(({ traceId: _id, ...summary }) => summary);
    expect(b).toEqual(a);
    expect(a).toMatchObject({ status: "failed", modelCalls: 2, errors: 3, goal: "Ship it" });
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

    const { runs } = await index.recentRuns({ now: NOW, grants: ["team-a/*"], limit: 10, maxDays: 2 });
    expect(runs).toEqual([
      {
        traceId: "team-a/run-1",
        goal: "Refund the order",
        status: "completed",
        startedAt: t,
        lastEventAt: t + 40,
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

    const first = await index.recentRuns({ now: NOW, grants: ["team-b/*"], limit: 2, maxDays: 7 });
    expect(first.runs.map((run) => run.traceId)).toEqual(["team-b/new", "team-b/mid"]);
    expect(first.next).toBeDefined();
    const second = await index.recentRuns({
      now: NOW,
      grants: ["team-b/*"],
      limit: 2,
      maxDays: 7,
      after: first.next,
    });
    expect(second.runs.map((run) => run.traceId)).toEqual(["team-b/old"]);
    expect(second.next).toBeUndefined();

    const both = await index.recentRuns({
      now: NOW,
      grants: ["team-b/new", "team-c/*"],
      limit: 10,
      maxDays: 7,
    });
    expect(both.runs.map((run) => run.traceId)).toEqual(["team-b/new", "team-c/other"]);
  });

  it("leaves a run running until its terminal event, whatever arrives after", async () => {
    await index.recordEvent(at("team-d/r", 1, NOW - 500, "plan_failed", { error: "x" }), 9_999_999_999);
    await index.recordEvent(at("team-d/r", 0, NOW - 900, "plan_created", { goal: "g" }), 9_999_999_999);
    const { runs } = await index.recentRuns({ now: NOW, grants: ["team-d/*"], limit: 10, maxDays: 1 });
    expect(runs[0]).toMatchObject({ status: "failed", goal: "g", errors: 1 });
  });

  it("writes the summary only when the list would change, and the last event time at most every few seconds", async () => {
    const traceIndex = dynamoRunIndex(table.client, table.tableName);
    const t = NOW - 30_000;
    const written = [];
    for (const event of [
      at("team-f/r", 0, t, "plan_created", { goal: "g" }),
      at("team-f/r", 1, t + 100, "route_decision", { agent: "a" }),
      at("team-f/r", 2, t + 200, "tool_call_complete", { tool: "x", call_id: "c" }),
      at("team-f/r", 3, t + 300, "tool_call_start", { tool: "x", call_id: "d" }),
      at("team-f/r", 4, t + LAST_EVENT_REFRESH_MS + 400, "route_decision", { agent: "a" }),
    ]) {
      written.push((await traceIndex.recordEvent(event, 9_999_999_999))?.lastEventAt);
    }
    expect(written).toEqual([t, undefined, undefined, t + 300, t + LAST_EVENT_REFRESH_MS + 400]);
    const { runs } = await traceIndex.recentRuns({ now: NOW, grants: ["team-f/r"], limit: 5, maxDays: 1 });
    expect(runs).toMatchObject([
      { traceId: "team-f/r", toolCalls: 1, lastEventAt: t + LAST_EVENT_REFRESH_MS + 400 },
    ]);
  });

  it("fills a filtered page from further keys and carries on from where it stopped", async () => {
    for (let n = 0; n < 6; n++) {
      const event = at(`team-g/r${n}`, 0, NOW - 10_000 + n, n % 2 === 0 ? "plan_failed" : "plan_created", {
        ...(n % 2 === 0 ? { error: "x" } : { goal: `goal ${n}` }),
      });
      await index.recordEvent(event, 9_999_999_999);
    }
    const failed = {
      grants: ["team-g/*"],
      now: NOW,
      maxDays: 1,
      limit: 2,
      keep: (run: { status: string }) => run.status === "failed",
    };
    const first = await index.recentRuns(failed);
    expect(first.runs.map((run) => run.traceId)).toEqual(["team-g/r4", "team-g/r2"]);
    const second = await index.recentRuns({ ...failed, after: first.next });
    expect(second.runs.map((run) => run.traceId)).toEqual(["team-g/r0"]);
    expect(second.next).toBeUndefined();
  });

  it("refuses a cursor that no page returned", async () => {
    for (const after of [
      "x",
      "2026-12-02T12:00:00.000Z#bad id",
      `${new Date(NOW + 2 * DAY).toISOString().slice(0, 10)}`,
    ]) {
      await expect(
        index.recentRuns({ now: NOW, grants: ["*"], limit: 1, maxDays: 1, after }),
      ).rejects.toThrow(RunsCursorError);
    }
  });

  it("posts a changed summary to the runs watchers its trace is granted to, reads them once per cache period, and prunes a gone one", async () => {
    const watchers = dynamoRunsWatchers(table.client, table.tableName);
    const watch = (connectionId: string, grants: string[]) =>
      watchers.put({ connectionId, grants, connectedAt: 0, expiresAt: 9_999_999_999 });
    await watch("team-h=", ["team-h/*"]);
    await watch("exact=", ["team-h/r1"]);
    await watch("other=", ["team-i/*", "team-h"]);
    await watch("gone=", ["*"]);
    const gateway = recordingGateway({ gone: ["gone="] });
    let reads = 0;
    const counted: EmitterDeps["runsWatchers"] = {
      list: (atMost) => {
        reads++;
        return watchers.list(atMost);
      },
      prune: (connectionId, before) => watchers.prune(connectionId, before),
    };
    const { emit } = emitterFor(dynamoRunIndex(table.client, table.tableName), gateway, counted);
    await emit(envelope(at("team-h/r1", 0, NOW - 1000, "plan_created", { goal: "Ship it" })));
    await emit(envelope(at("team-h/r1", 1, NOW - 900, "route_decision", { agent: "a" }))); // no change: no frame
    await emit(envelope(at("team-h/r2", 0, NOW - 800, "plan_created", { goal: "Other" })));

    const runs = (connectionId: string) =>
      gateway.framesFor(connectionId).filter((frame) => (frame as { type: string }).type === "run");
    expect(runs("team-h=")).toMatchObject([
      { run: { trace_id: "team-h/r1", goal: "Ship it", status: "running" } },
      { run: { trace_id: "team-h/r2" } },
    ]);
    expect(runs("exact=")).toMatchObject([{ run: { trace_id: "team-h/r1" } }]);
    expect(runs("other=")).toEqual([]);
    expect(reads).toBe(1); // the emitter's clock stands still: one read for the three events
    expect((await watchers.list(10)).map((watcher) => watcher.connectionId).sort()).toEqual([
      "exact=",
      "other=",
      "team-h=",
    ]);
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
