import { afterEach, describe, expect, it } from "vitest";
import type { HandlerFactory } from "../../local/index.js";
import {
  openSubscriber,
  putTraceEvents,
  type Subscriber,
  startTestStack,
  type TestStack,
  traceEvent,
} from "../helpers/local-stack.js";

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let stack: TestStack | undefined;
afterEach(async () => {
  await stack?.stop();
  stack = undefined;
});

describe("the Lambda runner's concurrency (reserved concurrency, as deployed)", () => {
  it("runs at most the reserved concurrency at once and queues the other asynchronous invocations", async () => {
    let running = 0;
    let most = 0;
    const handled: unknown[] = [];
    const slow: HandlerFactory = () => async (event) => {
      running++;
      most = Math.max(most, running);
      await pause(20);
      running--;
      handled.push(event);
    };
    stack = await startTestStack({ handlers: { emitter: slow }, reservedConcurrency: { emitter: 3 } });
    for (let i = 0; i < 12; i++) stack.invokeAsync("emitter", { i });
    await pause(5);
    expect(stack.lambdaConcurrency("emitter")).toEqual({ running: 3, queued: 9 });
    await stack.deliveriesIdle();
    expect(most).toBe(3);
    expect(handled).toHaveLength(12);
    expect(stack.emitterFailures()).toEqual([]);
  });

  it("throttles a synchronous invoke with TooManyRequestsException while every execution is busy", async () => {
    let release = () => {};
    const held: HandlerFactory = () => async () => {
      await new Promise<void>((resolve) => {
        release = resolve;
      });
      return { statusCode: 200 };
    };
    stack = await startTestStack({ handlers: { connect: held }, reservedConcurrency: { connect: 1 } });
    const first = stack.invoke("connect", {});
    await pause(5);
    await expect(stack.invoke("connect", {})).rejects.toMatchObject({
      name: "TooManyRequestsException",
      reason: "ReservedFunctionConcurrentInvocationLimitExceeded",
    });
    release();
    await expect(first).resolves.toEqual({ statusCode: 200 });
    const second = stack.invoke("connect", {});
    await pause(5);
    release();
    await expect(second).resolves.toEqual({ statusCode: 200 });
  });
});

describe("a timed-out invocation", () => {
  it("is stopped (its execution environment's signal aborts) before Lambda's retry starts", async () => {
    const attempts: { started: number; ended?: number; signalled: boolean }[] = [];
    const slowFirst: HandlerFactory = (_env, runtime) => async () => {
      const attempt: (typeof attempts)[number] = { started: Date.now(), signalled: false };
      attempts.push(attempt);
      if (attempts.length === 1) {
        // Works until the environment is stopped, as a fan-out posting frame after frame would.
        while (!runtime.signal?.aborted) await pause(10);
        attempt.signalled = true;
      }
      attempt.ended = Date.now();
    };
    stack = await startTestStack({ handlers: { emitter: slowFirst }, functionTimeouts: { emitter: 0.2 } });
    stack.invokeAsync("emitter", { id: "x" });
    await stack.deliveriesIdle();
    expect(attempts).toHaveLength(2);
    const [first, retry] = attempts as [(typeof attempts)[number], (typeof attempts)[number]];
    expect(first.signalled).toBe(true);
    expect(retry.started).toBeGreaterThanOrEqual(first.ended as number);
    expect(stack.emitterFailures()).toEqual([]);
  });

  it("retries in a new execution environment (the timed-out one is discarded)", async () => {
    let environments = 0;
    let calls = 0;
    const hangsOnce: HandlerFactory = (_env, runtime) => {
      environments++;
      return async () => {
        if (calls++ === 0) await new Promise((resolve) => runtime.signal?.addEventListener("abort", resolve));
      };
    };
    stack = await startTestStack({ handlers: { emitter: hangsOnce }, functionTimeouts: { emitter: 0.1 } });
    stack.invokeAsync("emitter", {});
    await stack.deliveriesIdle();
    expect(calls).toBe(2);
    expect(environments).toBe(2);
  });
});

describe("the emitter under overload (a short timeout, every event queued at once)", () => {
  it("queues instead of timing out: every viewer gets every event once, and no failure is recorded", async () => {
    // Offered all at once, 100 events to 10 viewers run 100 fan-outs side by side on this host's
    // CPU, and most outlive a 3 s timeout (with `reservedConcurrency: { emitter: 1000 }` viewers
    // got 17 of 100 events and the failure queue filled); with the function's concurrency cap the
    // events wait in its queue instead, and each fan-out runs in a fraction of its timeout.
    stack = await startTestStack({
      functionTimeouts: { emitter: 3 },
      reservedConcurrency: { emitter: 4 },
      emitterConcurrency: 8,
    });
    const traceId = "overload-1";
    const token = await stack.mintToken(traceId);
    const viewers: Subscriber[] = [];
    for (let i = 0; i < 10; i++) viewers.push(await openSubscriber(stack.connectUrl(traceId, token)));
    const events = Array.from({ length: 100 }, (_, seq) => traceEvent(traceId, seq));
    await putTraceEvents(stack, events);
    await stack.deliveriesIdle();
    const duplicates = viewers.map((viewer) => {
      const seqs = viewer
        .frames()
        .filter((frame) => frame.type === "event")
        .map((frame) => frame.seq as number);
      return { received: new Set(seqs).size, duplicated: seqs.length - new Set(seqs).size };
    });
    expect(duplicates).toEqual(viewers.map(() => ({ received: 100, duplicated: 0 })));
    expect(stack.emitterFailures()).toEqual([]);
    await Promise.all(viewers.map((viewer) => viewer.close()));
  }, 120_000);
});
