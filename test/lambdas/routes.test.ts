import { GetCommand, QueryCommand } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHandler as connectHandler } from "../../lambdas/connect/handler.js";
import { answerUnrouted } from "../../lambdas/default/default-route.js";
import { createHandler as disconnectHandler } from "../../lambdas/disconnect/handler.js";
import { makeResume } from "../../lambdas/resume/resume.js";
import { ConfigError } from "../../lambdas/shared/config.js";
import { dynamoTraceStore } from "../../lambdas/shared/trace-store.js";
import { keys } from "../../lib/table-design.js";
import { SUBSCRIPTION_TTL_SECONDS, TARGET_BATCH_BYTES, utf8Bytes } from "../../protocol/index.js";
import { startTestTable, type TestTable } from "../helpers/dynalite.js";
import { traceEvent } from "../support/events.js";
import { recordingGateway } from "../support/gateway.js";
import { recordingLog, recordingMetrics } from "../support/telemetry.js";

let table: TestTable;
beforeAll(async () => {
  table = await startTestTable();
});
afterAll(() => table.close());

function wsEvent(connectionId: string, extra: Record<string, unknown> = {}) {
  return { requestContext: { connectionId, routeKey: "$connect" }, ...extra };
}

describe("connect", () => {
  it("writes the subscription and its reverse item, both expiring 2 h 15 min later", async () => {
    const connect = connectHandler(table.env);
    const before = Math.floor(Date.now() / 1000);
    const result = await connect(
      wsEvent("conn-A=", { queryStringParameters: { traceId: "run-1", token: "t" } }),
    );
    expect(result).toEqual({ statusCode: 200 });
    const sub = await table.client.send(
      new GetCommand({ TableName: table.tableName, Key: { pk: "TRACE#run-1", sk: "CONN#conn-A=" } }),
    );
    const reverse = await table.client.send(
      new GetCommand({ TableName: table.tableName, Key: { pk: "CONN#conn-A=", sk: "TRACE#run-1" } }),
    );
    expect(sub.Item?.expires_at).toBeGreaterThanOrEqual(before + SUBSCRIPTION_TTL_SECONDS);
    expect(sub.Item?.expires_at).toBeLessThanOrEqual(before + SUBSCRIPTION_TTL_SECONDS + 5);
    expect(reverse.Item?.trace_id).toBe("run-1");
  });

  it("refuses a trace's subscriber over the cap with 429, and admits again when one leaves", async () => {
    const env = { ...table.env, MAX_SUBSCRIBERS_PER_TRACE: "3" };
    const connect = connectHandler(env);
    const disconnect = disconnectHandler(env);
    const open = (id: string) =>
      connect(wsEvent(id, { queryStringParameters: { traceId: "popular", token: "t" } }));
    for (const id of ["p1=", "p2=", "p3="]) expect(await open(id)).toEqual({ statusCode: 200 });
    const refused = await open("p4=");
    expect(refused.statusCode).toBe(429);
    expect(refused.body).toMatch(/3 subscribers/);
    expect(await dynamoTraceStore(table.client, table.tableName).traceOfConnection("p4=")).toBeUndefined();
    // Another trace is not affected.
    expect(
      (await connect(wsEvent("q1=", { queryStringParameters: { traceId: "quiet", token: "t" } }))).statusCode,
    ).toBe(200);
    await disconnect({ requestContext: { connectionId: "p2=", routeKey: "$disconnect" } });
    expect(await open("p4=")).toEqual({ statusCode: 200 });
  });

  it("refuses a malformed cap setting at cold start", () => {
    expect(() => connectHandler({ ...table.env, MAX_SUBSCRIBERS_PER_TRACE: "0" })).toThrow(ConfigError);
  });

  it.each([
    ["a malformed trace id", "bad id!"],
    ["no trace id", undefined],
  ])("answers 400 to %s and writes nothing", async (_label, traceId) => {
    const connect = connectHandler(table.env);
    const result = await connect(wsEvent("conn-bad=", { queryStringParameters: traceId ? { traceId } : {} }));
    expect(result.statusCode).toBe(400);
    const items = await table.client.send(
      new QueryCommand({
        TableName: table.tableName,
        KeyConditionExpression: "pk = :pk",
        ExpressionAttributeValues: { ":pk": "CONN#conn-bad=" },
      }),
    );
    expect(items.Items).toEqual([]);
  });

  it("answers 403 when the authorizer allowed a different trace", async () => {
    const connect = connectHandler(table.env);
    const result = await connect({
      requestContext: { connectionId: "conn-x=", routeKey: "$connect", authorizer: { traceId: "run-1" } },
      queryStringParameters: { traceId: "run-2" },
    });
    expect(result.statusCode).toBe(403);
  });

  it("fails fast at cold start without TABLE_NAME", () => {
    expect(() => connectHandler({})).toThrow(ConfigError);
    expect(() => connectHandler({})).toThrow(/Set TABLE_NAME/);
  });
});

