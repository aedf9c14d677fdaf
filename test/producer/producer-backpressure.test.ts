/**
 * Retry budget, bounded buffer and the close() report, with EventBridge's answers injected at the
 * SDK boundary (outages held for exact counts of attempts, requests held open on demand). The same
 * behaviour through a real outage of the local stack is in producer-outage.test.ts.
 */
import type { PutEventsResultEntry } from "@aws-sdk/client-eventbridge";
import { describe, expect, it } from "vitest";
import {
  createPublisher,
  createTrace,
  newTraceId,
  TraceDeliveryError,
  TraceEventError,
  TraceStateError,
} from "../../client/producer.js";
import { DeliveryQueue } from "../../client/producer-delivery.js";
import { TRACE_ID_PATTERN } from "../../protocol/trace-event.js";
import { traceEvent } from "../support/events.js";
import { accepted, fakeEventBridge, sdkError } from "./fake-event-bridge.js";

const fast = { baseDelayMs: 1, maxDelayMs: 2 };
const refused = () => sdkError("Error", { code: "ECONNREFUSED" });

/** A bus that holds every request until `open()`; held requests fail when aborted. */
function gatedBus() {
  let open!: () => void;
  const gate = new Promise<void>((resolve) => {
    open = resolve;
  });
  const signals: AbortSignal[] = [];
  const bus = fakeEventBridge(async (entries, _call, signal) => {
    if (signal !== undefined) signals.push(signal);
    await new Promise<void>((resolve, reject) => {
      gate.then(resolve);
      signal?.addEventListener("abort", () => reject(sdkError("AbortError")));
    });
    return entries.map(accepted);
  });
  return { ...bus, open, signals };
}

const seqsOf = (entries: readonly { Detail?: string | undefined }[]) =>
  entries.map((entry) => (JSON.parse(entry.Detail ?? "{}") as { seq: number }).seq);

describe("retry budget", () => {
  it("keeps resending past 8 attempts by default: 30 refused requests, then accepted, nothing lost", async () => {
    const bus = fakeEventBridge((entries, call) => {
      if (call <= 30) throw refused();
      return entries.map(accepted);
    });
    const trace = createTrace({ client: bus.client, ...fast });
    trace.plan({ goal: "g" });
    trace.route({ agent: "a" });
    await trace.close();
    expect(bus.requests).toHaveLength(31);
    expect(seqsOf(bus.delivered)).toEqual([0, 1]);
    expect(trace.failures).toEqual([]);
  });

  it("fails an event once its retry budget is used up, with the last error and every attempt counted", async () => {
    const bus = fakeEventBridge(() => {
      throw refused();
    });
    const trace = createTrace({ client: bus.client, retryBudgetMs: 150, ...fast });
    trace.plan();
    const error = await trace.close().catch((reason: unknown) => reason);
    expect(error).toBeInstanceOf(TraceDeliveryError);
    const [failure] = (error as TraceDeliveryError).failures;
    expect(failure).toMatchObject({ traceId: trace.traceId, seq: 0, code: "ECONNREFUSED" });
    expect(failure?.attempts).toBe(bus.requests.length);
    expect(bus.requests.length).toBeGreaterThan(1);
  });

  it("fails queued events past their budget together with the batch that kept failing, without a request each", async () => {
    // A clock each request moves by 30 ms, so the budget runs out at the fourth request exactly.
    let clock = 0;
    const bus = fakeEventBridge(() => {
      clock += 30;
      throw refused();
    });
    const queue = new DeliveryQueue({
      client: bus.client,
      target: { busName: "trace-stream", source: "trace-stream" },
      lingerMs: 0,
      retryBudgetMs: 100,
      maxAttempts: Number.POSITIVE_INFINITY,
      ...fast,
      buffer: { maxEvents: 100, maxBytes: 1024 * 1024 },
      now: () => clock,
    });
    for (let seq = 0; seq < 25; seq++) queue.offer(traceEvent(seq, { trace_id: "run-1" }));
    const error = (await queue.close().catch((reason: unknown) => reason)) as TraceDeliveryError;
    expect(error.unaccepted).toEqual([{ traceId: "run-1", seqs: Array.from({ length: 25 }, (_, i) => i) }]);
    expect(bus.requests.map(seqsOf)).toEqual(Array(4).fill([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]));
    expect(error.failures.map((failure) => failure.attempts)).toEqual([
      ...Array(10).fill(4),
      ...Array(15).fill(0),
    ]);
    expect(error.failures.every((failure) => failure.code === "ECONNREFUSED")).toBe(true);
  });

  it("still stops at maxAttempts when one is set", async () => {
    const bus = fakeEventBridge(() => {
      throw refused();
    });
    const trace = createTrace({ client: bus.client, maxAttempts: 3, ...fast });
    trace.plan();
    await expect(trace.close()).rejects.toMatchObject({ failedSeqs: [0] });
    expect(bus.requests).toHaveLength(3);
  });
});

