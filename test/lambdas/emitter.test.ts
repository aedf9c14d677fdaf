import {
  type ApiGatewayManagementApiClient,
  GoneException,
  LimitExceededException,
  PostToConnectionCommand,
} from "@aws-sdk/client-apigatewaymanagementapi";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DeadLetterPort, Rejection } from "../../lambdas/emitter/dead-letters.js";
import { deadLetterBody } from "../../lambdas/emitter/dead-letters.js";
import { makeEmitter } from "../../lambdas/emitter/emitter.js";
import { createHandler } from "../../lambdas/emitter/handler.js";
import { ConnectionPostError, managementApiGateway } from "../../lambdas/shared/connection-gateway.js";
import { dynamoRunIndex } from "../../lambdas/shared/run-index.js";
import { dynamoRunsWatchers } from "../../lambdas/shared/runs-watchers.js";
import { dynamoTraceStore, type TraceStore } from "../../lambdas/shared/trace-store.js";
import { MAX_EVENT_BYTES, REDACTED } from "../../protocol/index.js";
import { startTestTable, type TestTable } from "../helpers/dynalite.js";
import { envelope, traceEvent } from "../support/events.js";
import { recordingGateway } from "../support/gateway.js";
import { recordingLog, recordingMetrics } from "../support/telemetry.js";

let table: TestTable;
let store: TraceStore;
beforeAll(async () => {
  table = await startTestTable();
  store = dynamoTraceStore(table.client, table.tableName);
});
afterAll(() => table.close());

function recordingDeadLetters(): DeadLetterPort & { rejections: Rejection[] } {
  const rejections: Rejection[] = [];
  return { rejections, send: async (rejection) => void rejections.push(rejection) };
}

function emitterWith(
  gateway = recordingGateway(),
  concurrency = 32,
  storeUsed: TraceStore = store,
  fanOut: "direct" | "stream" = "direct",
) {
  const deadLetters = recordingDeadLetters();
  const log = recordingLog();
  const metrics = recordingMetrics();
  const emit = makeEmitter({
    store: storeUsed,
    runIndex: dynamoRunIndex(table.client, table.tableName),
    runsWatchers: dynamoRunsWatchers(table.client, table.tableName),
    runsWatchersCacheMs: 2000,
    maxRunsWatchers: 200,
    gateway,
    deadLetters,
    log,
    metrics,
    now: Date.now,
    source: "trace-stream",
    retentionSeconds: 7 * 86400,
    concurrency,
    fanOut,
  });
  return { emit, gateway, deadLetters, log, metrics };
}

async function subscribe(traceId: string, ...connectionIds: string[]) {
  for (const connectionId of connectionIds) {
    await store.putSubscription({ traceId, connectionId, connectedAt: 0, expiresAt: 9_999_999_999 });
  }
}

async function storedSeqs(traceId: string): Promise<number[]> {
  const seqs: number[] = [];
  for await (const page of store.eventsAfter(traceId, -1)) seqs.push(...page.map((event) => event.seq));
  return seqs;
}

