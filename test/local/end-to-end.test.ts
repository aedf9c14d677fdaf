import {
  GetConnectionCommand,
  GoneException,
  PostToConnectionCommand,
} from "@aws-sdk/client-apigatewaymanagementapi";
import { PutEventsCommand } from "@aws-sdk/client-eventbridge";
import { QueryCommand } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { mintToken } from "../../lambdas/authorizer/token.js";
import { createHandler as createConnectHandler } from "../../lambdas/connect/handler.js";
import { CONNECT_GRACE_MS } from "../../lambdas/emitter/emitter.js";
import { keys } from "../../lib/table-design.js";
import { SUBSCRIPTION_TTL_SECONDS } from "../../protocol/limits.js";
import type { TraceEvent } from "../../protocol/trace-event.js";
import {
  openSubscriber,
  putTraceEvents,
  type Subscriber,
  startTestStack,
  type TestStack,
  traceEvent,
  UpgradeRefused,
} from "../helpers/local-stack.js";

/** The real handlers of lambdas/ behind the local gateway and bus. */
let stack: TestStack;
let traceCounter = 0;
const newTraceId = () => `e2e-${process.pid}-${++traceCounter}`;

beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(() => stack.stop());
beforeEach(async () => {
  await stack.deliveriesIdle();
  stack.faults.eventBridge.reset();
  stack.faults.eventBridge.reorderMaxHoldMs = 50;
  stack.faults.gateway.dropDisconnect = false;
});

/** Connects to a trace and waits for the `synced` of its first resume. */
async function subscribe(traceId: string, afterSeq = -1): Promise<Subscriber> {
  const subscriber = await openSubscriber(stack.connectUrl(traceId, await stack.mintToken(traceId)));
  subscriber.send({ action: "resume", afterSeq });
  await subscriber.waitFor((frame) => frame.type === "synced");
  return subscriber;
}

/** What a client rebuilds: replayed and live events, duplicates dropped by seq, in seq order. */
function rebuild(subscriber: Subscriber): TraceEvent[] {
  const bySeq = new Map<number, TraceEvent>();
  for (const frame of subscriber.frames()) {
    const events =
      frame.type === "events"
        ? (frame.events as TraceEvent[])
        : frame.type === "event"
          ? [(({ type: _type, ...event }) => event)(frame) as unknown as TraceEvent]
          : [];
    for (const event of events) if (!bySeq.has(event.seq)) bySeq.set(event.seq, event);
  }
  return [...bySeq.values()].sort((a, b) => a.seq - b.seq);
}

