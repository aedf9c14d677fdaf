/**
 * Two runs that reuse one trace id, end to end on the local stack: the second run's producer
 * hears "accepted" from EventBridge, so the emitter's refusal must reach the people watching.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { type TraceConflicts, TraceStreamClient } from "../../client/index.js";
import { createTrace, newTraceId } from "../../client/producer.js";
import type { ReceivedTraceEvent } from "../../protocol/trace-event.js";
import { startTestStack, type TestStack } from "../helpers/local-stack.js";

let stack: TestStack;

beforeAll(async () => {
  stack = await startTestStack();
});

afterAll(async () => {
  await stack?.stop();
});

function run(traceId: string) {
  return createTrace({
    traceId,
    endpoint: stack.endpoints.eventBridge,
    busName: stack.busName,
    source: stack.source,
  });
}

function watch(traceId: string) {
  const events: ReceivedTraceEvent[] = [];
  const heard: TraceConflicts[] = [];
  const client = new TraceStreamClient({
    url: stack.endpoints.webSocketUrl,
    traceId,
    getToken: () => stack.mintToken(traceId),
    WebSocket,
    pageSignals: null,
  });
  client.on("event", (event) => events.push(event));
  client.on("conflicts", (conflicts) => heard.push(conflicts));
  const reached = (status: string) =>
    new Promise<void>((resolve) => {
      if (client.state.status === status) resolve();
      client.on("state", (state) => state.status === status && resolve());
    });
  client.connect();
  return { client, events, heard, live: reached("live"), ended: reached("ended") };
}

describe("a trace id reused by a second run", () => {
  it("is refused event by event, and both the live viewer and a later one are told how many", async () => {
    const traceId = newTraceId("reused");
    const first = run(traceId);
    const viewer = watch(traceId);
    await viewer.live;
    first.plan({ goal: "the first run" });
    first.route({ agent: "a" });
    await first.flush();

    const second = run(traceId);
    second.plan({ goal: "the second run, same id" });
    second.route({ agent: "b" });
    // EventBridge accepted both: the producer alone cannot know.
    await second.close();
    await stack.deliveriesIdle();
    await expect.poll(() => viewer.client.getSnapshot().conflicts?.count).toBe(2);
    expect(viewer.client.getSnapshot().conflicts).toEqual({ count: 2, more: false, seqs: [0, 1] });

    first.complete();
    await first.close();
    await viewer.ended;
    viewer.client.disconnect();
    expect(viewer.events.map((event) => event.metadata.goal ?? event.event)).toEqual([
      "the first run",
      "route_decision",
      "plan_completed",
    ]);

    const late = watch(traceId);
    await late.ended;
    late.client.disconnect();
    expect(late.client.getSnapshot().conflicts).toEqual({ count: 2, more: false, seqs: [0, 1] });
    expect(late.events.map((event) => event.seq)).toEqual([0, 1, 2]);
    expect(
      stack.deadLetters().filter((letter) => JSON.stringify(letter.payload).includes(traceId)),
    ).toHaveLength(2);
  });
});
