import { randomBytes, randomUUID } from "node:crypto";
import { PutEventsCommand } from "@aws-sdk/client-eventbridge";
import { ScanCommand } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTrace } from "../../client/producer.js";
import { mintToken } from "../../lambdas/authorizer/token.js";
import { MAX_EVENT_BYTES } from "../../protocol/limits.js";
import { DynamoOutage, emitterWithFaults, fanOutWithFaults } from "../faults/emitter-with-faults.js";
import { openSubscriber, type Subscriber, startTestStack, type TestStack } from "../helpers/local-stack.js";
import { eventually } from "../soak/trace-watchers.js";
import { type CapturedOutput, captureOutput } from "./captured-output.js";

/** Secret values, each unique to this run, so finding one anywhere is a leak. */
async function makeSecrets() {
  const unique = () => randomBytes(12).toString("hex");
  const upper = () =>
    Array.from(randomBytes(16), (byte) => "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"[byte % 32]).join("");
  return {
    password: `pw-${unique()}`,
    apiKey: `sk_live_${unique()}`,
    clientSecret: `cs-${unique()}`,
    bearer: `tok${unique()}`,
    bearerInText: `tok${unique()}`,
    cookie: `sid${unique()}`,
    accessKeyId: `AKIA${upper()}`,
    secretAccessKey: `sak${unique()}`,
    nestedPassword: `nested-${unique()}`,
    privateKey: `pk-${unique()}`,
    sessionId: `sess-${unique()}`,
    jwt: await mintToken({ secret: `jwt-signing-secret-${unique()}`, traces: ["x"], subject: unique() }),
  };
}
type Secrets = Awaited<ReturnType<typeof makeSecrets>>;

/** Metadata that carries every secret: under secret-named keys, nested, in arrays, inside free text. */
function secretMetadata(secrets: Secrets) {
  return {
    tool: "http_get",
    call_id: randomUUID(),
    api_key: secrets.apiKey,
    password: secrets.password,
    clientSecret: secrets.clientSecret,
    headers: { Authorization: `Bearer ${secrets.bearer}`, Cookie: `sid=${secrets.cookie}` },
    note: `retried with Bearer ${secrets.bearerInText}; key ${secrets.accessKeyId} looked odd`,
    credentials: [{ aws_secret_access_key: secrets.secretAccessKey, region: "us-east-1" }],
    config: {
      db: { host: "db.internal", password: secrets.nestedPassword },
      private_key: secrets.privateKey,
    },
    "session-id": secrets.sessionId,
    response: `the service echoed ${secrets.jwt} back`,
    max_tokens: 512,
  };
}

/** Every string in `haystack` that contains a secret: the names of the secrets found. */
function leaks(secrets: Secrets, haystack: string): string[] {
  return Object.entries(secrets)
    .filter(([, value]) => haystack.includes(value))
    .map(([name]) => name);
}

/** Events a viewer got live: `event` frames, or in stream mode those inside `events` frames. */
function liveEvents(subscriber: Subscriber): unknown[] {
  return subscriber
    .frames()
    .flatMap((frame) =>
      frame.type === "event" ? [frame] : frame.type === "events" ? (frame.events as unknown[]) : [],
    );
}

