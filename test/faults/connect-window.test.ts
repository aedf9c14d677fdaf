import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHandler as createConnectHandler } from "../../lambdas/connect/handler.js";
import type { HandlerFactory } from "../../local/index.js";
import { putTraceEvents, startTestStack, type TestStack } from "../helpers/local-stack.js";
import { eventually, watchTrace } from "../soak/trace-watchers.js";
import {
  expectEveryClientShowedExactly,
  newTraceId,
  subscribedConnections,
  terminatedRun,
} from "./fault-scenario.js";

/**
 * API Gateway answers 410 to @connections posts for a connection whose `$connect` has not returned
 * yet, though its subscription is already written. The soak found the emitter pruning such a
 * subscription: the client then resumed in time, went live, and never received another event.
 */
describe("an event fanned out while a subscriber is still inside $connect", () => {
  let stack: TestStack;
  let holdConnect: Promise<void> | undefined;

  /** The real connect function, answering only once the test lets it. */
  const heldConnect: HandlerFactory = (env, runtime) => {
    const connect = createConnectHandler(env, runtime);
    return async (event: unknown) => {
      const result = await connect(event as Parameters<typeof connect>[0]);
      await holdConnect;
      return result;
    };
  };

  beforeAll(async () => {
    stack = await startTestStack({ handlers: { connect: heldConnect } });
  });
  afterAll(() => stack?.stop());

  it("keeps the subscription, and the client shows every event once", async () => {
    const traceId = newTraceId("connect-window");
    let release = () => {};
    holdConnect = new Promise((resolve) => {
      release = resolve;
    });
    const watcher = watchTrace(stack, traceId);
    watcher.client.connect();
    await eventually(
      async () => (await subscribedConnections(stack, traceId)).length === 1,
      "the connect function to write the subscription",
    );
    const [connecting] = await subscribedConnections(stack, traceId);

    const produced = terminatedRun(traceId, 6);
    await putTraceEvents(stack, produced.slice(0, 3));
    // The posts to the connecting client answered 410; its subscription must survive them.
    await stack.deliveriesIdle();
    expect(await subscribedConnections(stack, traceId)).toEqual([connecting]);

    release();
    await eventually(() => watcher.client.state.status === "live", "the client to be live");
    await putTraceEvents(stack, produced.slice(3));
    await expectEveryClientShowedExactly([watcher], produced);
  });
});