describe("disconnect", () => {
  it("deletes both items and tolerates a second, already-deleted disconnect", async () => {
    const connect = connectHandler(table.env);
    const disconnect = disconnectHandler(table.env);
    await connect(wsEvent("conn-B=", { queryStringParameters: { traceId: "run-2" } }));
    expect(await disconnect(wsEvent("conn-B="))).toEqual({ statusCode: 200 });
    expect(await disconnect(wsEvent("conn-B="))).toEqual({ statusCode: 200 });
    const store = dynamoTraceStore(table.client, table.tableName);
    expect(await store.traceOfConnection("conn-B=")).toBeUndefined();
    const subscribers: string[] = [];
    for await (const page of store.subscribers("run-2")) subscribers.push(...page);
    expect(subscribers).toEqual([]);
  });
});

describe("ping and $default", () => {
  it("answers raw ping with raw pong", () => {
    expect(answerUnrouted("ping")).toEqual({ statusCode: 200, body: "pong" });
  });

  it.each([
    ["text that is not JSON", "hello", "invalid_json"],
    ["a JSON array", "[1,2]", "invalid_message"],
    ["a JSON string", '"ping"', "invalid_message"],
    ["JSON without action", '{"afterSeq":1}', "unknown_action"],
    ["an unknown action", '{"action":"subscribe"}', "unknown_action"],
    ["a non-string action", '{"action":42}', "unknown_action"],
  ])("answers %s with an error frame %s", (_label, body, code) => {
    const result = answerUnrouted(body);
    expect(result.statusCode).toBe(200);
    expect(JSON.parse(result.body ?? "")).toMatchObject({ type: "error", code });
  });
});

