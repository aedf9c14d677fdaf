/**
 * Floods from one client against the whole local stack: replay requests on a long trace, pings,
 * and more subscribers than a trace may have. Each must cost bounded work, be answered (never
 * silently dropped), and leave another viewer's live delivery whole and in order.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dynamoTraceStore } from "../../lambdas/shared/trace-store.js";
import { DEFAULT_STAGE_THROTTLE } from "../../lib/routes.js";
import {
  parseGatewayMessage,
  REPLAY_PAGE_BYTES,
  RESUME_REQUESTS_PER_WINDOW,
  utf8Bytes,
} from "../../protocol/index.js";
import {
  openSubscriber,
  putTraceEvents,
  type Subscriber,
  startTestStack,
  type TestStack,
  traceEvent,
  UpgradeRefused,
} from "../helpers/local-stack.js";

const LONG_TRACE = "attack-flood-long";
const EVENTS = 5000;
const RESUME_ALL = '{"action":"resume","afterSeq":-1}';
/** The largest frame API Gateway carries: a page's last frame may go over the page's bytes by one. */
const MAX_FRAME = 128 * 1024;

let stack: TestStack;
const sockets: Subscriber[] = [];

beforeAll(async () => {
  stack = await startTestStack({ maxSubscribersPerTrace: 5 });
  // 5,000 events of ~430 bytes (2.1 MB), as in the review; stored directly, as the emitter would.
  const store = dynamoTraceStore(stack.clients.dynamo, stack.tableName);
  for (let from = 0; from < EVENTS; from += 50) {
    await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        store.putEvent(
          traceEvent(LONG_TRACE, from + i, { metadata: { agent: "planner", note: "n".repeat(300) } }),
          9_999_999_999,
        ),
      ),
    );
  }
}, 120_000);

afterAll(async () => {
  for (const socket of sockets) await socket.close();
  await stack?.stop();
});

async function open(traceId: string): Promise<Subscriber> {
  const socket = await openSubscriber(stack.connectUrl(traceId, await stack.mintToken(traceId)));
  sockets.push(socket);
  return socket;
}

type Answer = "page" | "last_page" | "rate_limited" | "throttled";

/** What each message a flooder received was: a replay's end, a refusal, or part of a page. */
function answers(socket: Subscriber): { answers: Answer[]; bytes: number } {
  const found: Answer[] = [];
  let bytes = 0;
  for (const raw of socket.messages) {
    bytes += utf8Bytes(raw);
    const frame = JSON.parse(raw) as Record<string, unknown>;
    if (frame.type === "synced") found.push(frame.more ? "page" : "last_page");
    else if (frame.type === "error" && frame.code === "rate_limited") found.push("rate_limited");
    else if (parseGatewayMessage(raw)?.message === "Too Many Requests") found.push("throttled");
  }
  return { answers: found, bytes };
}

/** Seqs a viewer got live: `event` frames, or in stream mode `events` frames (not its replay). */
function liveSeqsOf(socket: Subscriber): unknown[] {
  const frames = socket.frames();
  const replayEnd = frames.findIndex((frame) => frame.type === "synced");
  return frames.flatMap((frame, i) => {
    if (frame.type === "event") return [frame.seq];
    if (frame.type === "events" && i > replayEnd && stack.fanOut === "stream")
      return (frame.events as { seq: number }[]).map((event) => event.seq);
    return [];
  });
}

describe("resume floods", () => {
  it("one 33-byte resume on a 5,000-event trace sends one bounded page, and says there is more", async () => {
    const socket = await open(LONG_TRACE);
    socket.send(RESUME_ALL);
    const synced = await socket.waitFor((frame) => frame.type === "synced", 30_000);
    const { bytes } = answers(socket);
    expect(synced.more).toBe(true);
    expect(bytes).toBeLessThanOrEqual(REPLAY_PAGE_BYTES + MAX_FRAME);
    // Before: 2.13 MB for 33 bytes (64,472x). The bound is on bytes out per request.
    const amplification = bytes / utf8Bytes(RESUME_ALL);
    expect(amplification).toBeLessThan((REPLAY_PAGE_BYTES + MAX_FRAME) / utf8Bytes(RESUME_ALL));
    console.info(`resume amplification: ${Math.round(amplification)}x (${bytes} bytes for 33)`);
  });

  it("200 resumes from one connection are each answered, cost at most its budget of pages, and another viewer's live events all arrive in order", async () => {
    const flooder = await open(LONG_TRACE);
    const live = "attack-flood-live";
    const viewer = await open(live);
    viewer.send(RESUME_ALL);
    await viewer.waitFor((frame) => frame.type === "synced");

    for (let i = 0; i < 200; i++) flooder.send(RESUME_ALL);
    await putTraceEvents(
      stack,
      Array.from({ length: 40 }, (_, seq) => traceEvent(live, seq)),
    );
    await flooder.waitFor(() => answers(flooder).answers.length >= 200, 60_000);
    const received = await viewer.waitFor(() => liveSeqsOf(viewer).length >= 40, 30_000);
    expect(received).toBeDefined();

    const { answers: got, bytes } = answers(flooder);
    expect(got).toHaveLength(200);
    const served = got.filter((answer) => answer === "page" || answer === "last_page").length;
    expect(served).toBeLessThanOrEqual(RESUME_REQUESTS_PER_WINDOW * 2);
    expect(got.filter((answer) => answer === "rate_limited" || answer === "throttled").length).toBe(
      200 - served,
    );
    // Before: 425 MB. Now at most the connection's budget of pages (two windows if the flood
    // straddles one), whatever the number of requests.
    expect(bytes).toBeLessThanOrEqual(served * (REPLAY_PAGE_BYTES + MAX_FRAME));
    console.info(`200 resumes: ${served} served, ${(bytes / 1e6).toFixed(1)} MB sent`);

    const liveSeqs = liveSeqsOf(viewer);
    expect(new Set(liveSeqs)).toEqual(new Set(Array.from({ length: 40 }, (_, seq) => seq)));
  }, 120_000);
});

describe("ping floods", () => {
  it("20,000 pings are each answered, by a pong or API Gateway's throttle message, and pongs stay within the route's bucket", async () => {
    const socket = await open("attack-flood-ping");
    const started = Date.now();
    for (let i = 0; i < 20_000; i++) socket.send('{"action":"ping"}');
    await socket.waitFor(() => socket.messages.length >= 20_000, 60_000);
    const seconds = (Date.now() - started) / 1000;
    const pongs = socket.messages.filter((raw) => raw === '{"type":"pong"}').length;
    const throttled = socket.messages.filter(
      (raw) => parseGatewayMessage(raw)?.message === "Too Many Requests",
    ).length;
    expect(pongs + throttled).toBe(20_000);
    const { rateLimit, burstLimit } = DEFAULT_STAGE_THROTTLE.default;
    expect(pongs).toBeLessThanOrEqual(burstLimit + Math.ceil(rateLimit * seconds) + 1);
    console.info(`20,000 pings: ${pongs} answered in ${seconds.toFixed(1)} s, ${throttled} throttled`);
  }, 90_000);
});

describe("subscriber cap", () => {
  it("refuses a trace's subscriber over the cap with 429, while other traces still connect", async () => {
    const traceId = "attack-flood-popular";
    for (let i = 0; i < 5; i++) await open(traceId);
    const refused = await open(traceId).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(refused).toBeInstanceOf(UpgradeRefused);
    expect((refused as UpgradeRefused).statusCode).toBe(429);
    await expect(open("attack-flood-other")).resolves.toBeDefined();
  });
});
