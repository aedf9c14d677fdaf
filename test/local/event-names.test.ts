import { PostToConnectionCommand } from "@aws-sdk/client-apigatewaymanagementapi";
import { PutEventsCommand } from "@aws-sdk/client-eventbridge";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { TraceStreamClient, type TraceStreamState, type WebSocketConstructor } from "../../client/index.js";
import { dynamoTraceStore } from "../../lambdas/shared/trace-store.js";
import type { ReceivedTraceEvent, TraceEvent } from "../../protocol/trace-event.js";
import { runCli, stackEnv } from "../cli/run-cli.js";
import { putTraceEvents, startTestStack, type TestStack, traceEvent } from "../helpers/local-stack.js";

/**
 * Event names, old and new: a producer's mistyped name is dead-lettered with its reason instead of
 * vanishing at the rule, and a subscriber built before an event existed still shows it.
 */
let stack: TestStack;
let counter = 0;
const newTraceId = (name: string) => `names-${name}-${process.pid}-${++counter}`;

beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(() => stack.stop());

/** An event named after something this version does not know, as a newer emitter would store it. */
function futureEvent(traceId: string, seq: number): ReceivedTraceEvent {
  return {
    ...traceEvent(traceId, seq),
    event: "some_future_event",
    status: "pending",
    metadata: { phase: "retrieval", shards: 3, nested: { deeper: true } },
    span_id: `span-${seq}`,
  } as ReceivedTraceEvent;
}

/** Stores events exactly as the emitter does (a newer emitter, for names this one refuses). */
async function store(events: readonly ReceivedTraceEvent[]) {
  const traceStore = dynamoTraceStore(stack.clients.dynamo, stack.tableName);
  for (const event of events) {
    await traceStore.putEvent(event as TraceEvent, Math.floor(Date.now() / 1000) + 3600);
  }
}

describe("a mistyped event name", () => {
  it("passes the rule (it matches on the source) and is dead-lettered with its reason, redacted", async () => {
    const traceId = newTraceId("typo");
    const before = stack.deadLetters().length;
    const typo = {
      ...traceEvent(traceId, 0),
      event: "tool_call_started",
      metadata: { tool: "search", api_key: "sk-live-abcdefghijklmnopqrstuvwx" },
    };
    const output = await stack.clients.eventBridge.send(
      new PutEventsCommand({
        Entries: [
          {
            EventBusName: stack.busName,
            Source: stack.source,
            DetailType: typo.event,
            Detail: JSON.stringify(typo),
          },
        ],
      }),
    );
    expect(output.FailedEntryCount ?? 0).toBe(0);
    await stack.deliveriesIdle();
    const letters = stack.deadLetters().slice(before);
    expect(letters).toHaveLength(1);
    expect(letters[0]?.attributes.ERROR_CODE).toBe("invalid_event");
    expect(letters[0]?.attributes.ERROR_MESSAGE).toMatch(
      /"tool_call_started" is not a known trace event name/,
    );
    expect(letters[0]?.body).not.toContain("sk-live-abcdefghijklmnopqrstuvwx");
  });
});

describe("an old client against a new event", () => {
  it("TraceStreamClient delivers unknown events, replayed and live, in order, and the trace still ends", async () => {
    const traceId = newTraceId("client");
    await store([traceEvent(traceId, 0), futureEvent(traceId, 1)]);
    const received: ReceivedTraceEvent[] = [];
    const states: TraceStreamState["status"][] = [];
    const client = new TraceStreamClient({
      url: stack.endpoints.webSocketUrl,
      traceId,
      getToken: () => stack.mintToken(traceId),
      WebSocket: WebSocket as unknown as WebSocketConstructor,
      pageSignals: null,
    });
    client.on("event", (event) => received.push(event));
    const live = new Promise<void>((resolve) => {
      client.on("state", (state) => {
        states.push(state.status);
        if (state.status === "live") resolve();
      });
    });
    const ended = new Promise<void>((resolve, reject) => {
      client.on("state", (state) => {
        if (state.status === "ended") resolve();
        if (state.status === "failed") reject(new Error(state.reason));
      });
    });
    client.connect();
    await live;
    // Live, as a newer emitter would fan it out.
    const connection = stack.connections().find((info) => info.authorizer?.traceId === traceId);
    expect(connection).toBeDefined();
    await stack.clients.management.send(
      new PostToConnectionCommand({
        ConnectionId: connection?.connectionId,
        Data: JSON.stringify({ type: "event", ...futureEvent(traceId, 2) }),
      }),
    );
    await putTraceEvents(stack, [traceEvent(traceId, 3, { event: "plan_completed", metadata: {} })]);
    await ended;
    client.disconnect();

    expect(received.map((event) => [event.seq, event.event])).toEqual([
      [0, "route_decision"],
      [1, "some_future_event"],
      [2, "some_future_event"],
      [3, "plan_completed"],
    ]);
    expect(received[1]).toMatchObject({ span_id: "span-1", metadata: { phase: "retrieval", shards: 3 } });
    expect(client.getSnapshot().error).toBeNull();
    expect(states).not.toContain("failed");
  });

  it("tail shows an unknown event generically (name and scalar metadata) and --json passes it through", async () => {
    const traceId = newTraceId("tail");
    await store([
      traceEvent(traceId, 0),
      futureEvent(traceId, 1),
      traceEvent(traceId, 2, { event: "plan_completed", metadata: {} }),
    ]);
    const env = stackEnv(stack);
    const human = await runCli(["tail", traceId], { env });
    expect(human.code).toBe(0);
    const lines = human.stdout.trim().split("\n");
    expect(lines).toHaveLength(3);
    expect(lines[1]).toMatch(/#1 .*some_future_event\s+phase=retrieval {2}shards=3$/);

    const json = await runCli(["tail", traceId, "--json"], { env });
    expect(json.code).toBe(0);
    const events = json.stdout
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as ReceivedTraceEvent);
    expect(events.map((event) => event.event)).toEqual([
      "route_decision",
      "some_future_event",
      "plan_completed",
    ]);
    expect(events[1]?.metadata).toEqual({ phase: "retrieval", shards: 3, nested: { deeper: true } });
  });
});
