/**
 * Every secret of the redaction corpus (protocol/test-vectors/redaction.json), put through the
 * local stack on every path an event can take: accepted (table, live frame, replay), sent by the
 * producer SDK, rejected (dead-letter queue), nested too deep, and given up after failed fan-outs
 * (Lambda's failure record, through the failure recorder, to the failure queue). Not one corpus
 * secret may appear in a table item, a frame, a queue message or a log line.
 */
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { PutEventsCommand } from "@aws-sdk/client-eventbridge";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTrace } from "../../client/producer.js";
import { MAX_EVENT_BYTES } from "../../protocol/limits.js";
import { DynamoOutage, emitterWithFaults, fanOutWithFaults } from "../faults/emitter-with-faults.js";
import { openSubscriber } from "../helpers/local-stack.js";
import { eventually } from "../soak/trace-watchers.js";
import { type AttackStack, leaks, rawEvent, startAttackStack } from "./attack-stack.js";

interface Vectors {
  readonly secret_keys: readonly string[];
  readonly strings: readonly { id: string; input: string; secrets: readonly string[] }[];
  readonly harmless_strings: readonly string[];
  readonly documents: readonly { input: unknown; secrets: readonly string[] }[];
}
const vectors = JSON.parse(
  readFileSync(new URL("../../protocol/test-vectors/redaction.json", import.meta.url), "utf8"),
) as Vectors;

const run = randomBytes(6).toString("hex");
/** A value per secret key, unique to this run, so finding one anywhere is a leak. */
const keyValues = vectors.secret_keys.map((key, index) => [key, `corpus-${run}-${index}`] as const);
const corpusSecrets = [
  ...vectors.strings.flatMap((vector) => vector.secrets),
  ...vectors.documents.flatMap((document) => document.secrets),
  ...keyValues.map(([, value]) => value),
];

/** Metadata holding the whole corpus: free text under plain keys, values under secret keys. */
function corpusMetadata(): Record<string, unknown> {
  return {
    tool: "corpus",
    max_tokens: 512,
    texts: Object.fromEntries(vectors.strings.map((vector) => [vector.id, vector.input])),
    harmless: vectors.harmless_strings,
    documents: vectors.documents.map((document) => document.input),
    keys: Object.fromEntries(keyValues),
  };
}

describe("the redaction corpus against the local stack", () => {
  let attack: AttackStack;
  const outage = new DynamoOutage();
  const traceId = `attack-corpus-${process.pid}`;

  beforeAll(async () => {
    attack = await startAttackStack({
      // The outage reaches whichever function reads the subscribers in the stack's fan-out mode.
      handlers: {
        emitter: emitterWithFaults({ dynamo: (client) => outage.attach(client) }),
        "fan-out": fanOutWithFaults({ dynamo: (client) => outage.attach(client) }),
      },
    });
  });
  afterAll(() => attack?.stop());

  it("leaves no corpus secret in the table, frames, queues or logs, on any path", async () => {
    expect(corpusSecrets.length).toBeGreaterThan(120);
    const viewer = await attack.watch(traceId);

    // Accepted, from a producer that skips the SDK: the emitter's redactor is all that stands between.
    expect(await attack.put(rawEvent(traceId, 0, corpusMetadata()))).toEqual({ failed: false });
    // Accepted, through the producer SDK (redacts before sending; the emitter redacts again).
    const trace = createTrace({
      traceId,
      nextSeq: 1,
      endpoint: attack.stack.endpoints.eventBridge,
      busName: attack.stack.busName,
      source: attack.stack.source,
    });
    trace.emit("tool_call_start", corpusMetadata() as never);
    await trace.close();
    // Rejected: invalid, mismatched detail-type, too large, nested too deep.
    await attack.put(rawEvent(traceId, -1, corpusMetadata()));
    await attack.put(rawEvent(traceId, 2, corpusMetadata()), "plan_failed");
    await attack.put(rawEvent(traceId, 3, { ...corpusMetadata(), padding: "x".repeat(MAX_EVENT_BYTES) }));
    let deep: unknown = corpusMetadata();
    for (let level = 0; level < 40; level++) deep = { level: deep };
    await attack.put(rawEvent(traceId, 4, deep));
    // Secrets in the envelope itself: a detail-type no rule matches, an unknown bus.
    const short = vectors.strings.filter((vector) => vector.input.length <= 128);
    for (const vector of short) await attack.put(rawEvent(traceId, 9, { tool: "envelope" }), vector.input);
    await attack.stack.clients.eventBridge.send(
      new PutEventsCommand({
        Entries: short.slice(0, 10).map((vector) => ({
          EventBusName: `bus ${vector.input}`,
          Source: attack.stack.source,
          DetailType: "tool_call_start",
          Detail: "{}",
        })),
      }),
    );
    // Secrets in WebSocket messages (an answer goes only to the sender, which is not watched here).
    const sender = await openSubscriber(
      attack.stack.connectUrl(traceId, await attack.stack.mintToken(traceId)),
    );
    for (const vector of vectors.strings) {
      sender.send(vector.input);
      sender.send({ action: vector.input });
      sender.send({ action: "resume", afterSeq: vector.input });
    }
    sender.send({ action: "ping" });
    await sender.waitFor((frame) => frame.type === "pong");
    await sender.close();
    await attack.stack.deliveriesIdle();
    await eventually(() => attack.stack.deadLetters().length >= 4, "four dead letters", 30_000);

    // Given up: reading the subscribers keeps failing (the event is stored first), so Lambda's
    // failure record is queued (direct mode: with the raw event, redacted by the recorder; stream
    // mode: the batch's place in the stream only).
    outage.failing.add("QueryCommand");
    try {
      await attack.put(rawEvent(traceId, 5, corpusMetadata()));
      await attack.stack.deliveriesIdle();
    } finally {
      outage.failing.clear();
    }
    expect(attack.stack.emitterFailures()).toHaveLength(1);

    await viewer.waitFor(
      () =>
        viewer
          .frames()
          .flatMap((frame) =>
            frame.type === "event" ? [frame] : frame.type === "events" ? (frame.events as unknown[]) : [],
          ).length >= 2,
    );
    const late = await attack.watch(traceId);
    expect(late.frames().filter((frame) => frame.type === "events").length).toBeGreaterThan(0);

    const places = await attack.places();
    expect(leaks(places, corpusSecrets)).toEqual({});
    // What is not a secret still arrives.
    expect(places.frames).toContain('"max_tokens":512');
    for (const text of vectors.harmless_strings) expect(places.frames).toContain(JSON.stringify(text));
    expect(places.deadLetters).toContain("nests deeper than 32 levels");
  });
});