/** Closes the socket and waits until the gateway no longer lists the connection. */
async function closeAndForget(subscriber: Subscriber, traceId: string) {
  await subscriber.close();
  while (stack.connections().some((info) => info.authorizer?.traceId === traceId)) {
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

async function holdsAll(subscriber: Subscriber, count: number) {
  await subscriber.waitFor(() => rebuild(subscriber).length >= count);
  return rebuild(subscriber);
}

const partition = async (pk: string) =>
  (
    await stack.clients.dynamo.send(
      new QueryCommand({
        TableName: stack.tableName,
        KeyConditionExpression: "pk = :pk",
        ExpressionAttributeValues: { ":pk": pk },
        ConsistentRead: true,
      }),
    )
  ).Items ?? [];

const subscriptions = async (traceId: string) =>
  (
    await stack.clients.dynamo.send(
      new QueryCommand({
        TableName: stack.tableName,
        KeyConditionExpression: "pk = :pk AND begins_with(sk, :conn)",
        ExpressionAttributeValues: { ":pk": keys.trace(traceId), ":conn": keys.connectionPrefix },
        ConsistentRead: true,
      }),
    )
  ).Items ?? [];

describe("live delivery", () => {
  it("sends a subscriber every event put on the bus, as an event frame (an events frame in stream mode)", async () => {
    const traceId = newTraceId();
    const subscriber = await subscribe(traceId);
    const events = [0, 1, 2].map((seq) => traceEvent(traceId, seq));
    await putTraceEvents(stack, events);
    expect(await holdsAll(subscriber, 3)).toEqual(events);
    if (stack.fanOut === "stream") {
      const live = subscriber.frames().filter((frame) => frame.type === "events");
      const first = (live[0]?.events as TraceEvent[] | undefined)?.[0] as TraceEvent;
      expect(live[0]).toEqual({ type: "events", trace_id: traceId, events: expect.any(Array) });
      expect(first).toEqual(events[first.seq]);
    } else {
      const live = subscriber.frames().filter((frame) => frame.type === "event");
      expect(live[0]).toEqual({ type: "event", ...events[live[0]?.seq as number] });
    }
    await subscriber.close();
  });

  it("does not send a subscriber the events of another trace", async () => {
    const mine = newTraceId();
    const subscriber = await subscribe(mine);
    await putTraceEvents(stack, [traceEvent(newTraceId(), 0), traceEvent(mine, 0)]);
    await stack.deliveriesIdle();
    expect(rebuild(subscriber).map((event) => event.trace_id)).toEqual([mine]);
    await subscriber.close();
  });

  it('answers {"action":"ping"} with a pong frame and raw "ping" with raw "pong"', async () => {
    const subscriber = await subscribe(newTraceId());
    subscriber.send({ action: "ping" });
    await subscriber.waitFor((frame) => frame.type === "pong");
    subscriber.send("ping");
    await subscriber.waitFor((_frame, raw) => raw === "pong");
    subscriber.send("hello?");
    expect(await subscriber.waitFor((frame) => frame.type === "error")).toMatchObject({
      code: "invalid_json",
    });
    await subscriber.close();
  });
});

describe("late joiners", () => {
  it("get the whole stored history in seq order, then synced", async () => {
    const traceId = newTraceId();
    const events = Array.from({ length: 25 }, (_, seq) =>
      traceEvent(traceId, seq, { metadata: { agent: "a", reason: "x".repeat(3000) } }),
    );
    await putTraceEvents(stack, events);
    await stack.deliveriesIdle();

    const subscriber = await subscribe(traceId);
    const frames = subscriber.frames();
    const batches = frames.filter((frame) => frame.type === "events");
    expect(batches.length).toBeGreaterThan(1);
    expect(batches.flatMap((frame) => frame.events as TraceEvent[])).toEqual(events);
    expect(frames.at(-1)).toEqual({ type: "synced", trace_id: traceId, last_seq: 24 });
    await subscriber.close();
  });

  it("resuming after a cursor gets only the later events", async () => {
    const traceId = newTraceId();
    const events = Array.from({ length: 5 }, (_, seq) => traceEvent(traceId, seq));
    await putTraceEvents(stack, events);
    await stack.deliveriesIdle();
    const subscriber = await subscribe(traceId, 2);
    expect(rebuild(subscriber)).toEqual(events.slice(3));
    await subscriber.close();
  });
});

describe("duplicated and reordered deliveries", () => {
  it("leave every client able to rebuild the exact sequence", async () => {
    const traceId = newTraceId();
    const events = Array.from({ length: 30 }, (_, seq) => traceEvent(traceId, seq));
    stack.faults.eventBridge.duplicateProbability = 0.5;
    stack.faults.eventBridge.reorderWindow = 6;

    const early = await subscribe(traceId);
    await putTraceEvents(stack, events.slice(0, 15));
    // Joining while deliveries are in flight hits the $connect race below; this test is about order.
    await stack.deliveriesIdle();
    const late = await subscribe(traceId);
    await putTraceEvents(stack, events.slice(15));

    expect(await holdsAll(early, 30)).toEqual(events);
    expect(await holdsAll(late, 30)).toEqual(events);
    await stack.deliveriesIdle();
    const stored = await subscribe(traceId);
    expect(rebuild(stored)).toEqual(events);
    await Promise.all([early.close(), late.close(), stored.close()]);
  });
});

describe("a subscriber whose $connect is still running", () => {
  // @connections answers 410 until $connect returns (as on AWS), though the subscription is
  // already written: the emitter must not take that 410 for a stale connection.
  it("keeps its subscription when an event is delivered meanwhile", async () => {
    let connectReturned: () => void = () => undefined;
    const connectDone = new Promise<void>((resolve) => {
      connectReturned = resolve;
    });
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const racy = await startTestStack({
      handlers: {
        connect: (env, runtime) => {
          const connect = createConnectHandler(env, runtime);
          return async (event: Parameters<typeof connect>[0]) => {
            const result = await connect(event);
            connectReturned();
            await gate;
            return result;
          };
        },
      },
    });
    try {
      const traceId = newTraceId();
      const opening = openSubscriber(racy.connectUrl(traceId, await racy.mintToken(traceId)));
      await connectDone;
      await putTraceEvents(racy, [traceEvent(traceId, 0)]);
      await racy.deliveriesIdle();
      release();
      const subscriber = await opening;
      const { Items } = await racy.clients.dynamo.send(
        new QueryCommand({
          TableName: racy.tableName,
          KeyConditionExpression: "pk = :pk AND begins_with(sk, :conn)",
          ExpressionAttributeValues: { ":pk": keys.trace(traceId), ":conn": keys.connectionPrefix },
          ConsistentRead: true,
        }),
      );
      await subscriber.close();
      expect(Items).toHaveLength(1);
    } finally {
      release();
      await racy.stop();
    }
  });
});

describe("a dropped $disconnect", () => {
  it("is cleaned up when the emitter's post answers 410 Gone", async () => {
    const traceId = newTraceId();
    stack.faults.gateway.dropDisconnect = true;
    const subscriber = await subscribe(traceId);
    await closeAndForget(subscriber, traceId);
    expect(await subscriptions(traceId)).toHaveLength(1);

    // Past the window in which a 410 may only mean "$connect has not returned yet".
    stack.clock.advance(CONNECT_GRACE_MS + 1000);
    await putTraceEvents(stack, [traceEvent(traceId, 0)]);
    await stack.deliveriesIdle();
    expect(await subscriptions(traceId)).toEqual([]);
    expect(stack.deadLetters()).toEqual([]);
  });

  it("is cleaned up by the TTL sweeper once the subscription expires", async () => {
    const traceId = newTraceId();
    await putTraceEvents(stack, [traceEvent(traceId, 0)]);
    stack.faults.gateway.dropDisconnect = true;
    const subscriber = await subscribe(traceId);
    const connectionId = stack
      .connections()
      .find((info) => info.authorizer?.traceId === traceId)?.connectionId;
    await closeAndForget(subscriber, traceId);
    expect(await subscriptions(traceId)).toHaveLength(1);
    expect(await partition(keys.connection(connectionId ?? ""))).toHaveLength(1);

    stack.clock.advance(SUBSCRIPTION_TTL_SECONDS * 1000 + 60_000);
    await stack.sweepExpired();
    expect(await subscriptions(traceId)).toEqual([]);
    expect(await partition(keys.connection(connectionId ?? ""))).toEqual([]);
    // The trace's stored event and its run summary are kept: their retention is days, not hours.
    expect((await partition(keys.trace(traceId))).map((item) => item.sk)).toEqual([
      keys.event(0),
      keys.runSummary,
    ]);
  });
});

describe("the @connections API", () => {
  it("answers for an open connection and raises a typed GoneException once it has closed", async () => {
    const traceId = newTraceId();
    const subscriber = await subscribe(traceId);
    const connection = stack.connections().find((info) => info.authorizer?.traceId === traceId);
    expect(connection).toBeDefined();
    const ConnectionId = connection?.connectionId;
    const info = await stack.clients.management.send(new GetConnectionCommand({ ConnectionId }));
    expect(info.ConnectedAt).toBeInstanceOf(Date);
    await stack.clients.management.send(
      new PostToConnectionCommand({ ConnectionId, Data: '{"type":"hello"}' }),
    );
    await subscriber.waitFor((frame) => frame.type === "hello");

    await closeAndForget(subscriber, traceId);
    const gone = await stack.clients.management
      .send(new PostToConnectionCommand({ ConnectionId, Data: "late" }))
      .catch((error: unknown) => error);
    expect(gone).toBeInstanceOf(GoneException);
    expect((gone as GoneException).$metadata.httpStatusCode).toBe(410);
  });
});

describe("connecting", () => {
  const refusal = async (url: string) => {
    try {
      const subscriber = await openSubscriber(url);
      await subscriber.close();
    } catch (error) {
      if (error instanceof UpgradeRefused) return error.statusCode;
      throw error;
    }
    return 101;
  };

  it("refuses a missing or bad token with 401", async () => {
    const traceId = newTraceId();
    expect(await refusal(`${stack.endpoints.webSocketUrl}?traceId=${traceId}`)).toBe(401);
    expect(await refusal(stack.connectUrl(traceId, "not-a-jwt"))).toBe(401);
    const foreign = await mintToken({
      secret: "another-secret-that-is-long-enough-123456",
      traces: [traceId],
    });
    expect(await refusal(stack.connectUrl(traceId, foreign))).toBe(401);
  });

  it("refuses a token for other traces with 403", async () => {
    expect(
      await refusal(stack.connectUrl(newTraceId(), await stack.mintToken(["someone-else", "run-*"]))),
    ).toBe(403);
  });

  it("refuses a malformed trace id with 400", async () => {
    expect(await refusal(stack.connectUrl("bad trace id!", await stack.mintToken("*")))).toBe(400);
  });

  it("accepts a prefix token for a matching trace", async () => {
    expect(await refusal(stack.connectUrl("run-42", await stack.mintToken("run-*")))).toBe(101);
  });
});

describe("events the emitter refuses", () => {
  it("go to the dead-letter queue with their reason, readable over SQS", async () => {
    const traceId = newTraceId();
    const valid = traceEvent(traceId, 0);
    const conflicting = { ...traceEvent(traceId, 0), metadata: { agent: "other", reason: "same seq" } };
    await putTraceEvents(stack, [valid]);
    await stack.deliveriesIdle();
    await stack.clients.eventBridge.send(
      new PutEventsCommand({
        Entries: [
          {
            EventBusName: stack.busName,
            Source: stack.source,
            DetailType: "route_decision",
            Detail: '{"trace_id":"x"}',
          },
          {
            EventBusName: stack.busName,
            Source: stack.source,
            DetailType: "route_decision",
            Detail: JSON.stringify(conflicting),
          },
          {
            EventBusName: stack.busName,
            Source: stack.source,
            DetailType: "route_decision",
            Detail: JSON.stringify(
              traceEvent(traceId, 1, { metadata: { agent: "a", reason: "y".repeat(100_000) } }),
            ),
          },
        ],
      }),
    );
    await stack.deliveriesIdle();
    const codes = stack.deadLetters().map((letter) => letter.attributes.ERROR_CODE);
    expect(codes.sort()).toEqual(["event_too_large", "invalid_event", "seq_conflict"]);
  });
});