describe("secrets put in event metadata", () => {
  let stack: TestStack;
  let output: CapturedOutput;
  let secrets: Secrets;
  const traceId = `security-secrets-${process.pid}`;
  let live: Subscriber;
  const outage = new DynamoOutage();

  beforeAll(async () => {
    output = captureOutput();
    secrets = await makeSecrets();
    stack = await startTestStack({
      logLevel: "debug",
      quiet: false,
      logSink: output.sink,
      // The outage reaches whichever function reads the subscribers in the stack's fan-out mode.
      handlers: {
        emitter: emitterWithFaults({ dynamo: (client) => outage.attach(client) }),
        "fan-out": fanOutWithFaults({ dynamo: (client) => outage.attach(client) }),
      },
    });
  });
  afterAll(async () => {
    await live?.close();
    await stack?.stop();
    output?.stop();
  });

  const putRaw = async (detail: unknown, detailType = "tool_call_start") => {
    const result = await stack.clients.eventBridge.send(
      new PutEventsCommand({
        Entries: [
          {
            EventBusName: stack.busName,
            Source: stack.source,
            DetailType: detailType,
            Detail: JSON.stringify(detail),
          },
        ],
      }),
    );
    expect(result.FailedEntryCount ?? 0).toBe(0);
  };

  const rawEvent = (seq: number, overrides: Record<string, unknown> = {}) => ({
    event_id: randomUUID(),
    trace_id: traceId,
    seq,
    event: "tool_call_start",
    timestamp: new Date().toISOString(),
    status: "pending",
    metadata: secretMetadata(secrets),
    schema_version: 1,
    ...overrides,
  });

  it("are redacted on every path: live frames, replay frames, the table, dead letters and logs", async () => {
    live = await openSubscriber(stack.connectUrl(traceId, await stack.mintToken(traceId)));
    live.send({ action: "resume", afterSeq: -1 });
    await live.waitFor((frame) => frame.type === "synced");

    // A producer that skips the SDK: the emitter's redactor is all that stands between.
    await putRaw(rawEvent(0));
    // The producer SDK (redacts before sending; the emitter redacts again).
    const trace = createTrace({
      traceId,
      nextSeq: 1,
      endpoint: stack.endpoints.eventBridge,
      busName: stack.busName,
      source: stack.source,
    });
    trace.toolCall("http_get", secretMetadata(secrets)).fail(new Error(`401 for Bearer ${secrets.bearer}`));
    await trace.close();
    // Events the emitter rejects, each carrying the secrets into its dead-letter message.
    await putRaw(rawEvent(-1));
    await putRaw(rawEvent(3, { event: "plan_created" }), "tool_call_start");
    await putRaw(
      rawEvent(4, { metadata: { ...secretMetadata(secrets), padding: "x".repeat(MAX_EVENT_BYTES) } }),
    );
    await stack.deliveriesIdle();

    await live.waitFor(() => liveEvents(live).length >= 3);
    const late = await openSubscriber(stack.connectUrl(traceId, await stack.mintToken(traceId)));
    late.send({ action: "resume", afterSeq: -1 });
    await late.waitFor((frame) => frame.type === "synced");
    await late.close();

    const liveFrames = live.messages.join("\n");
    const replayFrames = late.messages.join("\n");
    expect(liveEvents(live)).toHaveLength(3);
    expect(late.frames().filter((frame) => frame.type === "events")).toHaveLength(1);
    expect(liveFrames).toContain("[REDACTED]");
    expect(liveFrames).toContain('"max_tokens":512');
    expect(leaks(secrets, liveFrames)).toEqual([]);
    expect(leaks(secrets, replayFrames)).toEqual([]);

    const { Items = [] } = await stack.clients.dynamo.send(
      new ScanCommand({ TableName: stack.tableName, ConsistentRead: true }),
    );
    expect(Items.length).toBeGreaterThan(3);
    expect(leaks(secrets, JSON.stringify(Items))).toEqual([]);

    await eventually(() => stack.deadLetters().length >= 3, "three dead letters");
    const deadLetters = JSON.stringify(stack.deadLetters());
    expect(deadLetters).toContain("invalid_event");
    expect(deadLetters).toContain("event_too_large");
    expect(leaks(secrets, deadLetters)).toEqual([]);

    expect(output.lineCount()).toBeGreaterThan(10);
    expect(leaks(secrets, output.text())).toEqual([]);
  });

  // When an invocation keeps failing, Lambda's failure record carries the request payload: the raw
  // EventBridge event, before the emitter's redaction. It must be redacted before it is queued.
  it("are not in the emitter's on-failure queue when its invocations keep failing", async () => {
    // Reading the subscribers fails (a DynamoDB outage after the event is stored), so every
    // attempt fails and Lambda gives the invocation, raw event included, to the failure recorder.
    outage.failing.add("QueryCommand");
    try {
      await putRaw(rawEvent(10));
      await stack.deliveriesIdle();
    } finally {
      outage.failing.clear();
    }
    expect(stack.emitterFailures().length).toBeGreaterThan(0);
    expect(leaks(secrets, JSON.stringify(stack.emitterFailures()))).toEqual([]);
    expect(leaks(secrets, output.text())).toEqual([]);
  });
});
