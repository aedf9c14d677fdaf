import { randomUUID } from "node:crypto";
import { PutEventsCommand, type PutEventsRequestEntry } from "@aws-sdk/client-eventbridge";
import { PurgeQueueCommand } from "@aws-sdk/client-sqs";
import type { Context } from "aws-lambda";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { EventBridgeEnvelope } from "../../local/index.js";
import { putEventsEntrySize } from "../../local/index.js";
import { MAX_PUT_EVENTS_BYTES } from "../../protocol/limits.js";
import { startTestStack, type TestStack, traceEvent } from "../helpers/local-stack.js";

/** The emitter is replaced by a recorder that can be told to fail. */
const received: EventBridgeEnvelope[] = [];
const requestIds: string[] = [];
let failuresLeft = 0;
let stack: TestStack;

beforeAll(async () => {
  stack = await startTestStack({
    handlers: {
      emitter: () => async (event: unknown, context: Context) => {
        requestIds.push(context.awsRequestId);
        if (failuresLeft > 0) {
          failuresLeft--;
          throw new Error("emitter is down");
        }
        received.push(event as EventBridgeEnvelope);
      },
    },
  });
});
afterAll(() => stack.stop());
beforeEach(async () => {
  await stack.deliveriesIdle();
  received.length = 0;
  requestIds.length = 0;
  failuresLeft = 0;
  stack.faults.eventBridge.reset();
  stack.faults.eventBridge.reorderMaxHoldMs = 50;
  await stack.clients.sqs.send(new PurgeQueueCommand({ QueueUrl: stack.endpoints.deadLetterQueueUrl }));
  await stack.clients.sqs.send(new PurgeQueueCommand({ QueueUrl: stack.endpoints.emitterFailureQueueUrl }));
});

const entry = (overrides: Partial<PutEventsRequestEntry> = {}, seq = 0): PutEventsRequestEntry => {
  const event = traceEvent("bus-test", seq);
  return {
    EventBusName: stack.busName,
    Source: stack.source,
    DetailType: event.event,
    Detail: JSON.stringify(event),
    ...overrides,
  };
};

const put = (entries: PutEventsRequestEntry[]) =>
  stack.clients.eventBridge.send(new PutEventsCommand({ Entries: entries }));

async function rejection(entries: PutEventsRequestEntry[]) {
  try {
    await put(entries);
  } catch (error) {
    return error as Error & { $metadata: { httpStatusCode?: number } };
  }
  throw new Error("PutEvents succeeded");
}