describe("bounded buffer", () => {
  it('throws buffer_full at emit when the buffer is full (policy "throw"), uses no seq, and waitForRoom() says when to go on', async () => {
    const bus = gatedBus();
    const trace = createTrace({ client: bus.client, maxBufferedEvents: 3 });
    for (let i = 0; i < 3; i++) trace.route({ agent: `a${i}` });
    expect(trace.bufferFull).toBe(true);
    expect(trace.pending).toBe(3);
    const error = catchError(() => trace.route({ agent: "one too many" }));
    expect(error).toBeInstanceOf(TraceStateError);
    expect((error as TraceStateError).code).toBe("buffer_full");
    expect((error as Error).message).toMatch(/3 events, \d+ bytes not yet accepted/);
    expect(trace.nextSeq).toBe(3);

    let roomAt: number | undefined;
    const room = trace.waitForRoom().then(() => {
      roomAt = trace.pending;
    });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(roomAt).toBeUndefined();
    bus.open();
    await room;
    expect(trace.bufferFull).toBe(false);
    expect(trace.route({ agent: "after the wait" }).seq).toBe(3);
    await trace.close();
    expect(seqsOf(bus.delivered)).toEqual([0, 1, 2, 3]);
  });

  it("counts bytes as well as events: a fourth 40 KB event does not fit 128 KiB", async () => {
    const bus = gatedBus();
    const trace = createTrace({ client: bus.client, maxBufferedBytes: 128 * 1024 });
    const reason = "r".repeat(40_000);
    for (let i = 0; i < 3; i++) trace.route({ reason });
    expect(catchError(() => trace.route({ reason }))).toMatchObject({ code: "buffer_full" });
    expect(trace.route({ reason: "small" }).seq).toBe(3);
    bus.open();
    await trace.close();
    expect(seqsOf(bus.delivered)).toEqual([0, 1, 2, 3]);
  });

  it('drops what finds no room under the policy "drop": the seqs are used, reported as they happen, and listed by close()', async () => {
    const bus = gatedBus();
    const reported: number[][] = [];
    const trace = createTrace({
      client: bus.client,
      maxBufferedEvents: 2,
      whenBufferFull: "drop",
      onDeliveryError: (error) => reported.push([...error.failedSeqs]),
    });
    const seqs = [0, 1, 2, 3].map((i) => trace.route({ agent: `a${i}` }).seq);
    expect(seqs).toEqual([0, 1, 2, 3]);
    await Promise.resolve();
    expect(reported).toEqual([[2], [3]]);
    bus.open();
    const error = (await trace.close().catch((reason: unknown) => reason)) as TraceDeliveryError;
    expect(error.failedSeqs).toEqual([2, 3]);
    expect(error.failures.map(({ code, attempts }) => ({ code, attempts }))).toEqual([
      { code: "BufferFull", attempts: 0 },
      { code: "BufferFull", attempts: 0 },
    ]);
    expect(seqsOf(bus.delivered)).toEqual([0, 1]);
  });
});

