/**
 * `kill -9` of the local stack in stream mode (`--fan-out stream`), right after PutEvents
 * acknowledged a burst: with `--data-dir`, every acknowledged event must be stored after a
 * restart, and the table's stream must hold exactly one INSERT record for each, as DynamoDB
 * Streams records every write DynamoDB acknowledged. (The emulated stream is a write-ahead log:
 * a write cut between DynamoDB and its record is finished at start.) Then the restarted stack's
 * fan-out still posts: a viewer that subscribes after the restart sees the next events live.
 */
import { randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EventBridgeClient, PutEventsCommand } from "@aws-sdk/client-eventbridge";
import { afterAll, describe, expect, it } from "vitest";
import { mintToken } from "../../lambdas/authorizer/token.js";
import { LOCAL_DEV_SECRET } from "../../local/index.js";
import { openSubscriber, traceEvent } from "../helpers/local-stack.js";
import { readWholeStream } from "../support/dynamodb-streams.js";
import { crashStacks, credentials, region, storedSeqs } from "./crash-stacks.js";

const EVENTS = 400;
const stacks = crashStacks();

let dataDir: string | undefined;

afterAll(async () => {
  stacks.killAll();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

async function startStack(dir: string) {
  const stack = await stacks.start(dir, ["--fan-out", "stream"]);
  expect(stack.banner).toContain("Fan-out: stream");
  return stack;
}

async function put(endpoint: string, events: ReturnType<typeof traceEvent>[]): Promise<number[]> {
  const eventBridge = new EventBridgeClient({ endpoint, region, credentials });
  const acknowledged: number[] = [];
  try {
    await Promise.all(
      Array.from({ length: Math.ceil(events.length / 10) }, async (_, batch) => {
        const entries = events.slice(batch * 10, batch * 10 + 10);
        const output = await eventBridge.send(
          new PutEventsCommand({
            Entries: entries.map((event) => ({
              EventBusName: "trace-stream",
              Source: "trace-stream",
              DetailType: event.event,
              Detail: JSON.stringify(event),
            })),
          }),
        );
        output.Entries?.forEach((entry, i) => {
          if (entry.EventId) acknowledged.push((entries[i] as { seq: number }).seq);
        });
      }),
    );
  } finally {
    eventBridge.destroy();
  }
  return acknowledged;
}

describe("kill -9 with --data-dir in stream mode", () => {
  it("loses no event and no stream record: one INSERT per stored event after a restart, and the fan-out posts again", async () => {
    dataDir = await mkdtemp(join(tmpdir(), "trace-stream-crash-stream-"));
    const first = await startStack(dataDir);
    const traceId = `crash-stream-${randomUUID()}`;
    const acknowledged = await put(
      first.eventBridge,
      Array.from({ length: EVENTS }, (_, seq) => traceEvent(traceId, seq)),
    );
    first.run.child.kill("SIGKILL");
    await first.run.done;
    expect(acknowledged).toHaveLength(EVENTS);

    const second = await startStack(dataDir);
    const deadline = Date.now() + 60_000;
    let stored = await storedSeqs(second.dynamodb, second.table, traceId);
    while (stored.size < EVENTS && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      stored = await storedSeqs(second.dynamodb, second.table, traceId);
    }
    expect(acknowledged.filter((seq) => !stored.has(seq))).toEqual([]);

    const inserts = (await readWholeStream(second.dynamodb, second.table)).filter(
      (record) =>
        record.eventName === "INSERT" &&
        record.dynamodb.Keys.pk?.S === `TRACE#${traceId}` &&
        record.dynamodb.Keys.sk?.S?.startsWith("EVT#"),
    );
    const streamedSeqs = inserts
      .map((record) => Number(record.dynamodb.NewImage?.seq?.N))
      .sort((a, b) => a - b);
    console.info(
      `stream mode, kill -9 right after ${EVENTS} acknowledged events: ${EVENTS - stored.size} events and ${EVENTS - new Set(streamedSeqs).size} stream records lost`,
    );
    expect(streamedSeqs).toEqual(Array.from({ length: EVENTS }, (_, seq) => seq));

    // The restarted fan-out picks up where its checkpoint was and keeps posting.
    const token = await mintToken({ secret: LOCAL_DEV_SECRET, traces: [traceId] });
    const viewer = await openSubscriber(
      `${second.webSocket}?traceId=${encodeURIComponent(traceId)}&token=${encodeURIComponent(token)}`,
    );
    try {
      expect(await put(second.eventBridge, [traceEvent(traceId, EVENTS)])).toEqual([EVENTS]);
      await viewer.waitFor(
        (frame) =>
          frame.type === "events" &&
          (frame.events as { seq: number }[]).some((event) => event.seq === EVENTS),
        30_000,
      );
    } finally {
      await viewer.close();
    }
    second.run.child.kill("SIGINT");
    expect((await second.run.done).code).toBe(0);
  }, 240_000);
});
