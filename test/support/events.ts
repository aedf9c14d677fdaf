import type { EventName, TraceEvent } from "../../protocol/index.js";
import { TYPICAL_STATUS } from "../../protocol/index.js";

/** A valid TraceEvent for tests; fields can be overridden. */
export function traceEvent(
  seq: number,
  overrides: Partial<Omit<TraceEvent, "event" | "metadata">> & { event?: EventName; metadata?: object } = {},
): TraceEvent {
  const event = overrides.event ?? "tool_call_start";
  return {
    event_id: crypto.randomUUID(),
    trace_id: "trace-1",
    seq,
    timestamp: new Date(Date.UTC(2026, 10, 26, 12, 0, 0, seq)).toISOString(),
    status: TYPICAL_STATUS[event],
    schema_version: 1,
    ...overrides,
    event,
    metadata: overrides.metadata ?? { tool: "search", call_id: `call-${seq}` },
  } as TraceEvent;
}

/** The EventBridge envelope the emitter receives for an event. */
export function envelope(detail: unknown, overrides: Record<string, unknown> = {}) {
  return {
    version: "0",
    id: crypto.randomUUID(),
    "detail-type": (detail as { event?: string })?.event ?? "tool_call_start",
    source: "trace-stream",
    account: "000000000000",
    time: "2026-11-26T12:00:00Z",
    region: "us-east-1",
    resources: [],
    detail,
    ...overrides,
  };
}
