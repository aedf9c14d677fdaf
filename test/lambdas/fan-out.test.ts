import { describe, expect, it } from "vitest";
import {
  compareSequenceNumbers,
  type FanOutDeps,
  groupByTrace,
  makeFanOut,
} from "../../lambdas/fan-out/fan-out.js";
import type { StreamRecord } from "../../lambdas/fan-out/stream-records.js";
import { ConnectionPostError } from "../../lambdas/shared/connection-gateway.js";
import { keys } from "../../lib/table-design.js";
import { parseServerFrame, TARGET_BATCH_BYTES, type TraceEvent, utf8Bytes } from "../../protocol/index.js";
import { traceEvent } from "../helpers/local-stack.js";
import { recordingLog, recordingMetrics } from "../support/telemetry.js";

let sequence = 100;
/** The INSERT record DynamoDB Streams writes for a stored event (NEW_IMAGE). */
function insert(
  event: TraceEvent,
  overrides: Partial<{ eventName: string; payload: string }> = {},
): StreamRecord {
  return {
    eventName: overrides.eventName ?? "INSERT",
    dynamodb: {
      SequenceNumber: String(sequence++).padStart(21, "0"),
      Keys: { pk: { S: keys.trace(event.trace_id) }, sk: { S: keys.event(event.seq) } },
      NewImage: {
        expires_at: { N: "1900000000" },
        pk: { S: keys.trace(event.trace_id) },
        sk: { S: keys.event(event.seq) },
        payload: { S: overrides.payload ?? JSON.stringify(event) },
      },
    },
  };
}

interface Post {
  readonly connectionId: string;
  readonly frame: ReturnType<typeof parseServerFrame> & { events?: TraceEvent[] };
  readonly bytes: number;
}

function fakes(options: {
  subscribers: Record<string, string[]>;
  gone?: Set<string>;
  failing?: Map<string, number>;
  unreadable?: Set<string>;
}) {
  const posts: Post[] = [];
  const pruned: string[] = [];
  const summaries: { traceId: string; seqs: number[]; expiresAt: number }[] = [];
  const subscriberReads: string[] = [];
  const failing = options.failing ?? new Map<string, number>();
  const deps: FanOutDeps = {
    store: {
      async *subscribers(traceId) {
        subscriberReads.push(traceId);
        if (options.unreadable?.has(traceId)) throw new Error("ProvisionedThroughputExceededException");
        yield options.subscribers[traceId] ?? [];
      },
      async pruneSubscription(traceId, connectionId) {
        pruned.push(`${traceId}/${connectionId}`);
        return true;
      },
    },
    runIndex: {
      async recordEvents(events, expiresAt) {
        summaries.push({ traceId: events[0]!.trace_id, seqs: events.map((e) => e.seq), expiresAt });
        return undefined;
      },
    },
    postRun: async () => undefined,
    gateway: {
      async post(connectionId, data) {
        if (options.gone?.has(connectionId)) return "gone";
        const left = failing.get(connectionId);
        if (left !== undefined) {
          if (left === 0) throw new ConnectionPostError(connectionId, true, { cause: new Error("429") });
          failing.set(connectionId, left - 1);
        }
        posts.push({ connectionId, frame: parseServerFrame(data) as Post["frame"], bytes: utf8Bytes(data) });
        return "sent";
      },
    },
    log: recordingLog(),
    metrics: recordingMetrics(),
    now: () => Date.parse("2026-12-02T12:00:00Z"),
    concurrency: 4,
  };
  return { deps, posts, pruned, subscriberReads, summaries };
}

const seqsOf = (posts: readonly Post[], connectionId: string) =>
  posts
    .filter((post) => post.connectionId === connectionId)
    .flatMap((post) => post.frame.events?.map((e) => e.seq) ?? []);

describe("groupByTrace", () => {
  it("groups by trace in order of first appearance, ascending seq, each seq once, and keeps where each trace starts", () => {
    const a = [0, 1, 2].map((seq) => traceEvent("a", seq));
    const b = [0, 1].map((seq) => traceEvent("b", seq));
    const streamed = [
      { sequenceNumber: "1", event: a[1]! },
      { sequenceNumber: "2", event: b[0]! },
      { sequenceNumber: "3", event: a[0]! },
      { sequenceNumber: "4", event: a[1]! },
      { sequenceNumber: "5", event: b[1]! },
      { sequenceNumber: "6", event: a[2]! },
    ];
    const groups = groupByTrace(streamed);
    expect(
      groups.map((group) => [group.traceId, group.firstSequenceNumber, group.events.map((e) => e.seq)]),
    ).toEqual([
      ["a", "1", [0, 1, 2]],
      ["b", "2", [0, 1]],
    ]);
  });

  it("orders sequence numbers as numbers, not as text", () => {
    expect(["10", "9", "100"].sort(compareSequenceNumbers)).toEqual(["9", "10", "100"]);
  });
});

