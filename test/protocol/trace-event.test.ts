import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  acceptTraceEvent,
  EVENT_NAMES,
  isKnownEvent,
  isTerminal,
  MAX_EVENT_BYTES,
  REDACTED,
  ReceivedTraceEvent,
  TraceEvent,
  TraceEventError,
  TYPICAL_STATUS,
  traceEventJsonSchemaText,
} from "../../protocol/index.js";
import { traceEvent } from "../support/events.js";

function rejection(input: unknown): TraceEventError {
  try {
    acceptTraceEvent(input);
  } catch (error) {
    if (error instanceof TraceEventError) return error;
    throw error;
  }
  throw new Error("expected the event to be rejected");
}

describe("TraceEvent v1", () => {
  it("has the sixteen canonical events, two of them terminal", () => {
    expect(EVENT_NAMES).toHaveLength(16);
    expect(EVENT_NAMES.filter((name) => isTerminal({ event: name }))).toEqual([
      "plan_completed",
      "plan_failed",
    ]);
  });

  it.each(EVENT_NAMES)("accepts a %s event with its typical status", (name) => {
    const event = traceEvent(0, { event: name, metadata: name === "custom" ? { name: "cache_hit" } : {} });
    expect(TraceEvent.parse(event)).toMatchObject({ event: name, status: TYPICAL_STATUS[name] });
  });

  it("keeps unknown metadata keys and types the known ones", () => {
    const event = traceEvent(3, {
      metadata: { tool: "search", call_id: "c1", region: "eu", nested: { a: [1] } },
    });
    expect(acceptTraceEvent(event).metadata).toEqual({
      tool: "search",
      call_id: "c1",
      region: "eu",
      nested: { a: [1] },
    });
    expect(rejection(traceEvent(3, { metadata: { tool: 42 } })).reason).toMatch(/metadata\.tool/);
    expect(
      rejection(traceEvent(3, { event: "budget_warning", metadata: { utilization: 1.5 } })).reason,
    ).toMatch(/metadata\.utilization/);
    expect(
      rejection(traceEvent(3, { event: "approval_received", metadata: { decision: "maybe" } })).reason,
    ).toMatch(/metadata\.decision/);
  });

  it.each([
    ["an unknown event name", { event: "tool_call_exploded" }, /event/],
    ["a negative seq", { seq: -1 }, /seq/],
    ["a fractional seq", { seq: 1.5 }, /seq/],
    ["a trace id with spaces", { trace_id: "a b" }, /trace_id/],
    ["a trace id over 128 characters", { trace_id: "x".repeat(129) }, /trace_id/],
    ["an empty trace id", { trace_id: "" }, /trace_id/],
    ["a timestamp with an offset", { timestamp: "2026-11-26T12:00:00+02:00" }, /timestamp/],
    ["a status outside the four", { status: "done" }, /status/],
    ["a schema version 2", { schema_version: 2 }, /schema_version/],
    ["an event id that is no UUID", { event_id: "42" }, /event_id/],
    ["metadata that is an array", { metadata: [] }, /metadata/],
  ])("rejects %s with a reason naming the field", (_label, overrides, field) => {
    const error = rejection({ ...traceEvent(1), ...overrides });
    expect(error.code).toBe("invalid_event");
    expect(error.reason).toMatch(field);
  });

  it("rejects input that is not an object at all", () => {
    expect(rejection(null).code).toBe("invalid_event");
    expect(rejection("plan_created").code).toBe("invalid_event");
  });

  it("refuses an event over 96 KiB as event_too_large, and accepts one just under", () => {
    const base = traceEvent(1);
    const overhead = JSON.stringify({ ...base, metadata: { ...base.metadata, blob: "" } }).length;
    const fits = { ...base, metadata: { ...base.metadata, blob: "a".repeat(MAX_EVENT_BYTES - overhead) } };
    expect(() => acceptTraceEvent(fits)).not.toThrow();
    const tooBig = {
      ...base,
      metadata: { ...base.metadata, blob: "a".repeat(MAX_EVENT_BYTES - overhead + 1) },
    };
    expect(rejection(tooBig)).toMatchObject({ code: "event_too_large" });
  });

  it("counts multi-byte characters in the size limit", () => {
    const base = traceEvent(1);
    const tooBig = { ...base, metadata: { note: "é".repeat(MAX_EVENT_BYTES / 2) } };
    expect(rejection(tooBig).code).toBe("event_too_large");
  });

  it("types model-call metadata after the GenAI conventions and keeps token counts (they are no secrets)", () => {
    const complete = traceEvent(4, {
      event: "llm_call_complete",
      metadata: {
        call_id: "c-1",
        provider: "openai",
        model: "gpt-4o-mini",
        input_tokens: 1200,
        output_tokens: 80,
        cache_read_tokens: 1024,
        cost_usd: 0.00042,
        duration_ms: 812,
        finish_reason: "stop",
        parent_call_id: "c-0",
      },
    });
    expect(acceptTraceEvent(complete).metadata).toEqual(complete.metadata);
    const withTokens = (input_tokens: unknown) =>
      traceEvent(4, { event: "llm_call_complete", metadata: { input_tokens } });
    expect(rejection(withTokens(-1)).reason).toMatch(/metadata\.input_tokens/);
    expect(rejection(withTokens(1.5)).reason).toMatch(/metadata\.input_tokens/);
    const failed = traceEvent(5, {
      event: "llm_call_error",
      metadata: { model: "m", error: "rate limited", error_type: "RateLimitError", duration_ms: 3 },
    });
    expect(acceptTraceEvent(failed)).toMatchObject({ status: "error", metadata: failed.metadata });
  });

  it("requires a custom event to say what it is in metadata.name", () => {
    expect(rejection(traceEvent(1, { event: "custom", metadata: { phase: 2 } })).reason).toMatch(
      /metadata\.name: custom events need metadata\.name/,
    );
    expect(rejection(traceEvent(1, { event: "custom", metadata: { name: "" } })).reason).toMatch(
      /metadata\.name/,
    );
    const event = traceEvent(1, { event: "custom", metadata: { name: "retrieval", documents: 4 } });
    expect(acceptTraceEvent(event).metadata).toEqual({ name: "retrieval", documents: 4 });
  });

  it("places an event in a span tree with optional span_id and parent_id", () => {
    const event = { ...traceEvent(1), span_id: "00f067aa0ba902b7", parent_id: "agent:root" };
    expect(acceptTraceEvent(event)).toMatchObject({ span_id: "00f067aa0ba902b7", parent_id: "agent:root" });
    expect(rejection({ ...traceEvent(1), span_id: "a b" }).reason).toMatch(/span_id/);
    expect(rejection({ ...traceEvent(1), parent_id: "x".repeat(65) }).reason).toMatch(/parent_id/);
  });

  it("redacts metadata while accepting", () => {
    const event = traceEvent(2, { metadata: { tool: "http", api_key: "sk-live-123", max_tokens: 5 } });
    expect(acceptTraceEvent(event).metadata).toEqual({ tool: "http", api_key: REDACTED, max_tokens: 5 });
  });
});

