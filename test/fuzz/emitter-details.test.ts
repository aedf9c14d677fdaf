import { randomUUID } from "node:crypto";
import { ScanCommand } from "@aws-sdk/lib-dynamodb";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EmitOutcome } from "../../lambdas/emitter/emitter.js";
import { keys } from "../../lib/table-design.js";
import { MAX_EVENT_BYTES, MAX_SEQ } from "../../protocol/limits.js";
import { EVENT_NAMES } from "../../protocol/trace-event.js";
import { startTestStack, type TestStack, traceEvent } from "../helpers/local-stack.js";

/**
 * Whatever reaches the emitter (a malformed envelope, a wrong source, a detail that is no trace
 * event, an event one field away from valid, an event over 96 KiB) is rejected with a code, goes to
 * the dead-letter queue with a reason, and stores nothing. The emitter runs as the local stack runs
 * it (JSON boundary, Lambda context); it never throws for bad input.
 */

const envelope = (detail: unknown, overrides: Record<string, unknown> = {}) => ({
  version: "0",
  id: randomUUID(),
  "detail-type":
    typeof detail === "object" && detail !== null && "event" in detail ? detail.event : "route_decision",
  source: "trace-stream",
  account: "000000000000",
  time: new Date().toISOString(),
  region: "us-east-1",
  resources: [],
  detail,
  ...overrides,
});

/** A valid event of any canonical type (its metadata valid for that type). */
const validEvent = fc
  .record({ name: fc.constantFrom(...EVENT_NAMES), seq: fc.integer({ min: 0, max: 1000 }) })
  .map(({ name, seq }) => {
    const metadata: Record<string, Record<string, unknown>> = {
      budget_warning: { budget_type: "tokens", used: 8, limit: 10, utilization: 0.8 },
      approval_received: { approval_id: "a1", decision: "approved" },
      custom: { name: "checkpoint" },
    };
    return traceEvent(`fuzz-emitter-${process.pid}`, seq, {
      event: name,
      status: "success",
      metadata: (metadata[name] ?? {}) as never,
    }) as unknown as Record<string, unknown>;
  });

/** Changes that each make an event invalid on their own. */
const breakage = fc.oneof(
  fc.record({
    field: fc.constant("seq"),
    value: fc.constantFrom(-1, 1.5, "1", null, MAX_SEQ + 1, Number.NaN),
  }),
  fc.record({
    field: fc.constant("trace_id"),
    value: fc.constantFrom("", "a b", "x".repeat(129), "é", "a\nb", "a?b", null, 7),
  }),
  fc.record({ field: fc.constant("event_id"), value: fc.constantFrom("not-a-uuid", 5, "", null) }),
  fc.record({
    field: fc.constant("timestamp"),
    value: fc.constantFrom("yesterday", "2024-13-01T00:00:00Z", 1_700_000_000, ""),
  }),
  fc.record({ field: fc.constant("status"), value: fc.constantFrom("done", "", "SUCCESS", null) }),
  fc.record({ field: fc.constant("schema_version"), value: fc.constantFrom(2, "1", 0, null) }),
  fc.record({ field: fc.constant("event"), value: fc.constantFrom("unknown_event", "", "__proto__", null) }),
  fc.record({ field: fc.constant("metadata"), value: fc.constantFrom(null, [], "text", 3) }),
  fc.record({
    field: fc.constantFrom("event_id", "trace_id", "seq", "timestamp", "status"),
    value: fc.constant(undefined),
  }),
);

const brokenEvent = fc
  .tuple(validEvent, fc.array(breakage, { minLength: 1, maxLength: 3 }))
  .map(([event, changes]) => {
    const broken: Record<string, unknown> = { ...event };
    for (const { field, value } of changes) {
      if (value === undefined) delete broken[field];
      else broken[field] = value;
    }
    return { detail: broken, detailType: String(event.event) };
  });

