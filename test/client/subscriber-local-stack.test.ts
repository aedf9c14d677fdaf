import { DeleteConnectionCommand } from "@aws-sdk/client-apigatewaymanagementapi";
import { QueryCommand } from "@aws-sdk/lib-dynamodb";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { TraceStreamClient, type TraceStreamClientOptions } from "../../client/trace-stream-client.js";
import { keys } from "../../lib/table-design.js";
import type { TraceEvent } from "../../protocol/trace-event.js";
import { putTraceEvents, startTestStack, type TestStack, traceEvent } from "../helpers/local-stack.js";
import { recordStates, until, untilStatus } from "./scripted-server.js";

/** What a producer emits for one run: `count` events, the last one `plan_completed`. */
function run(traceId: string, count: number): TraceEvent[] {
  return Array.from({ length: count }, (_, seq) =>
    seq === count - 1
      ? traceEvent(traceId, seq, {
          event: "plan_completed",
          status: "success",
          metadata: { duration_ms: 5, steps_completed: count - 1 },
        })
      : traceEvent(traceId, seq),
  );
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
let traceCounter = 0;
const newTraceId = (name: string) => `client-e2e-${name}-${++traceCounter}`;

function streamClient(
  stack: TestStack,
  traceId: string,
  overrides: Partial<TraceStreamClientOptions> = {},
): TraceStreamClient {
  return new TraceStreamClient({
    url: stack.endpoints.webSocketUrl,
    traceId,
    getToken: () => stack.mintToken(traceId),
    WebSocket,
    pageSignals: null,
    reconnect: { initialDelayMs: 20, maxDelayMs: 200 },
    gapTimeoutMs: 300,
    ...overrides,
  });
}

/**
 * Resolves once the trace ended and no seq is missing. Seqs reported missing may still arrive
 * after the terminal event (EventBridge delivers out of order); the client waits for them.
 */
const untilComplete = (client: TraceStreamClient) =>
  until(client, (s) => s.status === "ended" && s.missing.length === 0);

/** Connection ids subscribed to a trace, read from the table as the emitter reads them. */
async function subscribedConnections(stack: TestStack, traceId: string): Promise<string[]> {
  const { Items = [] } = await stack.clients.dynamo.send(
    new QueryCommand({
      TableName: stack.tableName,
      KeyConditionExpression: "pk = :pk AND begins_with(sk, :conn)",
      ExpressionAttributeValues: { ":pk": keys.trace(traceId), ":conn": keys.connectionPrefix },
      ConsistentRead: true,
    }),
  );
  return Items.map((item) => String(item.sk).slice(keys.connectionPrefix.length));
}

describe("TraceStreamClient on the local stack", () => {
  let stack: TestStack;
  const clients: TraceStreamClient[] = [];
  const track = (client: TraceStreamClient) => {
    clients.push(client);
    return client;
  };

  beforeAll(async () => {
    stack = await startTestStack();
  });

  afterEach(() => {
    for (const client of clients.splice(0)) client.disconnect();
    stack.faults.eventBridge.reset();
    stack.faults.gateway.dropDisconnect = false;
  });

  afterAll(async () => {
    await stack.stop();
  });

  it("shows exactly the producer's sequence to a client that joins late, mid-stream", async () => {
    const traceId = newTraceId("late");
    const produced = run(traceId, 60);
    await putTraceEvents(stack, produced.slice(0, 20));
    await stack.deliveriesIdle();

    const client = track(streamClient(stack, traceId));
    const states = recordStates(client);
    const producing = (async () => {
      for (let i = 20; i < produced.length; i += 5) await putTraceEvents(stack, produced.slice(i, i + 5));
    })();
    client.connect();
    await producing;

    const snapshot = await untilComplete(client);
    expect(snapshot.events).toEqual(produced);
    expect(snapshot.missing).toEqual([]);
    expect(states.at(-1)).toBe("ended:terminal_event");
    expect(states.filter((state) => state.startsWith("reconnecting"))).toEqual([]);
  });

  it("shows the producer's sequence when the server deletes the connection mid-stream", async () => {
    const traceId = newTraceId("delete");
    const produced = run(traceId, 40);
    const client = track(streamClient(stack, traceId));
    const states = recordStates(client);
    client.connect();
    await untilStatus(client, "live");
    await putTraceEvents(stack, produced.slice(0, 10));
    await until(client, (s) => s.lastSeq === 9);

    const [connectionId] = await subscribedConnections(stack, traceId);
    await stack.clients.management.send(new DeleteConnectionCommand({ ConnectionId: connectionId }));
    await putTraceEvents(stack, produced.slice(10));

    const snapshot = await untilComplete(client);
    expect(snapshot.events).toEqual(produced);
    expect(states).toContain("reconnecting:going_away");
  });

  it("shows the producer's sequence when $disconnect is lost", async () => {
    const traceId = newTraceId("lost-disconnect");
    const produced = run(traceId, 30);
    stack.faults.gateway.dropDisconnect = true;
    const client = track(streamClient(stack, traceId));
    const states = recordStates(client);
    client.connect();
    await untilStatus(client, "live");
    await putTraceEvents(stack, produced.slice(0, 10));
    await until(client, (s) => s.lastSeq === 9);

    const [stale] = await subscribedConnections(stack, traceId);
    await stack.clients.management.send(new DeleteConnectionCommand({ ConnectionId: stale }));
    await until(client, (s) => s.status === "live" && states.includes("reconnecting:going_away"));
    // The stale subscription is still there beside the new one: the emitter will meet 410 Gone.
    expect(await subscribedConnections(stack, traceId)).toHaveLength(2);
    await putTraceEvents(stack, produced.slice(10));

    const snapshot = await untilComplete(client);
    expect(snapshot.events).toEqual(produced);
    expect(snapshot.missing).toEqual([]);
  });

  it("shows the producer's sequence when EventBridge duplicates and reorders deliveries", async () => {
    const traceId = newTraceId("faults");
    const produced = run(traceId, 50);
    Object.assign(stack.faults.eventBridge, { duplicateProbability: 0.5, reorderWindow: 4 });
    const client = track(streamClient(stack, traceId, { gapTimeoutMs: 500 }));
    client.connect();
    await untilStatus(client, "live");
    await putTraceEvents(stack, produced);

    const snapshot = await untilComplete(client);
    expect(snapshot.events).toEqual(produced);
    expect(snapshot.missing).toEqual([]);
  });

  it("fails on a bad token without retrying (401)", async () => {
    const traceId = newTraceId("bad-token");
    const client = track(streamClient(stack, traceId, { getToken: () => "not-a-jwt" }));
    const states = recordStates(client);
    client.connect();
    const snapshot = await untilStatus(client, "failed");
    expect(snapshot.state).toMatchObject({ code: "unauthorized", httpStatus: 401 });
    expect(states).toEqual(["connecting", "failed:unauthorized"]);
  });

  it("fails on a token for another trace without retrying (403)", async () => {
    const traceId = newTraceId("other-token");
    const client = track(streamClient(stack, traceId, { getToken: () => stack.mintToken("someone-else") }));
    const states = recordStates(client);
    client.connect();
    expect((await untilStatus(client, "failed")).state).toMatchObject({ code: "forbidden", httpStatus: 403 });
    expect(states).toEqual(["connecting", "failed:forbidden"]);
  });

  it("ends on a terminal event and does not reconnect", async () => {
    const traceId = newTraceId("terminal");
    const produced = run(traceId, 3);
    const client = track(streamClient(stack, traceId));
    const states = recordStates(client);
    client.connect();
    await untilStatus(client, "live");
    await putTraceEvents(stack, produced);
    expect((await untilComplete(client)).events).toEqual(produced);

    // A straggler after the end reaches nobody.
    await putTraceEvents(stack, [traceEvent(traceId, 3)]);
    await stack.deliveriesIdle();
    expect(client.getSnapshot().events).toEqual(produced);
    expect(states).toEqual(["connecting", "backfilling", "live", "ended:terminal_event"]);
  });

  it("stays disconnected after disconnect() while the producer goes on", async () => {
    const traceId = newTraceId("disconnect");
    const produced = run(traceId, 20);
    const client = track(streamClient(stack, traceId));
    client.connect();
    await untilStatus(client, "live");
    await putTraceEvents(stack, produced.slice(0, 5));
    await until(client, (s) => s.lastSeq === 4);

    client.disconnect();
    await putTraceEvents(stack, produced.slice(5, 10));
    await stack.deliveriesIdle();
    expect(client.getSnapshot()).toMatchObject({ status: "closed", lastSeq: 4 });

    // Connecting again picks up where it stopped.
    await putTraceEvents(stack, produced.slice(10));
    client.connect();
    expect((await untilComplete(client)).events).toEqual(produced);
  });

  it("asks for a fresh token on every connect and reconnects with it", async () => {
    const traceId = newTraceId("refresh");
    const produced = run(traceId, 10);
    const tokens: string[] = [];
    const client = track(
      streamClient(stack, traceId, {
        getToken: async () => {
          const token = await stack.mintToken(traceId, 60 + tokens.length);
          tokens.push(token);
          return token;
        },
      }),
    );
    client.connect();
    await untilStatus(client, "live");
    const [connectionId] = await subscribedConnections(stack, traceId);
    await stack.clients.management.send(new DeleteConnectionCommand({ ConnectionId: connectionId }));
    await putTraceEvents(stack, produced);

    expect((await untilComplete(client)).events).toEqual(produced);
    expect(tokens).toHaveLength(2);
    expect(new Set(tokens).size).toBe(2);
  });
});

describe("TraceStreamClient on a local stack with short connection limits", () => {
  it("shows the producer's sequence across API Gateway's connection cap (on a short clock)", async () => {
    const stack = await startTestStack({ gatewayLimits: { maxConnectionMs: 250 } });
    const client = streamClient(stack, newTraceId("cap"));
    try {
      const states = recordStates(client);
      const capped = () => states.filter((state) => state === "reconnecting:going_away").length;
      client.connect();
      await untilStatus(client, "live");
      const produced: TraceEvent[] = [];
      // Produce until the cap has closed the connection three times (bounded, to fail clearly).
      while (capped() < 3 && produced.length < 600) {
        const batch = [0, 1, 2].map((i) => traceEvent(client.traceId, produced.length + i));
        produced.push(...batch);
        await putTraceEvents(stack, batch);
        await pause(10);
      }
      const last = run(client.traceId, produced.length + 1).at(-1) as TraceEvent;
      produced.push(last);
      await putTraceEvents(stack, [last]);

      const snapshot = await untilComplete(client);
      expect(capped()).toBeGreaterThanOrEqual(3);
      expect(snapshot.events).toEqual(produced);
      expect(snapshot.missing).toEqual([]);
    } finally {
      client.disconnect();
      await stack.stop();
    }
  });

  it("shows the producer's sequence across idle timeouts (on a short clock)", async () => {
    const stack = await startTestStack({ gatewayLimits: { idleTimeoutMs: 150 } });
    // No heartbeat within the idle window, so the gateway's idle timeout fires.
    const client = streamClient(stack, newTraceId("idle"), { heartbeatIntervalMs: 600_000 });
    try {
      const states = recordStates(client);
      const idled = () => states.filter((state) => state === "reconnecting:going_away").length;
      const produced = run(client.traceId, 30);
      client.connect();
      for (let round = 0; round < 3; round++) {
        const seen = idled();
        await until(client, () => idled() > seen);
        await putTraceEvents(stack, produced.slice(round * 10, round * 10 + 10));
      }

      const snapshot = await untilComplete(client);
      expect(idled()).toBeGreaterThanOrEqual(3);
      expect(snapshot.events).toEqual(produced);
      expect(snapshot.missing).toEqual([]);
    } finally {
      client.disconnect();
      await stack.stop();
    }
  });
});