describe("PutEvents validation", () => {
  it("answers 400 ValidationException for an empty entry list", async () => {
    const error = await rejection([]);
    expect(error.name).toBe("ValidationException");
    expect(error.$metadata.httpStatusCode).toBe(400);
    expect(error.message).toMatch(/greater than or equal to 1/);
  });

  it("answers 400 ValidationException for more than 10 entries", async () => {
    const error = await rejection(Array.from({ length: 11 }, (_, i) => entry({}, i)));
    expect(error.name).toBe("ValidationException");
    expect(error.message).toMatch(/less than or equal to 10/);
  });

  it("computes entry size as AWS does: 14 for Time, UTF-8 bytes of Source, DetailType, Detail and Resources", () => {
    expect(putEventsEntrySize({ Source: "ab", DetailType: "cd", Detail: '{"é":1}' })).toBe(2 + 2 + 8);
    expect(
      putEventsEntrySize({ Time: 0, Source: "a", DetailType: "b", Detail: "{}", Resources: ["xyz", "€"] }),
    ).toBe(14 + 1 + 1 + 2 + 3 + 3);
  });

  it("accepts a request of exactly 256 KB and refuses one byte more with ValidationException", async () => {
    const base = { EventBusName: "other-bus", Source: "s", DetailType: "d" };
    const fill = (size: number) => `{"x":"${"a".repeat(size - 8)}"}`;
    const perEntry = MAX_PUT_EVENTS_BYTES / 4;
    const entries = Array.from({ length: 4 }, () => ({ ...base, Detail: fill(perEntry - 2) }));
    expect(entries.reduce((sum, e) => sum + putEventsEntrySize(e), 0)).toBe(MAX_PUT_EVENTS_BYTES);
    await expect(put(entries)).resolves.toMatchObject({ FailedEntryCount: 4 });

    entries[0] = { ...base, Detail: fill(perEntry - 1) };
    const error = await rejection(entries);
    expect(error.name).toBe("ValidationException");
    expect(error.message).toBe("Total size of the entries in the request is over the limit.");
  });

  it("fails bad entries one by one with AWS's codes while the good ones are accepted", async () => {
    const output = await put([
      entry({}, 0),
      entry({ Source: undefined }),
      entry({ DetailType: undefined }),
      entry({ Detail: undefined }),
      entry({ Detail: "not json" }),
      entry({ Detail: '["an","array"]' }),
      entry({ Detail: '"a string"' }),
      entry({ EventBusName: "no-such-bus" }),
      entry({}, 1),
    ]);
    expect(output.FailedEntryCount).toBe(7);
    const entries = output.Entries ?? [];
    expect(entries[0]?.EventId).toMatch(/^[0-9a-f-]{36}$/);
    expect(entries.slice(1, 8)).toEqual([
      {
        ErrorCode: "InvalidArgument",
        ErrorMessage: "Parameter Source is not valid. Reason: Source is a required argument.",
      },
      {
        ErrorCode: "InvalidArgument",
        ErrorMessage: "Parameter DetailType is not valid. Reason: DetailType is a required argument.",
      },
      {
        ErrorCode: "InvalidArgument",
        ErrorMessage: "Parameter Detail is not valid. Reason: Detail is a required argument.",
      },
      { ErrorCode: "MalformedDetail", ErrorMessage: "Detail is malformed." },
      { ErrorCode: "MalformedDetail", ErrorMessage: "Detail is malformed." },
      { ErrorCode: "MalformedDetail", ErrorMessage: "Detail is malformed." },
      { ErrorCode: "ResourceNotFoundException", ErrorMessage: "Event bus no-such-bus does not exist." },
    ]);
    expect(entries[8]?.EventId).toMatch(/^[0-9a-f-]{36}$/);
    await stack.deliveriesIdle();
    expect(received.map((envelope) => envelope.id).sort()).toEqual(
      [entries[0]?.EventId, entries[8]?.EventId].sort(),
    );
  });

  it("accepts the bus by ARN, and accepts but does not route events on the default bus", async () => {
    const arn = `arn:aws:events:${stack.region}:${stack.accountId}:event-bus/${stack.busName}`;
    const output = await put([entry({ EventBusName: arn }, 0), entry({ EventBusName: undefined }, 1)]);
    expect(output.FailedEntryCount).toBe(0);
    await stack.deliveriesIdle();
    expect(received.map((envelope) => envelope.id)).toEqual([output.Entries?.[0]?.EventId]);
  });

  it("accepts events the rule does not match (another source) without delivering them", async () => {
    const output = await put([entry({ Source: "another-app" })]);
    expect(output.FailedEntryCount).toBe(0);
    await stack.deliveriesIdle();
    expect(received).toEqual([]);
  });

  it("delivers an unknown detail type from the source, so the emitter can dead-letter it with a reason", async () => {
    const output = await put([entry({ DetailType: "not_a_trace_event" })]);
    expect(output.FailedEntryCount).toBe(0);
    await stack.deliveriesIdle();
    expect(received.map((event) => event["detail-type"])).toEqual(["not_a_trace_event"]);
  });
});