describe("resume", () => {
  const traceId = "run-resume";
  const store = () => dynamoTraceStore(table.client, table.tableName);

  beforeAll(async () => {
    const s = store();
    await s.putSubscription({ traceId, connectionId: "late=", connectedAt: 0, expiresAt: 9_999_999_999 });
    // Stored out of order, as EventBridge may deliver them.
    for (const seq of [2, 0, 1, ...Array.from({ length: 497 }, (_, i) => i + 3)]) {
      await s.putEvent(
        traceEvent(seq, { trace_id: traceId, metadata: { note: "x".repeat(200) } }),
        9_999_999_999,
      );
    }
  });

  function resumeWith(gateway = recordingGateway()) {
    return {
      gateway,
      resume: makeResume({
        store: store(),
        gateway,
        log: recordingLog(),
        metrics: recordingMetrics(),
        now: Date.now,
      }),
    };
  }

  it("sends the whole history in ascending batches of at most 32 KiB, then synced", async () => {
    const { gateway, resume } = resumeWith();
    await resume({ connectionId: "late=", body: '{"action":"resume","afterSeq":-1}' });
    const frames = gateway.framesFor("late=") as {
      type: string;
      events?: { seq: number }[];
      last_seq?: number;
    }[];
    expect(frames.length).toBeGreaterThan(2);
    expect(frames.at(-1)).toEqual({ type: "synced", trace_id: traceId, last_seq: 499 });
    const seqs = frames.flatMap((frame) => frame.events?.map((event) => event.seq) ?? []);
    expect(seqs).toEqual(Array.from({ length: 500 }, (_, i) => i));
    for (const post of gateway.posts) expect(utf8Bytes(post.data)).toBeLessThanOrEqual(TARGET_BATCH_BYTES);
  });

  it("sends only what follows the cursor", async () => {
    const { gateway, resume } = resumeWith();
    await resume({ connectionId: "late=", body: '{"action":"resume","afterSeq":495}' });
    const frames = gateway.framesFor("late=") as { events?: { seq: number }[] }[];
    expect(frames.flatMap((frame) => frame.events?.map((event) => event.seq) ?? [])).toEqual([
      496, 497, 498, 499,
    ]);
  });

  it("reports the cursor as last_seq when nothing follows it", async () => {
    const { gateway, resume } = resumeWith();
    await resume({ connectionId: "late=", body: '{"action":"resume","afterSeq":499}' });
    expect(gateway.framesFor("late=")).toEqual([{ type: "synced", trace_id: traceId, last_seq: 499 }]);
  });

  it("reports -1 for a trace with nothing stored", async () => {
    await store().putSubscription({
      traceId: "empty",
      connectionId: "e=",
      connectedAt: 0,
      expiresAt: 9_999_999_999,
    });
    const { gateway, resume } = resumeWith();
    await resume({ connectionId: "e=", body: '{"action":"resume","afterSeq":-1}' });
    expect(gateway.framesFor("e=")).toEqual([{ type: "synced", trace_id: "empty", last_seq: -1 }]);
  });

  it.each([
    ["text that is not JSON", "resume please", "invalid_json"],
    ["a missing cursor", '{"action":"resume"}', "invalid_message"],
    ["a cursor below -1", '{"action":"resume","afterSeq":-5}', "invalid_message"],
    ["a string cursor", '{"action":"resume","afterSeq":"7"}', "invalid_message"],
  ])("answers %s with an error frame %s", async (_label, body, code) => {
    const { gateway, resume } = resumeWith();
    await resume({ connectionId: "late=", body });
    expect(gateway.framesFor("late=")).toEqual([expect.objectContaining({ type: "error", code })]);
  });

  it("answers not_subscribed for a connection without a subscription", async () => {
    const { gateway, resume } = resumeWith();
    await resume({ connectionId: "stranger=", body: '{"action":"resume","afterSeq":-1}' });
    expect(gateway.framesFor("stranger=")).toEqual([expect.objectContaining({ code: "not_subscribed" })]);
  });

  it("stops and removes the subscription when the client is gone mid-replay", async () => {
    await store().putSubscription({
      traceId,
      connectionId: "leaver=",
      connectedAt: 0,
      expiresAt: 9_999_999_999,
    });
    const { gateway, resume } = resumeWith(recordingGateway({ gone: ["leaver="] }));
    await resume({ connectionId: "leaver=", body: '{"action":"resume","afterSeq":-1}' });
    expect(gateway.posts).toEqual([]);
    expect(await store().traceOfConnection("leaver=")).toBeUndefined();
  });

  describe("bounded work per request", () => {
    type Frame = { type: string; events?: { seq: number }[]; last_seq?: number; more?: boolean };
    async function subscribe(connectionId: string) {
      await store().putSubscription({ traceId, connectionId, connectedAt: 0, expiresAt: 9_999_999_999 });
    }
    function limited(limits: Parameters<typeof makeResume>[0]["limits"], now = Date.now) {
      const gateway = recordingGateway();
      const resume = makeResume({
        store: store(),
        gateway,
        log: recordingLog(),
        metrics: recordingMetrics(),
        now,
        limits,
      });
      return { gateway, resume };
    }

    it("replays a page, says more, and the pages a client follows cover the trace once", async () => {
      await subscribe("pager=");
      const { gateway, resume } = limited({ pageEvents: 120 });
      let afterSeq = -1;
      for (let request = 0; request < 10; request++) {
        const before = gateway.posts.length;
        await resume({ connectionId: "pager=", body: JSON.stringify({ action: "resume", afterSeq }) });
        const synced = gateway.framesFor("pager=").slice(before).at(-1) as Frame;
        expect(synced.type).toBe("synced");
        afterSeq = synced.last_seq ?? -1;
        if (!synced.more) break;
      }
      const frames = gateway.framesFor("pager=") as Frame[];
      const seqs = frames.flatMap((frame) => frame.events?.map((event) => event.seq) ?? []);
      expect(seqs).toEqual(Array.from({ length: 500 }, (_, i) => i));
      expect(frames.filter((frame) => frame.type === "synced")).toEqual([
        ...[119, 239, 359, 479].map((last) => ({
          type: "synced",
          trace_id: traceId,
          last_seq: last,
          more: true,
        })),
        { type: "synced", trace_id: traceId, last_seq: 499 },
      ]);
    });

    it("does not say more when a page ends exactly at the last stored event", async () => {
      await subscribe("exact=");
      const { gateway, resume } = limited({ pageEvents: 100 });
      await resume({ connectionId: "exact=", body: '{"action":"resume","afterSeq":399}' });
      expect(gateway.framesFor("exact=").at(-1)).toEqual({
        type: "synced",
        trace_id: traceId,
        last_seq: 499,
      });
    });

    it("stops at the page's byte budget", async () => {
      await subscribe("bytes=");
      const { gateway, resume } = limited({ pageBytes: 64 * 1024 });
      await resume({ connectionId: "bytes=", body: '{"action":"resume","afterSeq":-1}' });
      const sent = gateway.posts.filter((post) => post.connectionId === "bytes=");
      const bytes = sent.reduce((sum, post) => sum + utf8Bytes(post.data), 0);
      expect(bytes).toBeLessThanOrEqual(64 * 1024 + TARGET_BATCH_BYTES + 200);
      expect(gateway.framesFor("bytes=").at(-1)).toMatchObject({ type: "synced", more: true });
    });

    it("stops posting when the invocation's time runs low, after at least one event", async () => {
      await subscribe("slow=");
      const { gateway, resume } = limited({ reserveMs: 3000 });
      let left = 60;
      await resume({
        connectionId: "slow=",
        body: '{"action":"resume","afterSeq":-1}',
        remainingMs: () => (left-- > 0 ? 20_000 : 1000),
      });
      const frames = gateway.framesFor("slow=") as Frame[];
      const seqs = frames.flatMap((frame) => frame.events?.map((event) => event.seq) ?? []);
      expect(seqs.length).toBeGreaterThan(0);
      expect(seqs.length).toBeLessThan(500);
      expect(frames.at(-1)).toEqual({ type: "synced", trace_id: traceId, last_seq: seqs.at(-1), more: true });
    });

    it("refuses requests over the connection's budget with the time left in the window", async () => {
      await subscribe("flood=");
      let now = 1_000_000_003_000;
      const { gateway, resume } = limited({ requestsPerWindow: 3, windowMs: 10_000 }, () => now);
      for (let i = 0; i < 5; i++) {
        await resume({ connectionId: "flood=", body: '{"action":"resume","afterSeq":499}' });
      }
      expect(gateway.framesFor("flood=")).toEqual([
        ...Array.from({ length: 3 }, () => ({ type: "synced", trace_id: traceId, last_seq: 499 })),
        ...Array.from({ length: 2 }, () =>
          expect.objectContaining({ code: "rate_limited", retry_after_ms: 7000 }),
        ),
      ]);
      // A new window gives the connection its budget back; other connections never shared it.
      now += 7000;
      await resume({ connectionId: "flood=", body: '{"action":"resume","afterSeq":499}' });
      expect(gateway.framesFor("flood=").at(-1)).toMatchObject({ type: "synced" });
    });
  });

  it("tells of refused events first, before the history, so a client that stops at the terminal event reads it", async () => {
    const conflicted = "run-reused";
    const s = store();
    await s.putSubscription({
      traceId: conflicted,
      connectionId: "viewer=",
      connectedAt: 0,
      expiresAt: 9_999_999_999,
    });
    for (const seq of [0, 1]) await s.putEvent(traceEvent(seq, { trace_id: conflicted }), 9_999_999_999);
    const refused = [1, 0].map((seq) => ({ seq, event_id: crypto.randomUUID() }));
    for (const event of refused) await s.putConflict(conflicted, event, 9_999_999_999);
    const { gateway, resume } = resumeWith();
    await resume({ connectionId: "viewer=", body: '{"action":"resume","afterSeq":-1}' });
    const frames = gateway.framesFor("viewer=") as { type: string }[];
    expect(frames.map((frame) => frame.type)).toEqual(["conflicts", "events", "synced"]);
    expect(frames[0]).toEqual({
      type: "conflicts",
      trace_id: conflicted,
      count: 2,
      more: false,
      refused: [refused[1], refused[0]],
    });
  });

  it("counts at most 1,000 refused events in one read and says there are more, listing the first 100", async () => {
    const s = store();
    const flood = "run-reused-often";
    for (let from = 0; from < 1001; from += 50) {
      await Promise.all(
        Array.from({ length: Math.min(50, 1001 - from) }, (_, i) =>
          s.putConflict(flood, { seq: from + i, event_id: crypto.randomUUID() }, 9_999_999_999),
        ),
      );
    }
    const summary = await s.conflicts(flood);
    expect(summary).toMatchObject({ count: 1000, more: true });
    expect(summary.refused.map((event) => event.seq)).toEqual(Array.from({ length: 100 }, (_, i) => i));
  });

  it("keeps event keys zero-padded so seq 10 sorts after seq 9", () => {
    expect(keys.event(9) < keys.event(10)).toBe(true);
    expect(keys.event(42)).toBe("EVT#0000000042");
  });
});