describe("emitter", () => {
  it("stores the event, then posts it to every subscriber of its trace only", async () => {
    await subscribe("t-fan", "a=", "b=");
    await subscribe("t-other", "c=");
    const { emit, gateway, metrics } = emitterWith();
    const event = traceEvent(0, { trace_id: "t-fan" });
    expect(await emit(envelope(event))).toEqual({
      kind: "delivered",
      duplicate: false,
      delivered: 2,
      pruned: 0,
      failed: 0,
    });
    expect(gateway.framesFor("a=")).toEqual([{ type: "event", ...event }]);
    expect(gateway.framesFor("b=")).toEqual([{ type: "event", ...event }]);
    expect(gateway.framesFor("c=")).toEqual([]);
    expect(await storedSeqs("t-fan")).toEqual([0]);
    expect(metrics.counts).toMatchObject({ EventsReceived: 1, EventsStored: 1, EventsDelivered: 2 });
    expect(metrics.timings.FanOutDuration).toHaveLength(1);
    expect(metrics.timings.EventLag).toHaveLength(1);
  });

  it("in stream mode stores the event and posts nothing: the fan-out posts it from the table's stream", async () => {
    await subscribe("t-stream", "s=");
    const { emit, gateway, metrics } = emitterWith(recordingGateway(), 32, store, "stream");
    const event = traceEvent(0, { trace_id: "t-stream" });
    expect(await emit(envelope(event))).toEqual({
      kind: "delivered",
      duplicate: false,
      delivered: 0,
      pruned: 0,
      failed: 0,
    });
    expect(gateway.framesFor("s=")).toEqual([]);
    expect(await storedSeqs("t-stream")).toEqual([0]);
    expect(metrics.counts).toMatchObject({ EventsStored: 1 });
    expect(metrics.counts.EventsDelivered).toBeUndefined();
  });

  it("refuses a FAN_OUT_MODE it does not know at cold start", () => {
    expect(() =>
      createHandler({
        TABLE_NAME: "t",
        CONNECTIONS_ENDPOINT: "http://x",
        DEAD_LETTER_QUEUE_URL: "http://q",
        EVENT_SOURCE: "trace-stream",
        FAN_OUT_MODE: "kinesis",
      }),
    ).toThrow(/FAN_OUT_MODE must be "direct" or "stream"/);
  });

  it("logs a delivered event at DEBUG only: per-event lines are for sampled invocations, not every event", async () => {
    await subscribe("t-quiet", "q=");
    const { emit, log } = emitterWith();
    await emit(envelope(traceEvent(0, { trace_id: "t-quiet" })));
    expect(log.lines.map((line) => `${line.level} ${line.message}`)).toEqual(["debug event delivered"]);
  });

  it("stores events with no subscribers, for late joiners", async () => {
    const { emit } = emitterWith();
    await emit(envelope(traceEvent(0, { trace_id: "t-alone" })));
    expect(await storedSeqs("t-alone")).toEqual([0]);
  });

  it("fans a redelivered event out again without storing it twice", async () => {
    await subscribe("t-dup", "d=");
    const { emit, gateway, metrics } = emitterWith();
    const event = traceEvent(0, { trace_id: "t-dup" });
    await emit(envelope(event));
    expect(await emit(envelope(event))).toMatchObject({ duplicate: true, delivered: 1 });
    expect(gateway.framesFor("d=")).toHaveLength(2);
    expect(metrics.counts).toMatchObject({ EventsStored: 1, EventsDuplicate: 1 });
  });

  it("dead-letters a different event at a stored seq as seq_conflict; watchers get a conflict frame, never its body", async () => {
    await subscribe("t-conflict", "e=");
    const { emit, gateway, deadLetters, metrics } = emitterWith();
    await emit(envelope(traceEvent(0, { trace_id: "t-conflict" })));
    const impostor = traceEvent(0, {
      trace_id: "t-conflict",
      event: "plan_failed",
      metadata: { error: "from the second run" },
    });
    expect(await emit(envelope(impostor))).toEqual({ kind: "rejected", code: "seq_conflict" });
    const frames = gateway.framesFor("e=");
    expect(frames).toHaveLength(2);
    expect(frames[1]).toEqual({
      type: "conflict",
      trace_id: "t-conflict",
      seq: 0,
      event_id: impostor.event_id,
      reason: expect.stringMatching(
        /already held by another event: another run most likely reused the trace id/,
      ),
    });
    expect(JSON.stringify(frames[1])).not.toContain("from the second run");
    expect(deadLetters.rejections[0]?.reason).toMatch(/seq 0 of trace t-conflict is already held/);
    expect(metrics.counts).toMatchObject({ EventsConflicting: 1, EventsRejected: 1 });
  });

  it("records each refused event once on its trace, however often it is redelivered, so a resume can count them", async () => {
    await subscribe("t-counted", "f=");
    const { emit } = emitterWith();
    for (let seq = 0; seq < 3; seq++) await emit(envelope(traceEvent(seq, { trace_id: "t-counted" })));
    const second = [0, 1, 2].map((seq) => traceEvent(seq, { trace_id: "t-counted" }));
    for (const event of [...second, second[1] as (typeof second)[number]]) await emit(envelope(event));
    expect(await store.conflicts("t-counted")).toEqual({
      count: 3,
      more: false,
      refused: second.map((event) => ({ seq: event.seq, event_id: event.event_id })),
    });
    expect(await store.conflicts("t-fan")).toEqual({ count: 0, more: false, refused: [] });
  });

  it("dead-letters a conflict whose notice missed a watcher without re-sending it to all: the record reaches that watcher on resume", async () => {
    await subscribe("t-conflict-retry", "g=", "h=");
    const first = emitterWith();
    await first.emit(envelope(traceEvent(0, { trace_id: "t-conflict-retry" })));
    const failing = emitterWith(recordingGateway({ failing: ["h="] }));
    const impostor = envelope(traceEvent(0, { trace_id: "t-conflict-retry" }));
    expect(await failing.emit(impostor)).toEqual({ kind: "rejected", code: "seq_conflict" });
    expect(failing.gateway.framesFor("g=")).toEqual([expect.objectContaining({ type: "conflict", seq: 0 })]);
    expect(failing.deadLetters.rejections).toHaveLength(1);
    expect((await store.conflicts("t-conflict-retry")).count).toBe(1);
  });

  it.each([
    ["an envelope that is not EventBridge's", { hello: "world" }, "invalid_envelope"],
    [
      "another source",
      envelope(traceEvent(0, { trace_id: "t-bad" }), { source: "evil" }),
      "unexpected_source",
    ],
    [
      "an unknown detail-type",
      envelope(traceEvent(0, { trace_id: "t-bad" }), { "detail-type": "x" }),
      "invalid_event",
    ],
    [
      "a detail-type that differs from the event",
      envelope(traceEvent(0, { trace_id: "t-bad" }), { "detail-type": "plan_created" }),
      "invalid_event",
    ],
    [
      "a detail that breaks the schema",
      envelope({ ...traceEvent(0, { trace_id: "t-bad" }), seq: -3 }),
      "invalid_event",
    ],
    [
      "a detail over 96 KiB",
      envelope(traceEvent(0, { trace_id: "t-bad", metadata: { blob: "x".repeat(MAX_EVENT_BYTES) } })),
      "event_too_large",
    ],
  ])("dead-letters %s with a reason (%s), stores nothing, posts nothing", async (_label, input, code) => {
    await subscribe("t-bad", "f=");
    const { emit, gateway, deadLetters, metrics } = emitterWith();
    expect(await emit(input)).toEqual({ kind: "rejected", code });
    expect(deadLetters.rejections).toEqual([expect.objectContaining({ code, reason: expect.any(String) })]);
    expect(gateway.posts).toEqual([]);
    expect(await storedSeqs("t-bad")).toEqual([]);
    expect(metrics.counts.EventsRejected).toBe(1);
  });

  it("prunes both items of a connection that answers Gone, and still delivers to the rest", async () => {
    await subscribe("t-gone", "alive=", "stale=");
    const { emit, gateway, metrics } = emitterWith(recordingGateway({ gone: ["stale="] }));
    expect(await emit(envelope(traceEvent(0, { trace_id: "t-gone" })))).toMatchObject({
      delivered: 1,
      pruned: 1,
    });
    expect(gateway.framesFor("alive=")).toHaveLength(1);
    expect(await store.traceOfConnection("stale=")).toBeUndefined();
    expect(await store.traceOfConnection("alive=")).toBe("t-gone");
    expect(metrics.counts.StaleConnectionsPruned).toBe(1);
  });

  it("keeps a subscription that answers Gone while it is still inside $connect", async () => {
    await store.putSubscription({
      traceId: "t-young",
      connectionId: "opening=",
      connectedAt: Date.now(),
      expiresAt: 9_999_999_999,
    });
    const { emit } = emitterWith(recordingGateway({ gone: ["opening="] }));
    expect(await emit(envelope(traceEvent(0, { trace_id: "t-young" })))).toMatchObject({
      delivered: 0,
      pruned: 0,
    });
    expect(await store.traceOfConnection("opening=")).toBe("t-young");
    const subscribers: string[] = [];
    for await (const page of store.subscribers("t-young")) subscribers.push(...page);
    expect(subscribers).toEqual(["opening="]);
  });

  it("completes when some posts fail: the failures are counted and logged, and nothing throws to make Lambda post to everyone again", async () => {
    await subscribe("t-fail", "ok1=", "broken=", "ok2=");
    const { emit, gateway, metrics, log } = emitterWith(recordingGateway({ failing: ["broken="] }));
    const event = traceEvent(0, { trace_id: "t-fail" });
    expect(await emit(envelope(event))).toEqual({
      kind: "delivered",
      duplicate: false,
      delivered: 2,
      pruned: 0,
      failed: 1,
    });
    expect(gateway.framesFor("ok1=")).toHaveLength(1);
    expect(gateway.framesFor("ok2=")).toHaveLength(1);
    expect(metrics.counts).toMatchObject({ EventsStored: 1, EventsDelivered: 2, DeliveryFailures: 1 });
    const errors = log.lines.filter((line) => line.level === "error");
    expect(errors).toEqual([
      expect.objectContaining({
        message: "fan-out incomplete: the event is stored, clients resume it",
        fields: expect.objectContaining({
          traceId: "t-fail",
          seq: 0,
          failed: 1,
          attempted: 3,
          failures: [expect.objectContaining({ connectionId: "broken=", throttled: false })],
        }),
      }),
    ]);
    // The broken subscriber's copy is in the table, for its resume.
    expect(await storedSeqs("t-fail")).toEqual([0]);
  });

  it("names at most five failed posts in its log line however many fail, and counts them all", async () => {
    const ids = Array.from({ length: 40 }, (_, i) => `down${i}=`);
    await subscribe("t-many-fail", ...ids);
    const { emit, metrics, log } = emitterWith(recordingGateway({ failing: ids }));
    expect(await emit(envelope(traceEvent(0, { trace_id: "t-many-fail" })))).toMatchObject({ failed: 40 });
    expect(metrics.counts.DeliveryFailures).toBe(40);
    expect(log.lines).toHaveLength(1);
    expect((log.lines[0]?.fields as { failures?: unknown[] } | undefined)?.failures).toHaveLength(5);
  });

  it("counts a stale subscription it could not prune, and still completes", async () => {
    await subscribe("t-prune-fail", "live=", "stale=");
    const failingPrune: TraceStore = {
      ...store,
      pruneSubscription: async () => {
        throw new Error("ProvisionedThroughputExceededException");
      },
    };
    const { emit, metrics } = emitterWith(recordingGateway({ gone: ["stale="] }), 32, failingPrune);
    expect(await emit(envelope(traceEvent(0, { trace_id: "t-prune-fail" })))).toMatchObject({
      delivered: 1,
      pruned: 0,
      failed: 0,
    });
    expect(metrics.counts.PruneFailures).toBe(1);
  });

  it("throws when the event cannot be stored, so Lambda retries it, and posts nothing", async () => {
    await subscribe("t-store-fail", "s=");
    const failingStore: TraceStore = {
      ...store,
      putEvent: async () => {
        throw new Error("InternalServerError");
      },
    };
    const { emit, gateway } = emitterWith(recordingGateway(), 32, failingStore);
    await expect(emit(envelope(traceEvent(0, { trace_id: "t-store-fail" })))).rejects.toThrow(
      "InternalServerError",
    );
    expect(gateway.posts).toEqual([]);
  });

  it("recovers from a crash between store and fan-out: the redelivery reaches the subscribers", async () => {
    await subscribe("t-crash", "g=");
    const event = traceEvent(0, { trace_id: "t-crash" });
    const crashing: TraceStore = {
      ...store,
      subscribers: () => {
        throw new Error("Lambda ran out of time");
      },
    };
    await expect(emitterWith(recordingGateway(), 32, crashing).emit(envelope(event))).rejects.toThrow(
      "Lambda ran out of time",
    );
    const { emit, gateway } = emitterWith();
    expect(await emit(envelope(event))).toMatchObject({ duplicate: true, delivered: 1 });
    expect(gateway.framesFor("g=")).toEqual([{ type: "event", ...event }]);
  });

  it("keeps at most `concurrency` posts in flight over a page of 100 subscribers", async () => {
    const ids = Array.from({ length: 100 }, (_, i) => `p${i}=`);
    await subscribe("t-pool", ...ids);
    const { emit, gateway } = emitterWith(recordingGateway(), 8);
    expect(await emit(envelope(traceEvent(0, { trace_id: "t-pool" })))).toMatchObject({ delivered: 100 });
    expect(gateway.maxInFlight).toBeLessThanOrEqual(8);
    expect(gateway.maxInFlight).toBeGreaterThan(1);
  });

  it("redacts secrets before storing, posting and dead-lettering, and never logs them", async () => {
    await subscribe("t-secret", "h=");
    const { emit, gateway, log, deadLetters } = emitterWith();
    const secret = "sk-live-0123456789abcdef";
    await emit(
      envelope(traceEvent(0, { trace_id: "t-secret", metadata: { tool: "http", api_key: secret } })),
    );
    await emit(
      envelope({ ...traceEvent(1, { trace_id: "t-secret", metadata: { password: secret } }), seq: "x" }),
    );
    const stored: unknown[] = [];
    for await (const page of store.eventsAfter("t-secret", -1)) stored.push(...page);
    expect(JSON.stringify(stored)).not.toContain(secret);
    expect(JSON.stringify(stored)).toContain(REDACTED);
    expect(JSON.stringify(gateway.posts)).not.toContain(secret);
    expect(JSON.stringify(log.lines)).not.toContain(secret);
    expect(deadLetterBody(deadLetters.rejections[0] as Rejection)).not.toContain(secret);
  });

  it("dead-letters metadata nested 5,000 levels as invalid_event, redacted and serializable", async () => {
    const { emit, deadLetters, log } = emitterWith();
    let metadata: Record<string, unknown> = { password: "deep-hunter2" };
    for (let level = 0; level < 5_000; level++) metadata = { child: metadata, api_key: "deep-key" };
    const outcome = await emit(envelope(traceEvent(0, { trace_id: "t-deep", metadata })));
    expect(outcome).toEqual({ kind: "rejected", code: "invalid_event" });
    const rejection = deadLetters.rejections[0] as Rejection;
    expect(rejection.reason).toBe("metadata: nests deeper than 32 levels (MAX_METADATA_DEPTH)");
    const body = deadLetterBody(rejection);
    expect(body).not.toContain("deep-hunter2");
    expect(body).not.toContain("deep-key");
    expect(body).toContain("[Truncated]");
    expect(JSON.stringify(log.lines)).not.toContain("deep-");
    expect(await storedSeqs("t-deep")).toEqual([]);
  });

  it("masks secrets that reach a rejection reason through the envelope", async () => {
    const { emit, deadLetters, log } = emitterWith();
    const token = "ghp_0123456789abcdefEXAMPLEtoken0123456";
    const outcome = await emit(envelope(traceEvent(0), { "detail-type": `Bearer ${token}` }));
    expect(outcome).toEqual({ kind: "rejected", code: "invalid_event" });
    expect(deadLetters.rejections[0]?.reason).not.toContain(token);
    expect(deadLetterBody(deadLetters.rejections[0] as Rejection)).not.toContain(token);
    expect(JSON.stringify(log.lines)).not.toContain(token);
  });

  it("fails fast at cold start, naming each missing setting", () => {
    expect(() => createHandler({})).toThrow(/Set TABLE_NAME/);
    expect(() => createHandler({ TABLE_NAME: "t", CONNECTIONS_ENDPOINT: "http://x" })).toThrow(
      /Set DEAD_LETTER_QUEUE_URL/,
    );
    expect(() =>
      createHandler({
        TABLE_NAME: "t",
        CONNECTIONS_ENDPOINT: "http://x",
        DEAD_LETTER_QUEUE_URL: "http://q",
        EVENT_SOURCE: "trace-stream",
        EMITTER_CONCURRENCY: "lots",
      }),
    ).toThrow(/EMITTER_CONCURRENCY must be a positive integer/);
  });
});

