import { ScanCommand } from "@aws-sdk/lib-dynamodb";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ErrorCode } from "../../protocol/frames.js";
import { MAX_FRAME_BYTES, MAX_SEQ } from "../../protocol/limits.js";
import {
  openSubscriber,
  putTraceEvents,
  type Subscriber,
  startTestStack,
  type TestStack,
  traceEvent,
} from "../helpers/local-stack.js";

/**
 * Any text a client sends gets a clear answer through the real gateway and handlers: a pong, an
 * error frame with a known code, or (for a valid resume) the history and `synced`. Never the
 * gateway's "Internal server error" (a handler that threw), never silence, never a stored item.
 */

const ERROR_CODES: ReadonlySet<string> = new Set(ErrorCode.options);

type Answer =
  | { kind: "pong" }
  | { kind: "error"; code: string; message: string }
  | { kind: "synced"; events: number }
  | { kind: "gateway-error"; raw: string }
  | { kind: "unexpected"; raw: string };

function classify(raw: string): Answer | "more" {
  if (raw === "pong") return { kind: "pong" };
  let frame: Record<string, unknown>;
  try {
    frame = JSON.parse(raw) as Record<string, unknown>;
  } catch {
    return { kind: "unexpected", raw };
  }
  if (frame.type === "pong") return { kind: "pong" };
  if (frame.type === "error")
    return { kind: "error", code: String(frame.code), message: String(frame.message) };
  if (frame.type === "events") return "more";
  if (frame.type === "synced") return { kind: "synced", events: 0 };
  if (typeof frame.message === "string" && "connectionId" in frame) return { kind: "gateway-error", raw };
  return { kind: "unexpected", raw };
}

/** Sends one message and resolves with its answer (the frames up to its pong, error or synced). */
async function ask(subscriber: Subscriber, body: string): Promise<Answer> {
  subscriber.messages.splice(0);
  subscriber.send(body);
  let events = 0;
  let answer: Answer | undefined;
  await subscriber.waitFor((_frame, raw) => {
    const result = classify(raw);
    if (result === "more") {
      events++;
      return false;
    }
    answer = result.kind === "synced" ? { kind: "synced", events } : result;
    return true;
  }, 10_000);
  return answer as Answer;
}

const action = fc.oneof(
  fc.constantFrom("ping", "resume", "$default", "$connect", "$disconnect", "PING", "resume ", "", "toString"),
  fc.string({ maxLength: 20 }),
  fc.integer(),
  fc.constant(null),
  fc.array(fc.string(), { maxLength: 2 }),
);
const afterSeq = fc.oneof(
  { weight: 4, arbitrary: fc.integer({ min: -5, max: 50 }) },
  fc.constantFrom(-1, MAX_SEQ, MAX_SEQ + 1, -2, 0.5, Number.MAX_SAFE_INTEGER),
  fc.double(),
  fc.string({ maxLength: 10 }),
  fc.constant(null),
  fc.boolean(),
);
const messageObject = fc
  .record(
    { action, afterSeq, extra: fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 })) },
    {
      requiredKeys: [],
    },
  )
  .map(({ extra, ...known }) => JSON.stringify({ ...extra, ...known }));

/** Known actions with arbitrary fields beside them. */
const knownAction = fc
  .record({
    action: fc.constantFrom("resume", "ping"),
    afterSeq,
    extra: fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 }),
  })
  .map(({ extra, ...known }) => JSON.stringify({ ...extra, ...known }));

const bodies = fc.oneof(
  knownAction,
  fc.string({ maxLength: 300 }),
  fc.string({ unit: "binary", maxLength: 100 }),
  fc.json({ maxDepth: 3 }),
  messageObject,
  messageObject,
  fc.constantFrom("ping", " ping\n", "pong", "PING", "", "null", "[]", "{}", "true", '"ping"', "1e309"),
);