describe("waiting with a timeout", () => {
  it("close({ timeoutMs }) gives up on what is left, aborts the request in flight, and lists every seq it never saw accepted", async () => {
    const bus = gatedBus();
    const trace = createTrace({ client: bus.client });
    for (let i = 0; i < 12; i++) trace.route({ agent: `a${i}` });
    const error = (await trace
      .close({ timeoutMs: 50 })
      .catch((reason: unknown) => reason)) as TraceDeliveryError;
    expect(error).toBeInstanceOf(TraceDeliveryError);
    expect(error.unaccepted).toEqual([
      { traceId: trace.traceId, seqs: Array.from({ length: 12 }, (_, i) => i) },
    ]);
    expect(bus.signals.every((signal) => signal.aborted)).toBe(true);
    const inFlight = error.failures.filter((failure) => failure.attempts > 0);
    expect(inFlight.map((failure) => failure.seq)).toEqual(Array.from({ length: 10 }, (_, i) => i));
    expect(inFlight[0]?.message).toMatch(/may have accepted it/);
    expect(error.failures.at(-1)).toMatchObject({ seq: 11, code: "Undelivered", attempts: 0 });
    expect(trace.pending).toBe(0);
    bus.open();
  });

  it("flush({ timeoutMs }) reports what is still unsent but keeps it queued: a later flush sees it delivered", async () => {
    let down = true;
    const bus = fakeEventBridge((entries) => {
      if (down) throw refused();
      return entries.map(accepted);
    });
    const trace = createTrace({ client: bus.client, ...fast });
    trace.plan();
    await expect(trace.flush({ timeoutMs: 30 })).rejects.toMatchObject({
      failedSeqs: [0],
      failures: [expect.objectContaining({ code: "Undelivered" })],
    });
    down = false;
    await trace.close();
    expect(seqsOf(bus.delivered)).toEqual([0]);
  });
});

describe("TraceDeliveryError", () => {
  it("groups the unaccepted seqs by trace and writes long runs as ranges", async () => {
    const bus = fakeEventBridge((entries) =>
      entries.map((): PutEventsResultEntry => ({ ErrorCode: "MalformedDetail" })),
    );
    const publisher = createPublisher({ client: bus.client });
    const event = (traceId: string, seq: number) => ({
      event_id: crypto.randomUUID(),
      trace_id: traceId,
      seq,
      event: "route_decision",
      timestamp: new Date().toISOString(),
      status: "success",
      metadata: {},
      schema_version: 1,
    });
    for (const seq of [7, 2, 3, 4, 9]) publisher.publish(event("run-b", seq));
    publisher.publish(event("run-a", 0));
    const error = (await publisher.close().catch((reason: unknown) => reason)) as TraceDeliveryError;
    expect(error.unaccepted).toEqual([
      { traceId: "run-a", seqs: [0] },
      { traceId: "run-b", seqs: [2, 3, 4, 7, 9] },
    ]);
    expect(error.message).toMatch(
      /^6 trace event\(s\) not delivered \(trace run-a: seq 0; trace run-b: seq 2-4, 7, 9\): MalformedDetail/,
    );
  });
});

describe("options", () => {
  it("refuses limits that make no sense, naming the option", () => {
    expect(() => createTrace({ maxBufferedBytes: 1000 })).toThrow(
      /maxBufferedBytes must be an integer >= 131072/,
    );
    expect(() => createTrace({ maxBufferedEvents: 0 })).toThrow(/maxBufferedEvents/);
    expect(() => createTrace({ retryBudgetMs: -1 })).toThrow(/retryBudgetMs/);
    expect(() => createTrace({ maxAttempts: 0 })).toThrow(/maxAttempts/);
    expect(() => createTrace({ whenBufferFull: "block" as "drop" })).toThrow(/whenBufferFull/);
  });
});

describe("newTraceId", () => {
  it("makes a fresh, valid id each time, after a prefix when given", () => {
    const [a, b] = [newTraceId(), newTraceId()];
    expect(a).not.toBe(b);
    expect(a).toMatch(TRACE_ID_PATTERN);
    expect(newTraceId("checkout")).toMatch(/^checkout-[0-9a-f-]{36}$/);
    expect(() => newTraceId("has spaces")).toThrow(TraceEventError);
  });
});

function catchError(action: () => unknown): unknown {
  try {
    action();
  } catch (error) {
    return error;
  }
  throw new Error("expected an error");
}