describe("the stream fan-out", () => {
  it("reads each trace's subscribers once and posts one events frame per connection, ascending seq", async () => {
    const { deps, posts, subscriberReads } = fakes({ subscribers: { a: ["c1", "c2"], b: ["c3"] } });
    const records = [
      ...[2, 0, 1].map((seq) => insert(traceEvent("a", seq))),
      ...[0, 1].map((seq) => insert(traceEvent("b", seq))),
    ];
    const answer = await makeFanOut(deps)(records);
    expect(answer).toEqual({ batchItemFailures: [] });
    expect(subscriberReads.sort()).toEqual(["a", "b"]);
    expect(posts).toHaveLength(3);
    for (const post of posts) expect(post.frame.type).toBe("events");
    expect(seqsOf(posts, "c1")).toEqual([0, 1, 2]);
    expect(seqsOf(posts, "c2")).toEqual([0, 1, 2]);
    expect(seqsOf(posts, "c3")).toEqual([0, 1]);
  });

  it("keeps each trace's run summary with one write per batch, with the items' TTL, and none for a trace it could not read", async () => {
    const { deps, summaries } = fakes({ subscribers: { a: ["c1"], b: ["c2"] }, unreadable: new Set(["b"]) });
    await makeFanOut(deps)([
      ...[1, 0, 2].map((seq) => insert(traceEvent("a", seq))),
      insert(traceEvent("b", 0)),
    ]);
    expect(summaries).toEqual([{ traceId: "a", seqs: [0, 1, 2], expiresAt: 1900000000 }]);
  });

  it("cuts a long batch into frames of at most 32 KiB, in ascending seq across frames", async () => {
    const { deps, posts } = fakes({ subscribers: { big: ["c1"] } });
    const padding = "x".repeat(3000);
    const events = Array.from({ length: 40 }, (_, seq) =>
      traceEvent("big", seq, { metadata: { agent: "planner", reason: padding } }),
    );
    await makeFanOut(deps)(events.map((event) => insert(event)));
    expect(posts.length).toBeGreaterThan(3);
    for (const post of posts) expect(post.bytes).toBeLessThanOrEqual(TARGET_BATCH_BYTES);
    expect(seqsOf(posts, "c1")).toEqual(events.map((event) => event.seq));
  });

  it("prunes a connection that is gone and posts it nothing more", async () => {
    const { deps, posts, pruned } = fakes({ subscribers: { a: ["gone", "live"] }, gone: new Set(["gone"]) });
    const padding = "y".repeat(20_000);
    const events = [0, 1, 2].map((seq) =>
      traceEvent("a", seq, { metadata: { agent: "planner", reason: padding } }),
    );
    await makeFanOut(deps)(events.map((event) => insert(event)));
    expect(pruned).toEqual(["a/gone"]);
    expect(seqsOf(posts, "gone")).toEqual([]);
    expect(seqsOf(posts, "live")).toEqual([0, 1, 2]);
  });

  it("gives a connection whose post failed no later frame (a gap it resumes, not a jump), and does not fail the batch", async () => {
    const padding = "z".repeat(20_000);
    const events = [0, 1, 2].map((seq) =>
      traceEvent("a", seq, { metadata: { agent: "planner", reason: padding } }),
    );
    const { deps, posts } = fakes({ subscribers: { a: ["flaky", "ok"] }, failing: new Map([["flaky", 1]]) });
    const answer = await makeFanOut(deps)(events.map((event) => insert(event)));
    expect(answer.batchItemFailures).toEqual([]);
    expect(seqsOf(posts, "flaky")).toEqual([0]);
    expect(seqsOf(posts, "ok")).toEqual([0, 1, 2]);
    expect((deps.metrics as ReturnType<typeof recordingMetrics>).counts.DeliveryThrottled).toBe(1);
  });

  it("reports a trace whose subscribers cannot be read as a batch item failure at its first record, and posts the others", async () => {
    const { deps, posts } = fakes({ subscribers: { a: ["c1"], b: ["c2"] }, unreadable: new Set(["b"]) });
    const records = [
      insert(traceEvent("a", 0)),
      insert(traceEvent("b", 0)),
      insert(traceEvent("a", 1)),
      insert(traceEvent("b", 1)),
    ];
    const answer = await makeFanOut(deps)(records);
    expect(answer.batchItemFailures).toEqual([{ itemIdentifier: records[1]!.dynamodb!.SequenceNumber }]);
    expect(seqsOf(posts, "c1")).toEqual([0, 1]);
    expect(seqsOf(posts, "c2")).toEqual([]);
  });

  it("skips records that are not INSERTs of event items, or whose payload does not match the keys, without failing", async () => {
    const { deps, posts } = fakes({ subscribers: { a: ["c1"] } });
    const event = traceEvent("a", 0);
    const other = traceEvent("a", 5);
    const subscription: StreamRecord = {
      eventName: "INSERT",
      dynamodb: { SequenceNumber: "7", Keys: { pk: { S: "TRACE#a" }, sk: { S: "CONN#x" } } },
    };
    const answer = await makeFanOut(deps)([
      insert(event, { eventName: "MODIFY" }),
      subscription,
      insert(event, { payload: JSON.stringify(other) }),
      insert(event, { payload: "{not json" }),
      insert(traceEvent("a", 1)),
    ]);
    expect(answer.batchItemFailures).toEqual([]);
    expect(seqsOf(posts, "c1")).toEqual([1]);
    expect((deps.metrics as ReturnType<typeof recordingMetrics>).counts.StreamRecordsSkipped).toBe(4);
  });
});
