/**
 * `kill -9` of the local stack right after PutEvents acknowledged a burst of events: with
 * `--data-dir`, every acknowledged event must be stored after a restart, as EventBridge delivers
 * every event it accepted. (Without the journal, most of a burst was lost: they waited in memory.)
 */
import { randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EventBridgeClient, PutEventsCommand } from "@aws-sdk/client-eventbridge";
import { afterAll, describe, expect, it } from "vitest";
import { traceEvent } from "../helpers/local-stack.js";
import { crashStacks, credentials, region, storedSeqs } from "./crash-stacks.js";

const EVENTS = 400;
const stacks = crashStacks();

let dataDir: string | undefined;

afterAll(async () => {
  stacks.killAll();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

async function startStack(dir: string) {
  return stacks.start(dir);
}

describe("kill -9 with --data-dir", () => {
  it("loses no acknowledged event: after a restart every one of them is stored", async () => {
    dataDir = await mkdtemp(join(tmpdir(), "trace-stream-crash-"));
    const first = await startStack(dataDir);
    const traceId = `crash-${randomUUID()}`;
    const eventBridge = new EventBridgeClient({ endpoint: first.eventBridge, region, credentials });
    const acknowledged: number[] = [];
    try {
      // 40 PutEvents calls of 10 at once: a burst the emitter cannot have stored when the kill comes.
      await Promise.all(
        Array.from({ length: EVENTS / 10 }, async (_, batch) => {
          const events = Array.from({ length: 10 }, (_, i) => traceEvent(traceId, batch * 10 + i));
          const output = await eventBridge.send(
            new PutEventsCommand({
              Entries: events.map((event) => ({
                EventBusName: "trace-stream",
                Source: "trace-stream",
                DetailType: event.event,
                Detail: JSON.stringify(event),
              })),
            }),
          );
          output.Entries?.forEach((entry, i) => {
            if (entry.EventId) acknowledged.push(batch * 10 + i);
          });
        }),
      );
    } finally {
      eventBridge.destroy();
    }
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
    const lost = acknowledged.filter((seq) => !stored.has(seq));
    console.info(`kill -9 right after ${EVENTS} acknowledged events: ${lost.length} lost`);
    expect(lost).toEqual([]);
    second.run.child.kill("SIGINT");
    expect((await second.run.done).code).toBe(0);
  }, 180_000);
});
