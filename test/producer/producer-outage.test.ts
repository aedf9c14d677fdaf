import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { TraceStreamClient } from "../../client/index.js";
import { type CreateTraceOptions, createTrace, TraceDeliveryError } from "../../client/producer.js";
import type { ReceivedTraceEvent } from "../../protocol/trace-event.js";
import { startTestStack, storedSeqsOf, type TestStack } from "../helpers/local-stack.js";
import { type OutageProxy, startOutageProxy } from "../support/outage-proxy.js";

/** Longer than the old horizon could ever last: 7 full-jitter waits capped at 100 ms · 2^n and 5 s. */
const OLD_HORIZON_MS = 100 + 200 + 400 + 800 + 1600 + 3200 + 5000;
const OUTAGE_MS = OLD_HORIZON_MS + 2_000;

let stack: TestStack;
let proxy: OutageProxy;

beforeAll(async () => {
  stack = await startTestStack();
  proxy = await startOutageProxy(stack.endpoints.eventBridge);
});

afterEach(async () => {
  await proxy.up();
});

afterAll(async () => {
  await proxy?.close();
  await stack?.stop();
});

/** A producer as an application configures it, but reaching the bus through the proxy. */
function traceThroughProxy(options: CreateTraceOptions = {}) {
  return createTrace({ endpoint: proxy.url, busName: stack.busName, source: stack.source, ...options });
}

/** Seqs stored for the trace once the deliveries in flight are done. */
async function storedSeqs(traceId: string): Promise<number[]> {
  await stack.deliveriesIdle();
  return storedSeqsOf(stack, traceId);
}

function watch(traceId: string) {
  const events: ReceivedTraceEvent[] = [];
  const client = new TraceStreamClient({
    url: stack.endpoints.webSocketUrl,
    traceId,
    getToken: () => stack.mintToken(traceId),
    WebSocket,
    pageSignals: null,
  });
  client.on("event", (event) => events.push(event));
  const live = new Promise<void>((resolve) =>
    client.on("state", (state) => state.status === "live" && resolve()),
  );
  const ended = new Promise<void>((resolve, reject) =>
    client.on("state", (state) => {
      if (state.status === "ended") resolve();
      if (state.status === "failed") reject(new Error(state.reason));
    }),
  );
  client.connect();
  return { events, live, ended, stop: () => client.disconnect() };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("producer SDK through an EventBridge outage", () => {
  it(
    "loses nothing when the endpoint is down for longer than 8 attempts used to last: every event arrives once, in order",
    async () => {
      const trace = traceThroughProxy();
      const watcher = watch(trace.traceId);
      await watcher.live;
      trace.plan({ goal: "survive an outage", steps: 2 });
      await trace.flush();

      await proxy.down();
      const outageStarted = Date.now();
      for (let i = 0; i < 10; i++) trace.route({ agent: `agent-${i}`, reason: "during the outage" });
      expect(trace.pending).toBe(10);
      await sleep(OUTAGE_MS);
      // Still holding every event, still trying.
      expect(trace.pending).toBe(10);
      expect(trace.failures).toEqual([]);
      await proxy.up();

      trace.complete({ steps_completed: 2 });
      await trace.close();
      expect(Date.now() - outageStarted).toBeGreaterThan(OLD_HORIZON_MS);
      await watcher.ended;
      watcher.stop();
      expect(watcher.events.map((event) => event.seq)).toEqual(Array.from({ length: 12 }, (_, i) => i));
      expect(await storedSeqs(trace.traceId)).toEqual(Array.from({ length: 12 }, (_, i) => i));
    },
    OUTAGE_MS + 30_000,
  );

  it("names exactly the seqs EventBridge never accepted once their retry budget ran out, and delivers the rest", async () => {
    const trace = traceThroughProxy({ traceId: `outage-${crypto.randomUUID()}`, retryBudgetMs: 1_500 });
    trace.plan({ goal: "g" });
    trace.route({ agent: "a" });
    await trace.flush();

    await proxy.down();
    trace.route({ agent: "b" });
    trace.route({ agent: "c" });
    trace.route({ agent: "d" });
    const flushed = await trace.flush().catch((error: unknown) => error);
    await proxy.up();

    expect(flushed).toBeInstanceOf(TraceDeliveryError);
    expect((flushed as TraceDeliveryError).unaccepted).toEqual([{ traceId: trace.traceId, seqs: [2, 3, 4] }]);

    trace.route({ agent: "e" });
    trace.complete();
    const closed = await trace.close().catch((error: unknown) => error);
    expect(closed).toBeInstanceOf(TraceDeliveryError);
    const error = closed as TraceDeliveryError;
    expect(error.failedSeqs).toEqual([2, 3, 4]);
    expect(error.unaccepted).toEqual([{ traceId: trace.traceId, seqs: [2, 3, 4] }]);
    expect(error.failures.map((failure) => failure.code)).toEqual([
      "ECONNREFUSED",
      "ECONNREFUSED",
      "ECONNREFUSED",
    ]);
    expect(error.message).toContain(`trace ${trace.traceId}: seq 2-4`);
    expect(await storedSeqs(trace.traceId)).toEqual([0, 1, 5, 6]);
  });
});