describe("ReceivedTraceEvent (what subscribers accept)", () => {
  const future = { ...traceEvent(7), event: "some_future_event", metadata: { phase: "x", deep: { a: 1 } } };

  it("accepts an event name this version does not know, with its metadata untouched", () => {
    const received = ReceivedTraceEvent.parse(future);
    expect(received).toEqual(future);
    expect(isKnownEvent(received)).toBe(false);
    expect(isTerminal(received)).toBe(false);
  });

  it("still checks a known event's metadata, the common fields and the shape of a new name", () => {
    expect(isKnownEvent(ReceivedTraceEvent.parse(traceEvent(1)))).toBe(true);
    expect(ReceivedTraceEvent.safeParse(traceEvent(1, { metadata: { tool: 42 } })).success).toBe(false);
    expect(ReceivedTraceEvent.safeParse({ ...future, seq: -1 }).success).toBe(false);
    for (const event of ["Some_Event", "1st", "a-b", "", "x".repeat(65)]) {
      expect(ReceivedTraceEvent.safeParse({ ...future, event }).success).toBe(false);
    }
  });

  it("is what producers cannot send: the emitter's schema refuses the unknown name", () => {
    expect(rejection(future).reason).toMatch(/event/);
  });
});

describe("schema/trace-event.schema.json", () => {
  it("is generated from the zod schema and up to date (run `npm run schema` when this fails)", () => {
    const committed = readFileSync(new URL("../../schema/trace-event.schema.json", import.meta.url), "utf8");
    expect(committed).toBe(traceEventJsonSchemaText());
  });

  it("describes every canonical event", () => {
    const schema = JSON.parse(traceEventJsonSchemaText());
    const variants = schema.$defs.TraceEvent.oneOf as { properties: { event: { const: string } } }[];
    expect(variants.map((variant) => variant.properties.event.const).sort()).toEqual([...EVENT_NAMES].sort());
  });
});
