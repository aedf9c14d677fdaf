import { describe, expect, it } from "vitest";
import { traceEventPattern } from "../../lib/event-rule.js";
import {
  InvalidEventPatternError,
  matchesEventPattern,
  validateEventPattern,
} from "../../local/event-pattern.js";

const envelope = {
  version: "0",
  id: "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
  "detail-type": "tool_call_start",
  source: "trace-stream",
  account: "000000000000",
  time: "2026-01-04T12:00:00Z",
  region: "us-east-1",
  resources: ["arn:aws:ecs:us-east-1:000000000000:task/a", "arn:aws:ecs:us-east-1:000000000000:task/b"],
  detail: { trace_id: "run-1", seq: 3, metadata: { tool: "search", cost: 12.5 }, tags: ["fast", "web"] },
};

describe("the trace-stream rule pattern", () => {
  const pattern = traceEventPattern("trace-stream");

  it("is a valid EventBridge pattern", () => {
    expect(() => validateEventPattern(pattern)).not.toThrow();
  });

  it("matches the configured source with any detail type, so the emitter can dead-letter a mistyped one", () => {
    expect(matchesEventPattern(pattern, envelope)).toBe(true);
    expect(matchesEventPattern(pattern, { ...envelope, "detail-type": "plan_failed" })).toBe(true);
    expect(matchesEventPattern(pattern, { ...envelope, "detail-type": "tool_call_started" })).toBe(true);
  });

  it("does not match another source", () => {
    expect(matchesEventPattern(pattern, { ...envelope, source: "someone-else" })).toBe(false);
  });

  it("does not match when a field the pattern names is absent", () => {
    const { source: _omitted, ...withoutSource } = envelope;
    expect(matchesEventPattern(pattern, withoutSource)).toBe(false);
  });
});

describe("EventBridge pattern semantics", () => {
  const matches = (pattern: unknown, event: unknown = envelope) => {
    validateEventPattern(pattern);
    return matchesEventPattern(pattern, event);
  };

  it("treats a list of values as OR and compares exactly (case and type matter)", () => {
    expect(matches({ source: ["a", "trace-stream"] })).toBe(true);
    expect(matches({ source: ["Trace-Stream"] })).toBe(false);
    expect(matches({ detail: { seq: [3] } })).toBe(true);
    expect(matches({ detail: { seq: ["3"] } })).toBe(false);
  });

  it("matches nested fields and ignores fields the pattern does not name", () => {
    expect(matches({ detail: { metadata: { tool: ["search"] } } })).toBe(true);
    expect(matches({ detail: { metadata: { tool: ["browse"] } } })).toBe(false);
    expect(matches({ detail: { missing: { deeper: ["x"] } } })).toBe(false);
  });

  it("matches an array in the event when any element matches", () => {
    expect(matches({ detail: { tags: ["web"] } })).toBe(true);
    expect(matches({ resources: [{ suffix: "/b" }] })).toBe(true);
    expect(matches({ detail: { tags: ["slow"] } })).toBe(false);
  });

  it("supports prefix, suffix and equals-ignore-case", () => {
    expect(matches({ detail: { trace_id: [{ prefix: "run-" }] } })).toBe(true);
    expect(matches({ detail: { trace_id: [{ prefix: "job-" }] } })).toBe(false);
    expect(matches({ detail: { trace_id: [{ prefix: { "equals-ignore-case": "RUN-" } }] } })).toBe(true);
    expect(matches({ source: [{ suffix: "-stream" }] })).toBe(true);
    expect(matches({ source: [{ "equals-ignore-case": "TRACE-STREAM" }] })).toBe(true);
  });

  it("supports anything-but with a value, a list and a prefix, and never matches an absent field", () => {
    expect(matches({ "detail-type": [{ "anything-but": "plan_failed" }] })).toBe(true);
    expect(matches({ "detail-type": [{ "anything-but": ["tool_call_start", "x"] }] })).toBe(false);
    expect(matches({ source: [{ "anything-but": { prefix: "aws." } }] })).toBe(true);
    expect(matches({ source: [{ "anything-but": { prefix: "trace" } }] })).toBe(false);
    expect(matches({ detail: { absent: [{ "anything-but": "x" }] } })).toBe(false);
  });

  it("supports numeric ranges, exists and wildcard", () => {
    expect(matches({ detail: { metadata: { cost: [{ numeric: [">", 10, "<=", 12.5] }] } } })).toBe(true);
    expect(matches({ detail: { metadata: { cost: [{ numeric: ["<", 10] }] } } })).toBe(false);
    expect(matches({ detail: { seq: [{ exists: true }] } })).toBe(true);
    expect(matches({ detail: { absent: [{ exists: false }] } })).toBe(true);
    expect(matches({ detail: { seq: [{ exists: false }] } })).toBe(false);
    expect(matches({ detail: { metadata: [{ exists: true }] } })).toBe(false);
    expect(matches({ detail: { trace_id: [{ wildcard: "r*-1" }] } })).toBe(true);
    expect(matches({ detail: { trace_id: [{ wildcard: "r*-2" }] } })).toBe(false);
  });

  it("supports $or between sub-patterns", () => {
    expect(matches({ $or: [{ source: ["nope"] }, { detail: { seq: [3] } }] })).toBe(true);
    expect(matches({ $or: [{ source: ["nope"] }, { detail: { seq: [4] } }] })).toBe(false);
  });

  it("refuses patterns EventBridge would refuse, saying where", () => {
    expect(() => validateEventPattern({ source: [] })).toThrow(/pattern\.source must not be an empty array/);
    expect(() => validateEventPattern({ source: "trace-stream" })).toThrow(InvalidEventPatternError);
    expect(() => validateEventPattern({ source: [{ regex: "x" }] })).toThrow(/unknown content filter/);
    expect(() => validateEventPattern({ detail: { n: [{ numeric: [">"] }] } })).toThrow(/numeric/);
    expect(() => validateEventPattern([])).toThrow(/must be a JSON object/);
  });
});