type Case = { envelope: unknown; codes: readonly string[] };

const cases: fc.Arbitrary<Case> = fc.oneof(
  // Not an event at all.
  fc.jsonValue({ maxDepth: 3 }).map((detail) => ({ envelope: envelope(detail), codes: ["invalid_event"] })),
  // One to three fields broken.
  brokenEvent.map(({ detail, detailType }) => ({
    envelope: envelope(detail, { "detail-type": detailType }),
    codes: ["invalid_event"],
  })),
  // A valid event under another detail-type, or an unknown one.
  fc
    .tuple(validEvent, fc.oneof(fc.constantFrom(...EVENT_NAMES), fc.string({ maxLength: 30 })))
    .filter(([event, type]) => event.event !== type)
    .map(([event, type]) => ({
      envelope: envelope(event, { "detail-type": type }),
      codes: ["invalid_event"],
    })),
  // From another source.
  fc
    .tuple(
      validEvent,
      fc.string({ maxLength: 30 }).filter((source) => source !== "trace-stream"),
    )
    .map(([event, source]) => ({ envelope: envelope(event, { source }), codes: ["unexpected_source"] })),
  // Not an EventBridge envelope.
  fc
    .oneof(
      fc.jsonValue({ maxDepth: 2 }),
      validEvent.map((event) => {
        const { version: _version, ...rest } = envelope(event);
        return rest;
      }),
      validEvent.map((event) => envelope(event, { resources: "none" })),
    )
    .map((value) => ({ envelope: value, codes: ["invalid_envelope"] })),
  // Over 96 KiB once serialized, with or without multi-byte characters.
  fc.tuple(validEvent, fc.constantFrom("x", "é", "😀")).map(([event, unit]) => ({
    envelope: envelope({
      ...event,
      metadata: {
        ...(event.metadata as object),
        blob: unit.repeat(Math.ceil(MAX_EVENT_BYTES / Buffer.byteLength(unit))),
      },
    }),
    codes: ["event_too_large"],
  })),
);

describe("EventBridge details the emitter must refuse", () => {
  let stack: TestStack;

  beforeAll(async () => {
    stack = await startTestStack();
  });
  afterAll(() => stack?.stop());

  async function storedEvents(): Promise<number> {
    const { Count = 0 } = await stack.clients.dynamo.send(
      new ScanCommand({
        TableName: stack.tableName,
        Select: "COUNT",
        FilterExpression: "begins_with(sk, :evt)",
        ExpressionAttributeValues: { ":evt": keys.eventPrefix },
        ConsistentRead: true,
      }),
    );
    return Count;
  }

  it("rejects each with a code, dead-letters it with a reason, and stores nothing", async () => {
    await fc.assert(
      fc.asyncProperty(cases, async ({ envelope: input, codes }) => {
        const deadLetters = stack.deadLetters().length;
        const outcome = (await stack.invoke("emitter", input)) as EmitOutcome;
        expect(outcome.kind).toBe("rejected");
        expect(codes).toContain(outcome.kind === "rejected" ? outcome.code : "");
        const letters = stack.deadLetters();
        expect(letters).toHaveLength(deadLetters + 1);
        const letter = letters.at(-1)?.payload as { code: string; reason: string };
        expect(letter.code).toBe(outcome.kind === "rejected" ? outcome.code : "");
        expect(letter.reason.length).toBeGreaterThan(0);
      }),
      { numRuns: 250 },
    );
    expect(await storedEvents()).toBe(0);
  });

  it("stores a valid event once, however often it is delivered (the control case)", async () => {
    const event = traceEvent(`fuzz-emitter-control-${process.pid}`, 0);
    for (let i = 0; i < 3; i++) {
      expect(await stack.invoke("emitter", envelope(event))).toMatchObject({
        kind: "delivered",
        duplicate: i > 0,
      });
    }
    expect(await storedEvents()).toBe(1);
  });
});