const MALICIOUS = [
  '{"__proto__":{"action":"resume","polluted":true}}',
  '{"action":"resume","afterSeq":-1,"__proto__":{"polluted":true}}',
  '{"constructor":{"prototype":{"polluted":true}},"action":"ping"}',
  '{"action":"resume","afterSeq":1e309}',
  '{"action":"resume","afterSeq":"-1"}',
  '{"action":"resume","afterSeq":-1,"afterSeq":"x"}',
  '{"action":"ping","action":"resume"}',
  `${"[".repeat(5000)}${"]".repeat(5000)}`,
  `{"action":"${"a".repeat(100_000)}"}`,
  '{"action":"resume","afterSeq":-1}\u0000',
  "\u0000\u0001\u0002",
  "<script>alert(1)</script>",
  "'; DROP TABLE trace_stream; --",
  '{"action":"resume","afterSeq":0,"traceId":"someone-else"}',
  `{"action":"resume","afterSeq":-1,"pad":"${"x".repeat(MAX_FRAME_BYTES - 60)}"}`,
];

describe("WebSocket message bodies, through the local gateway and handlers", () => {
  let stack: TestStack;
  let subscriber: Subscriber;
  const traceId = `fuzz-bodies-${process.pid}`;

  async function itemCount(): Promise<number> {
    const { Count = 0 } = await stack.clients.dynamo.send(
      new ScanCommand({ TableName: stack.tableName, Select: "COUNT", ConsistentRead: true }),
    );
    return Count;
  }

  function expectClear(answer: Answer, body: string) {
    if (answer.kind === "gateway-error" || answer.kind === "unexpected") {
      throw new Error(`body ${JSON.stringify(body.slice(0, 200))} got ${answer.raw.slice(0, 300)}`);
    }
    if (answer.kind === "error") {
      expect(ERROR_CODES.has(answer.code), `error code ${answer.code}`).toBe(true);
      expect(answer.message.length).toBeGreaterThan(0);
      expect(answer.message.length).toBeLessThan(2_000);
    }
  }

  beforeAll(async () => {
    stack = await startTestStack();
    await putTraceEvents(
      stack,
      [0, 1, 2].map((seq) => traceEvent(traceId, seq)),
    );
    await stack.deliveriesIdle();
    subscriber = await openSubscriber(stack.connectUrl(traceId, await stack.mintToken(traceId)));
  });
  afterAll(async () => {
    await subscriber?.close();
    await stack?.stop();
  });

  it("answers random and malformed bodies with a pong, an error frame or a replay, and stores nothing", async () => {
    const before = await itemCount();
    await fc.assert(
      fc.asyncProperty(bodies, async (body) => {
        expectClear(await ask(subscriber, body), body);
      }),
      { numRuns: 300 },
    );
    expect(subscriber.socket.readyState).toBe(subscriber.socket.OPEN);
    expect(await itemCount()).toBe(before);
  });

  it("answers hostile bodies clearly, without polluting prototypes", async () => {
    const before = await itemCount();
    for (const body of MALICIOUS) expectClear(await ask(subscriber, body), body);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(await itemCount()).toBe(before);
  });

  it("answers exactly what the protocol promises for the messages it knows", async () => {
    expect(await ask(subscriber, "ping")).toEqual({ kind: "pong" });
    expect(await ask(subscriber, '{"action":"ping"}')).toEqual({ kind: "pong" });
    expect(await ask(subscriber, '{"action":"resume","afterSeq":-1}')).toEqual({ kind: "synced", events: 1 });
    expect(await ask(subscriber, '{"action":"resume","afterSeq":2}')).toEqual({ kind: "synced", events: 0 });
    expect(await ask(subscriber, "hello")).toMatchObject({ kind: "error", code: "invalid_json" });
    expect(await ask(subscriber, '{"action":"dance"}')).toMatchObject({
      kind: "error",
      code: "unknown_action",
    });
    expect(await ask(subscriber, '{"action":"resume","afterSeq":"x"}')).toMatchObject({
      kind: "error",
      code: "invalid_message",
    });
  });

  it("closes with 1009 a message over 128 KiB, and with 1003 a binary frame", async () => {
    const big = await openSubscriber(stack.connectUrl(traceId, await stack.mintToken(traceId)));
    big.send("x".repeat(MAX_FRAME_BYTES + 1));
    expect((await big.closed()).code).toBe(1009);

    const binary = await openSubscriber(stack.connectUrl(traceId, await stack.mintToken(traceId)));
    binary.socket.send(Buffer.from('{"action":"ping"}'), { binary: true });
    expect((await binary.closed()).code).toBe(1003);
  });
});
