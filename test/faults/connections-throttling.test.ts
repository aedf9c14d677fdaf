import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startTestStack, type TestStack } from "../helpers/local-stack.js";
import {
  expectEveryClientShowedExactly,
  liveWatchers,
  newTraceId,
  produceInBatches,
  storedSeqs,
  terminatedRun,
} from "./fault-scenario.js";

/** @connections answers 429 LimitExceededException (the gateway's throttle knobs). */
describe("429 storms from @connections", () => {
  let stack: TestStack;

  beforeAll(async () => {
    stack = await startTestStack();
  });
  afterEach(async () => {
    stack.faults.gateway.throttlePosts = 0;
    stack.faults.gateway.throttleUntil = 0;
    await stack.deliveriesIdle();
  });
  afterAll(() => stack?.stop());

  it("clients show every event once while posts are throttled: the emitter backs off and retries", async () => {
    const traceId = newTraceId("429-burst");
    const watchers = await liveWatchers(stack, traceId, 3);
    const produced = terminatedRun(traceId, 30);

    stack.faults.gateway.throttlePosts = 80;
    await produceInBatches(stack, produced, 5);
    await expectEveryClientShowedExactly(watchers, produced);
    expect(stack.faults.gateway.throttlePosts).toBe(0);
  });

  it("when a storm outlasts every retry, the live copies are given up but clients still get the stored events", async () => {
    const traceId = newTraceId("429-storm");
    const watchers = await liveWatchers(stack, traceId, 3);
    const produced = terminatedRun(traceId, 20);
    const failuresBefore = stack.emitterFailures().length;

    stack.faults.gateway.throttleUntil = Date.now() + 10 * 60_000;
    await produceInBatches(stack, produced.slice(0, 10), 5);
    await stack.deliveriesIdle();
    // Stored before the fan-out, so on record even though no post got through.
    expect((await storedSeqs(stack, traceId)).sort((a, b) => a - b)).toEqual([...Array(10).keys()]);
    // Given up per post (counted and alarmed), not by failing the invocation: a retried invocation
    // would post each event to every viewer again.
    expect(stack.emitterFailures().length).toBe(failuresBefore);

    stack.faults.gateway.throttleUntil = 0;
    // The next live event opens a gap; the clients resume and read the rest from the table.
    await produceInBatches(stack, produced.slice(10), 5);
    await expectEveryClientShowedExactly(watchers, produced);
  });

  // The trace's last events are stored, but their live copies went to the on-failure queue and no
  // later event opens a gap: only the client's quiet-heartbeat resume brings them (a short
  // heartbeat keeps the bound small).
  it("when a storm swallows the live copies of a trace's last events, clients still show them and end", async () => {
    const traceId = newTraceId("429-tail");
    const watchers = await liveWatchers(stack, traceId, 2, { heartbeatIntervalMs: 500 });
    const produced = terminatedRun(traceId, 10);
    await produceInBatches(stack, produced.slice(0, 8), 4);
    await stack.deliveriesIdle();

    stack.faults.gateway.throttleUntil = Date.now() + 10 * 60_000;
    await produceInBatches(stack, produced.slice(8), 2);
    await stack.deliveriesIdle();
    stack.faults.gateway.throttleUntil = 0;

    expect((await storedSeqs(stack, traceId)).length).toBe(10);
    await expectEveryClientShowedExactly(watchers, produced, 15_000);
  });
});