describe("delivery to the emitter", () => {
  it("delivers the real envelope: version 0, the entry's id, second-precision time, account, region, parsed detail", async () => {
    const event = traceEvent("envelope-test", 4);
    stack.clock.set(Date.parse("2026-03-01T10:20:30.456Z"));
    const output = await put([
      entry({
        Detail: JSON.stringify(event),
        DetailType: event.event,
        Resources: ["arn:aws:states:::run/1"],
      }),
    ]);
    stack.clock.set(Date.now());
    await stack.deliveriesIdle();
    expect(received).toEqual([
      {
        version: "0",
        id: output.Entries?.[0]?.EventId,
        "detail-type": "route_decision",
        source: "trace-stream",
        account: "000000000000",
        time: "2026-03-01T10:20:30Z",
        region: "us-east-1",
        resources: ["arn:aws:states:::run/1"],
        detail: event,
      },
    ]);
  });

  it("uses the entry's Time when given", async () => {
    await put([entry({ Time: new Date("2025-12-31T23:59:59.900Z") })]);
    await stack.deliveriesIdle();
    expect(received[0]?.time).toBe("2025-12-31T23:59:59Z");
  });

  it("returns from PutEvents before the target has run", async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const slow = await startTestStack({ handlers: { emitter: () => async () => gate } });
    try {
      const output = await slow.clients.eventBridge.send(
        new PutEventsCommand({ Entries: [{ ...entry(), EventBusName: slow.busName }] }),
      );
      expect(output.FailedEntryCount).toBe(0);
      let idle = false;
      const settled = slow.deliveriesIdle().then(() => {
        idle = true;
      });
      await new Promise((resolve) => setImmediate(resolve));
      expect(idle).toBe(false);
      release();
      await settled;
    } finally {
      release();
      await slow.stop();
    }
  });

  it("invokes the emitter asynchronously: Lambda retries a function error with the same request id", async () => {
    failuresLeft = 2;
    const output = await put([entry()]);
    await stack.deliveriesIdle();
    expect(received.map((envelope) => envelope.id)).toEqual([output.Entries?.[0]?.EventId]);
    expect(requestIds).toHaveLength(3);
    expect(new Set(requestIds).size).toBe(1);
    expect(stack.deadLetters()).toEqual([]);
    expect(stack.emitterFailures()).toEqual([]);
  });

  it("sends an event whose invocations keep failing to the emitter's on-failure queue, as Lambda does", async () => {
    failuresLeft = 1_000;
    const output = await put([entry()]);
    await stack.deliveriesIdle();
    failuresLeft = 0;
    expect(received).toEqual([]);
    expect(stack.deadLetters()).toEqual([]);
    const failures = stack.emitterFailures();
    expect(failures).toHaveLength(1);
    expect(failures[0]?.payload).toMatchObject({
      version: "1.0",
      requestContext: {
        requestId: requestIds[0],
        functionArn: "arn:aws:lambda:us-east-1:000000000000:function:trace-stream-local-emitter:$LATEST",
        condition: "RetriesExhausted",
        approximateInvokeCount: 3,
      },
      requestPayload: { id: output.Entries?.[0]?.EventId, source: "trace-stream" },
      responseContext: { statusCode: 200, executedVersion: "$LATEST", functionError: "Unhandled" },
      responsePayload: { errorType: "Error", errorMessage: "emitter is down" },
    });
  });

  it("retries an invocation that fails and delivers once the target can be reached", async () => {
    stack.faults.eventBridge.failNext = 3;
    const output = await put([entry()]);
    await stack.deliveriesIdle();
    expect(received.map((envelope) => envelope.id)).toEqual([output.Entries?.[0]?.EventId]);
    expect(stack.deadLetters()).toEqual([]);
  });

  it("dead-letters an event it cannot invoke the target for, with EventBridge's DLQ attributes", async () => {
    stack.faults.eventBridge.failNext = 1_000;
    const output = await put([entry()]);
    await stack.deliveriesIdle();
    stack.faults.eventBridge.failNext = 0;
    expect(received).toEqual([]);
    const letters = stack.deadLetters();
    expect(letters).toHaveLength(1);
    expect(letters[0]?.payload).toMatchObject({ id: output.Entries?.[0]?.EventId, source: "trace-stream" });
    expect(letters[0]?.attributes).toEqual({
      ERROR_CODE: "SDK_CLIENT_ERROR",
      ERROR_MESSAGE:
        "TargetUnreachable: could not invoke arn:aws:lambda:us-east-1:000000000000:function:trace-stream-local-emitter (failNext fault)",
      EXHAUSTED_RETRY_CONDITION: "MaximumRetryAttempts",
      RETRY_ATTEMPTS: "8",
      RULE_ARN: "arn:aws:events:us-east-1:000000000000:rule/trace-stream/trace-stream-to-emitter",
      TARGET_ARN: "arn:aws:lambda:us-east-1:000000000000:function:trace-stream-local-emitter",
    });
  });

  it("gives up on events older than the maximum event age, on both retry layers", async () => {
    const aged = await startTestStack({
      clock: stack.clock,
      retry: { maxEventAgeSeconds: 60 },
      asyncRetry: { maxEventAgeSeconds: 60 },
      handlers: {
        emitter: () => async () => {
          stack.clock.advance(61_000);
          throw new Error("slow and failing");
        },
      },
    });
    try {
      const send = (entries: PutEventsRequestEntry[]) =>
        aged.clients.eventBridge.send(
          new PutEventsCommand({ Entries: entries.map((e) => ({ ...e, EventBusName: aged.busName })) }),
        );
      await send([entry()]);
      await aged.deliveriesIdle();
      expect(aged.emitterFailures().map((failure) => failure.payload)).toMatchObject([
        { requestContext: { condition: "EventAgeExceeded", approximateInvokeCount: 1 } },
      ]);

      aged.faults.eventBridge.failNext = 1_000;
      await send([entry()]);
      stack.clock.advance(61_000);
      await aged.deliveriesIdle();
      expect(aged.deadLetters().map((letter) => letter.attributes.EXHAUSTED_RETRY_CONDITION)).toEqual([
        "MaximumEventAgeInSeconds",
      ]);
    } finally {
      await aged.stop();
    }
  });
});

