import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHandler as createFanOutHandler } from "../../lambdas/fan-out/handler.js";
import type { HandlerFactory, StreamFailureRecord } from "../../local/index.js";
import { TARGET_BATCH_BYTES, type TraceEvent, utf8Bytes } from "../../protocol/index.js";
import {
  openSubscriber,
  putTraceEvents,
  type Subscriber,
  startTestStack,
  type TestStack,
  traceEvent,
} from "../helpers/local-stack.js";
import { readWholeStream, streamsCall } from "../support/dynamodb-streams.js";

interface StreamEventJson {
  readonly Records: {
    eventName: string;
    dynamodb: { SequenceNumber: string; Keys: { sk: { S: string } }; NewImage?: { seq?: { N: string } } };
  }[];
}

/** The real fan-out, with every batch it is handed recorded, and a test's fault in front of it. */
function recordingFanOut(
  batches: StreamEventJson[],
  fault?: (event: StreamEventJson) => void,
): HandlerFactory {
  return (env, runtime) => {
    const real = createFanOutHandler(env, runtime);
    return async (event: unknown) => {
      batches.push(event as StreamEventJson);
      fault?.(event as StreamEventJson);
      return real(event as never);
    };
  };
}

const seqOf = (record: StreamEventJson["Records"][number]) => Number(record.dynamodb.NewImage?.seq?.N);

/** Every events frame's seqs, frame by frame. */
function framesOf(viewer: Subscriber): { seqs: number[]; bytes: number }[] {
  return viewer.messages
    .map((raw) => ({ raw, frame: JSON.parse(raw) as { type: string; events?: TraceEvent[] } }))
    .filter(({ frame }) => frame.type === "events")
    .map(({ raw, frame }) => ({
      seqs: (frame.events ?? []).map((event) => event.seq),
      bytes: utf8Bytes(raw),
    }));
}

async function watch(stack: TestStack, traceId: string): Promise<Subscriber> {
  return openSubscriber(stack.connectUrl(traceId, await stack.mintToken(traceId)));
}

const untilSeqs = (viewer: Subscriber, count: number) =>
  viewer.waitFor(() => new Set(framesOf(viewer).flatMap((frame) => frame.seqs)).size >= count, 20_000);

describe("stream fan-out on the local stack", () => {
  let stack: TestStack;
  const batches: StreamEventJson[] = [];

  beforeAll(async () => {
    stack = await startTestStack({
      fanOut: "stream",
      // A 1 s window gathers a burst into one batch, whatever the poll timing.
      streamEventSource: { maxBatchingWindowSeconds: 1 },
      handlers: { "fan-out": recordingFanOut(batches) },
    });
  });

  afterAll(async () => {
    await stack.stop();
  });

  it("posts a burst as few events frames, each ≤ 32 KiB and ascending, every seq exactly once", async () => {
    const traceId = "stream-burst";
    const viewer = await watch(stack, traceId);
    const produced = Array.from({ length: 120 }, (_, seq) =>
      traceEvent(traceId, seq, { metadata: { agent: "planner", reason: "r".repeat(600) } }),
    );
    await putTraceEvents(stack, produced);
    await stack.deliveriesIdle();
    await untilSeqs(viewer, produced.length);
    const frames = framesOf(viewer);
    for (const frame of frames) {
      expect(frame.bytes).toBeLessThanOrEqual(TARGET_BATCH_BYTES);
      expect(frame.seqs).toEqual([...frame.seqs].sort((a, b) => a - b));
    }
    const seqs = frames.flatMap((frame) => frame.seqs);
    expect(seqs.sort((a, b) => a - b)).toEqual(produced.map((event) => event.seq));
    // 120 events of ~1 KB: a handful of 32 KiB frames, not one post per event.
    expect(frames.length).toBeLessThan(produced.length / 4);
    expect(viewer.frames().filter((frame) => frame.type === "event")).toEqual([]);
    await viewer.close();
  });

  it("hands the fan-out only INSERTs of event items: subscriptions, run summaries and deletes never invoke it", async () => {
    const traceId = "stream-filter";
    const viewer = await watch(stack, traceId);
    await putTraceEvents(stack, [traceEvent(traceId, 0), traceEvent(traceId, 1)]);
    await stack.deliveriesIdle();
    await untilSeqs(viewer, 2);
    await viewer.close();
    await stack.deliveriesIdle();
    const records = batches.flatMap((batch) => batch.Records);
    expect(records.length).toBeGreaterThan(0);
    for (const record of records) {
      expect(record.eventName).toBe("INSERT");
      expect(record.dynamodb.Keys.sk.S).toMatch(/^EVT#/);
    }
    // The same writes are all on the stream: subscriptions (CONN#), run summaries (RUN), and the
    // subscription's removal once $disconnect ran.
    const kindsOnStream = async () =>
      new Set(
        (await readWholeStream(stack.endpoints.dynamodb, stack.tableName)).map(
          (record) => `${record.eventName}:${record.dynamodb.Keys.sk?.S?.split("#")[0]}`,
        ),
      );
    let kinds = await kindsOnStream();
    while (!kinds.has("REMOVE:CONN")) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      kinds = await kindsOnStream();
    }
    expect([...kinds]).toEqual(
      expect.arrayContaining(["INSERT:EVT", "INSERT:CONN", "INSERT:RUN", "REMOVE:CONN"]),
    );
  });

  it("serves the Streams API and refuses what DynamoDB Streams refuses", async () => {
    const endpoint = stack.endpoints.dynamodb;
    const { Streams } = (await streamsCall(endpoint, "ListStreams", {})) as {
      Streams: { StreamArn: string }[];
    };
    expect(Streams.map((stream) => stream.StreamArn)).toEqual([stack.streamArn]);
    const { StreamDescription } = (await streamsCall(endpoint, "DescribeStream", {
      StreamArn: stack.streamArn,
    })) as {
      StreamDescription: { StreamViewType: string; StreamStatus: string; Shards: unknown[] };
    };
    expect(StreamDescription).toMatchObject({ StreamViewType: "NEW_IMAGE", StreamStatus: "ENABLED" });
    expect(StreamDescription.Shards).toHaveLength(4);
    await expect(streamsCall(endpoint, "GetRecords", { ShardIterator: "not-an-iterator" })).rejects.toThrow(
      /400.*ValidationException/,
    );
    await expect(
      streamsCall(endpoint, "DescribeStream", { StreamArn: "arn:aws:dynamodb:x" }),
    ).rejects.toThrow(/400.*ResourceNotFoundException/);
  });
});

