import { ProvisionedThroughputExceededException } from "@aws-sdk/client-dynamodb";
import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { TraceStore } from "../../lambdas/shared/trace-store.js";
import { startTestStack, type TestStack } from "../helpers/local-stack.js";
import { emitterWithFaults, fanOutWithFaults } from "./emitter-with-faults.js";
import {
  expectEveryClientShowedExactly,
  liveWatchers,
  newTraceId,
  produceInBatches,
  storedSeqs,
  terminatedRun,
} from "./fault-scenario.js";

/**
 * Throttles DynamoDB requests the way the service does: the request fails with
 * ProvisionedThroughputExceededException (HTTP 400). The middleware sits inside the SDK's retry
 * loop, so the SDK's own throttling backoff runs first; only what outlasts it reaches the emitter.
 */
class DynamoThrottle {
  /** The next this-many requests are throttled. */
  next = 0;
  /** After that, every `every`-th request is throttled (0: none). */
  every = 0;
  injected = 0;
  private seen = 0;

  attach(client: DynamoDBDocumentClient): void {
    client.middlewareStack.add(
      (next) => async (args) => {
        this.seen++;
        const throttle = this.next > 0 || (this.every > 0 && this.seen % this.every === 0);
        if (throttle) {
          if (this.next > 0) this.next--;
          this.injected++;
          throw new ProvisionedThroughputExceededException({
            message: "The level of configured provisioned throughput for the table was exceeded.",
            $metadata: { httpStatusCode: 400 },
          });
        }
        return next(args);
      },
      { step: "deserialize", name: "injectDynamoThrottling" },
    );
  }
}

describe("DynamoDB throttling errors in the emitter", () => {
  let stack: TestStack;
  const throttle = new DynamoThrottle();

  beforeAll(async () => {
    stack = await startTestStack({
      handlers: { emitter: emitterWithFaults({ dynamo: (client) => throttle.attach(client) }) },
    });
  });
  afterAll(() => stack?.stop());

  it("nothing is lost and nothing shown twice when the emitter's reads and writes are throttled", async () => {
    const traceId = newTraceId("ddb-throttle");
    const watchers = await liveWatchers(stack, traceId, 3);
    const produced = terminatedRun(traceId, 30);
    const failuresBefore = stack.emitterFailures().length;

    // A burst that outlasts the SDK's three attempts for the first few requests, then one in four.
    throttle.next = 9;
    throttle.every = 4;
    await produceInBatches(stack, produced, 5);
    await expectEveryClientShowedExactly(watchers, produced);
    throttle.every = 0;

    expect(throttle.injected).toBeGreaterThan(9);
    expect((await storedSeqs(stack, traceId)).length).toBe(produced.length);
    expect(stack.emitterFailures().length).toBe(failuresBefore);
  });
});

describe("an emitter crash between storing an event and fanning it out", () => {
  let stack: TestStack;
  let crashes = 0;
  let crashesLeft = 0;

  /** The store's subscriber query throws for the next `crashesLeft` fan-outs, as if the function died there. */
  const crashBeforeFanOut = (store: TraceStore): TraceStore => ({
    ...store,
    subscribers(traceId) {
      if (crashesLeft > 0) {
        crashesLeft--;
        crashes++;
        throw new Error("emitter crashed after storing the event, before its fan-out");
      }
      return store.subscribers(traceId);
    },
  });

  beforeAll(async () => {
    stack = await startTestStack({
      // Whichever function reads the subscribers in the stack's fan-out mode crashes there; the
      // stream's retries are raised past the six crashes, as Lambda's async retries and
      // EventBridge's together outlast them in direct mode.
      handlers: {
        emitter: emitterWithFaults({ store: crashBeforeFanOut }),
        "fan-out": fanOutWithFaults({ store: crashBeforeFanOut }),
      },
      streamEventSource: { retryAttempts: 10 },
    });
  });
  afterAll(() => stack?.stop());

  it("the retried invocation finds the event stored and delivers it: nothing lost, nothing shown twice", async () => {
    const traceId = newTraceId("crash");
    const watchers = await liveWatchers(stack, traceId, 3);
    const produced = terminatedRun(traceId, 20);

    crashesLeft = 6;
    await produceInBatches(stack, produced, 5);
    await expectEveryClientShowedExactly(watchers, produced);

    expect(crashes).toBe(6);
    expect((await storedSeqs(stack, traceId)).length).toBe(produced.length);
    expect(stack.emitterFailures()).toEqual([]);
  });
});
