import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  acceptTraceEvent,
  EVENT_NAMES,
  isTerminal,
  MAX_EVENT_BYTES,
  REDACTED,
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
  it("has the twelve canonical events, two of them terminal", () => {
    expect(EVENT_NAMES).toHaveLength(12);
    expect(EVENT_NAMES.filter((name) => isTerminal({ event: name }))).toEqual([
      "plan_completed",
      "plan_failed",
    ]);
  });

  it.each(EVENT_NAMES)("accepts a %s event with its typical status", (name) => {
    const event = traceEvent(0, { event: name, metadata: {} });
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

  it("redacts metadata while accepting", () => {
    const event = traceEvent(2, { metadata: { tool: "http", api_key: "sk-live-123", max_tokens: 5 } });
    expect(acceptTraceEvent(event).metadata).toEqual({ tool: "http", api_key: REDACTED, max_tokens: 5 });
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