describe("a partial batch response on the local stack", () => {
  let stack: TestStack;
  const batches: StreamEventJson[] = [];
  let reported = false;

  beforeAll(async () => {
    stack = await startTestStack({
      fanOut: "stream",
      streamEventSource: { maxBatchingWindowSeconds: 1, shards: 1 },
      handlers: {
        // The first batch answers that its records from the fourth on failed (without posting).
        "fan-out": (env, runtime) => {
          const real = createFanOutHandler(env, runtime);
          return async (event: unknown) => {
            const batch = event as StreamEventJson;
            batches.push(batch);
            if (!reported && batch.Records.length >= 4) {
              reported = true;
              const failed = batch.Records[3]!.dynamodb.SequenceNumber;
              await real({ Records: batch.Records.slice(0, 3) } as never);
              return { batchItemFailures: [{ itemIdentifier: failed }] };
            }
            return real(event as never);
          };
        },
      },
    });
  });

  afterAll(async () => {
    await stack.stop();
  });

  it("retries from the lowest failed record only, and every event reaches the viewer", async () => {
    const traceId = "stream-partial";
    const viewer = await watch(stack, traceId);
    const produced = Array.from({ length: 8 }, (_, seq) => traceEvent(traceId, seq));
    await putTraceEvents(stack, produced);
    await stack.deliveriesIdle();
    await untilSeqs(viewer, produced.length);
    const first = batches[0]!.Records;
    const retry = batches[1]!.Records;
    expect(first.length).toBeGreaterThanOrEqual(4);
    expect(retry.map((record) => record.dynamodb.SequenceNumber)).toEqual(
      first.slice(3).map((record) => record.dynamodb.SequenceNumber),
    );
    const seqs = framesOf(viewer).flatMap((frame) => frame.seqs);
    expect(seqs.sort((a, b) => a - b)).toEqual(produced.map((event) => event.seq));
    expect(stack.emitterFailures()).toEqual([]);
    await viewer.close();
  });
});

describe("stream fan-out failures on the local stack", () => {
  let stack: TestStack;
  const batches: StreamEventJson[] = [];
  const POISON = 7;

  beforeAll(async () => {
    stack = await startTestStack({
      fanOut: "stream",
      streamEventSource: { maxBatchingWindowSeconds: 1, shards: 1, retryAttempts: 2 },
      handlers: {
        "fan-out": recordingFanOut(batches, (event) => {
          if (event.Records.some((record) => seqOf(record) === POISON)) throw new Error("poisoned record");
        }),
      },
    });
  });

  afterAll(async () => {
    await stack.stop();
  });

  it("bisects a failing batch down to the record that fails, sends its place to the failure queue, and posts every other event", async () => {
    const traceId = "stream-poison";
    const viewer = await watch(stack, traceId);
    const produced = Array.from({ length: 16 }, (_, seq) => traceEvent(traceId, seq));
    await putTraceEvents(stack, produced);
    await stack.deliveriesIdle();
    const others = produced.map((event) => event.seq).filter((seq) => seq !== POISON);
    await untilSeqs(viewer, others.length);
    expect(
      framesOf(viewer)
        .flatMap((frame) => frame.seqs)
        .sort((a, b) => a - b),
    ).toEqual(others);

    // The batch was split in halves until the poisoned record was alone, then retried twice.
    const sizes = batches.map((batch) => batch.Records.length);
    expect(sizes[0]).toBeGreaterThan(1);
    const alone = batches.filter(
      (batch) => batch.Records.length === 1 && seqOf(batch.Records[0]!) === POISON,
    );
    expect(alone).toHaveLength(3);
    const failures = stack.emitterFailures().map((message) => message.payload as StreamFailureRecord);
    expect(failures).toHaveLength(1);
    const poisoned = alone[0]!.Records[0]!.dynamodb.SequenceNumber;
    expect(failures[0]).toMatchObject({
      requestContext: { condition: "RetryAttemptsExhausted", approximateInvokeCount: 3 },
      DDBStreamBatchInfo: {
        batchSize: 1,
        startSequenceNumber: poisoned,
        endSequenceNumber: poisoned,
        streamArn: stack.streamArn,
      },
    });
    // The record holds no event data: only its place in the stream.
    expect(JSON.stringify(failures[0])).not.toContain("planner");
    await viewer.close();
  });
});