describe("dead-letter body", () => {
  it("keeps an oversize detail out but says so", () => {
    const big = envelope({ blob: "x".repeat(200 * 1024) });
    const body = JSON.parse(deadLetterBody({ code: "event_too_large", reason: "too big", envelope: big }));
    expect(body.envelope.detail).toBeUndefined();
    expect(body.envelope.detail_omitted).toMatch(/too large/);
    expect(body.envelope.id).toBe(big.id);
  });
});

describe("management API adapter (faults injected at the SDK boundary)", () => {
  function sdkFailing(errors: unknown[]) {
    const calls: string[] = [];
    const client = {
      async send(command: unknown) {
        if (command instanceof PostToConnectionCommand) calls.push(command.input.ConnectionId ?? "");
        const error = errors.shift();
        if (error) throw error;
        return {};
      },
    } as unknown as ApiGatewayManagementApiClient;
    return { client, calls };
  }
  const throttle = () =>
    new LimitExceededException({ message: "Too many requests", $metadata: { httpStatusCode: 429 } });
  const fast = { attempts: 4, baseDelayMs: 1, maxDelayMs: 2 };

  it("retries 429s with backoff until the post goes through", async () => {
    const { client, calls } = sdkFailing([throttle(), throttle()]);
    expect(await managementApiGateway(client, fast).post("c=", "{}")).toBe("sent");
    expect(calls).toHaveLength(3);
  });

  it("gives up after the attempts run out with a throttled ConnectionPostError", async () => {
    const { client, calls } = sdkFailing([throttle(), throttle(), throttle(), throttle(), throttle()]);
    const error = await managementApiGateway(client, fast)
      .post("c=", "{}")
      .catch((e) => e);
    expect(error).toBeInstanceOf(ConnectionPostError);
    expect(error.throttled).toBe(true);
    expect(calls).toHaveLength(4);
  });

  it("maps GoneException to 'gone' without retrying", async () => {
    const { client, calls } = sdkFailing([
      new GoneException({ message: "gone", $metadata: { httpStatusCode: 410 } }),
    ]);
    expect(await managementApiGateway(client, fast).post("c=", "{}")).toBe("gone");
    expect(calls).toHaveLength(1);
  });

  it("does not retry a 403 Forbidden", async () => {
    const forbidden = Object.assign(new Error("Forbidden"), { $metadata: { httpStatusCode: 403 } });
    const { client, calls } = sdkFailing([forbidden]);
    await expect(managementApiGateway(client, fast).post("c=", "{}")).rejects.toBeInstanceOf(
      ConnectionPostError,
    );
    expect(calls).toHaveLength(1);
  });
});