describe("delivery faults", () => {
  it("delivers the next N events twice with the same event id", async () => {
    stack.faults.eventBridge.duplicateNext = 2;
    const output = await put([entry({}, 0), entry({}, 1), entry({}, 2)]);
    await stack.deliveriesIdle();
    const ids = (output.Entries ?? []).map((result) => result.EventId);
    const counts = ids.map((id) => received.filter((envelope) => envelope.id === id).length);
    expect(counts).toEqual([2, 2, 1]);
    expect(stack.faults.eventBridge.duplicateNext).toBe(0);
  });

  it("duplicates every event when the probability is 1", async () => {
    stack.faults.eventBridge.duplicateProbability = 1;
    await put([entry({}, 0), entry({}, 1)]);
    await stack.deliveriesIdle();
    expect(received).toHaveLength(4);
  });

  it("reorders a window of deliveries but delivers each event", async () => {
    stack.faults.eventBridge.reorderWindow = 10;
    const entries = Array.from({ length: 10 }, (_, seq) =>
      entry({ Detail: JSON.stringify(traceEvent("reorder", seq)) }, seq),
    );
    await put(entries);
    await stack.deliveriesIdle();
    const seqs = received.map((envelope) => (envelope.detail as { seq: number }).seq);
    expect([...seqs].sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it("releases a partly filled reorder window after the hold time", async () => {
    stack.faults.eventBridge.reorderWindow = 50;
    await put([entry({}, 0), entry({}, 1)]);
    await stack.deliveriesIdle();
    expect(received).toHaveLength(2);
  });

  it("fails the next N invocations, which are then retried", async () => {
    stack.faults.eventBridge.failNext = 2;
    const id = randomUUID();
    await put([entry({ Detail: JSON.stringify({ ...traceEvent("fail-next", 0), event_id: id }) })]);
    await stack.deliveriesIdle();
    expect(received.map((envelope) => (envelope.detail as { event_id: string }).event_id)).toEqual([id]);
    expect(stack.faults.eventBridge.failNext).toBe(0);
  });
});
