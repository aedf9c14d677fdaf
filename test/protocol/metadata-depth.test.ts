import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { createTrace } from "../../client/producer.js";
import {
  acceptTraceEvent,
  MAX_METADATA_DEPTH,
  REDACTED,
  redact,
  TraceEvent,
  TraceEventError,
} from "../../protocol/index.js";
import { fakeEventBridge } from "../producer/fake-event-bridge.js";

/** Metadata `depth` containers deep (metadata itself is level 1), with a password at the bottom. */
function nestedMetadata(depth: number, leaf: Record<string, unknown> = { password: "hunter2-deep" }) {
  let value: Record<string, unknown> = leaf;
  for (let level = 1; level < depth; level++) value = { child: value, api_key: `key-${level}` };
  return value;
}

const event = (metadata: unknown) => ({
  event_id: randomUUID(),
  trace_id: "depth-test",
  seq: 0,
  event: "tool_call_start",
  timestamp: new Date().toISOString(),
  status: "pending",
  metadata,
  schema_version: 1,
});

function rejection(run: () => unknown): TraceEventError {
  try {
    run();
  } catch (error) {
    if (error instanceof TraceEventError) return error;
    throw new Error(`expected a TraceEventError, got ${String(error)}`);
  }
  throw new Error("expected a TraceEventError, nothing was thrown");
}

describe("metadata nesting depth", () => {
  it("is 32 levels, metadata itself counting as the first", () => {
    expect(MAX_METADATA_DEPTH).toBe(32);
  });

  it("accepts metadata exactly MAX_METADATA_DEPTH deep and redacts it at every level", () => {
    const accepted = acceptTraceEvent(event(nestedMetadata(MAX_METADATA_DEPTH)));
    const text = JSON.stringify(accepted);
    expect(text).not.toContain("hunter2-deep");
    expect(text).not.toContain("key-1");
    expect(text).toContain(REDACTED);
  });

  it("refuses one level deeper with invalid_event and a message naming the limit", () => {
    const error = rejection(() => acceptTraceEvent(event(nestedMetadata(MAX_METADATA_DEPTH + 1))));
    expect(error.code).toBe("invalid_event");
    expect(error.reason).toBe("metadata: nests deeper than 32 levels (MAX_METADATA_DEPTH)");
  });

  it("counts arrays as levels too", () => {
    let value: unknown = "x";
    for (let level = 1; level < MAX_METADATA_DEPTH; level++) value = [value];
    expect(() => acceptTraceEvent(event({ list: value }))).not.toThrow();
    expect(rejection(() => acceptTraceEvent(event({ list: [value] }))).code).toBe("invalid_event");
  });

  it("is part of the zod schema, so TraceEvent.safeParse refuses it as well", () => {
    const parsed = TraceEvent.safeParse(event(nestedMetadata(MAX_METADATA_DEPTH + 1)));
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues[0]?.message).toBe("nests deeper than 32 levels (MAX_METADATA_DEPTH)");
    expect(TraceEvent.safeParse(event(nestedMetadata(MAX_METADATA_DEPTH))).success).toBe(true);
  });

  it("refuses 5,000 and 100,000 levels with TraceEventError, never a RangeError", () => {
    for (const depth of [5_000, 100_000]) {
      expect(rejection(() => acceptTraceEvent(event(nestedMetadata(depth)))).code).toBe("invalid_event");
    }
  });

  it("refuses cyclic metadata as too deep instead of looping", () => {
    const metadata: Record<string, unknown> = { tool: "x" };
    metadata.self = metadata;
    expect(rejection(() => acceptTraceEvent(event(metadata))).code).toBe("invalid_event");
  });

  it("refuses metadata with more values than any 96 KiB event can hold, before walking it all", () => {
    const error = rejection(() => acceptTraceEvent(event({ list: new Array(60_000).fill(0) })));
    expect(error.code).toBe("event_too_large");
    expect(error.reason).toMatch(/more than 49152 values/);
  });

  it("makes the producer SDK throw its typed error at emit, and send nothing", async () => {
    const bus = fakeEventBridge();
    const trace = createTrace({ client: bus.client, traceId: "depth-sdk" });
    const deep = nestedMetadata(5_000) as never;
    expect(() => trace.emit("tool_call_start", deep)).toThrow(TraceEventError);
    expect(trace.nextSeq).toBe(0);
    await trace.close();
    expect(bus.requests).toEqual([]);
  });
});

describe("redact at any depth", () => {
  it("walks 100,000 levels without recursion and cuts what lies past 64 levels", () => {
    const deep = nestedMetadata(100_000, { password: "bottom-secret" });
    const output = redact(deep);
    const text = JSON.stringify(output);
    expect(text).not.toContain("key-");
    expect(text).not.toContain("bottom-secret");
    expect(text).toContain("[Truncated]");
    let level = 0;
    let node: unknown = output;
    while (node !== null && typeof node === "object") {
      node = (node as { child?: unknown }).child;
      level++;
    }
    expect(level).toBe(64);
    expect(node).toBe("[Truncated]");
  });

  it("keeps key order, drops what JSON drops, and copies a __proto__ key as data", () => {
    const input = JSON.parse('{"b":1,"__proto__":{"polluted":true},"a":[1,"two",null]}') as Record<
      string,
      unknown
    >;
    const output = redact({ ...input, skip: undefined, fn: () => 1 }) as Record<string, unknown>;
    expect(Object.keys(output)).toEqual(["b", "__proto__", "a"]);
    expect(Object.hasOwn(output, "__proto__")).toBe(true);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(output.a).toEqual([1, "two", null]);
  });
});
