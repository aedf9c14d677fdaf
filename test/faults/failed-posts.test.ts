import { ApiGatewayManagementApiServiceException } from "@aws-sdk/client-apigatewaymanagementapi";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  openSubscriber,
  putTraceEvents,
  type Subscriber,
  startTestStack,
  type TestStack,
  traceEvent,
} from "../helpers/local-stack.js";
import { eventually } from "../soak/trace-watchers.js";
import { type EmitterFaults, emitterWithFaults, fanOutWithFaults } from "./emitter-with-faults.js";
import { newTraceId, storedSeqs, subscribedConnections } from "./fault-scenario.js";

/**
 * @connections answers 500 to every post for one connection (injected at the SDK boundary, inside
 * the SDK's send, so the gateway adapter's retries run as on AWS). The event must still reach the
 * other viewers exactly once: a failed post is not a reason for Lambda to retry the invocation and
 * post the event again to all of them.
 */
describe("one viewer whose posts keep failing", () => {
  let stack: TestStack;
  const broken = new Set<string>();
  let injected = 0;

  beforeAll(async () => {
    const faults: EmitterFaults = {
      management: (client) =>
        client.middlewareStack.add(
          (next, context) => async (args) => {
            const input = args.input as { ConnectionId?: string };
            if (context.commandName === "PostToConnectionCommand" && broken.has(input.ConnectionId ?? "")) {
              injected++;
              throw new ApiGatewayManagementApiServiceException({
                name: "InternalServerErrorException",
                $fault: "server",
                $metadata: { httpStatusCode: 500 },
                message: "Internal server error",
              });
            }
            return next(args);
          },
          { step: "initialize", name: "failPostsToBrokenConnections" },
        ),
    };
    // Whichever function posts in the stack's fan-out mode meets the fault.
    stack = await startTestStack({
      handlers: { emitter: emitterWithFaults(faults), "fan-out": fanOutWithFaults(faults) },
    });
  });
  afterAll(() => stack?.stop());

  /** Seqs delivered live: `event` frames (direct mode) or `events` frames (stream mode). */
  const eventFrames = (subscriber: Subscriber) =>
    subscriber.frames().flatMap((frame) => {
      if (frame.type === "event") return [frame.seq];
      if (frame.type === "events" && stack.fanOut === "stream")
        return (frame.events as { seq: number }[]).map((event) => event.seq);
      return [];
    });

  it("the others get each event exactly once, and no invocation is retried or given up", async () => {
    const traceId = newTraceId("one-broken");
    const token = await stack.mintToken(traceId);
    const url = `${stack.endpoints.webSocketUrl}?traceId=${encodeURIComponent(traceId)}&token=${encodeURIComponent(token)}`;
    const brokenViewer = await openSubscriber(url);
    const [brokenId] = await subscribedConnections(stack, traceId);
    broken.add(brokenId as string);
    const healthy = await Promise.all([openSubscriber(url), openSubscriber(url), openSubscriber(url)]);
    await eventually(
      async () => (await subscribedConnections(stack, traceId)).length === 4,
      "four subscriptions",
      10_000,
    );
    const failuresBefore = stack.emitterFailures().length;

    const produced = Array.from({ length: 5 }, (_, seq) => traceEvent(traceId, seq));
    await putTraceEvents(stack, produced);
    await stack.deliveriesIdle();

    for (const viewer of healthy) expect(eventFrames(viewer).sort()).toEqual([0, 1, 2, 3, 4]);
    expect(eventFrames(brokenViewer)).toEqual([]);
    expect(injected).toBeGreaterThanOrEqual(5);
    expect(stack.emitterFailures().length).toBe(failuresBefore);
    // Its copies are stored: the broken viewer gets them with its next resume.
    expect((await storedSeqs(stack, traceId)).sort()).toEqual([0, 1, 2, 3, 4]);
    broken.clear();
    brokenViewer.send({ action: "resume", afterSeq: -1 });
    await brokenViewer.waitFor((frame) => frame.type === "synced");
    expect(
      brokenViewer
        .frames()
        .filter((frame) => frame.type === "events")
        .flatMap((frame) => (frame.events as { seq: number }[]).map((event) => event.seq)),
    ).toEqual([0, 1, 2, 3, 4]);
    for (const viewer of [brokenViewer, ...healthy]) await viewer.close();
  });
});
