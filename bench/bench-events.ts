import { randomUUID } from "node:crypto";
import type { TraceEvent } from "../protocol/trace-event.js";

/**
 * A plausible event of an agent run for `seq`: tool calls with their results, route decisions and
 * budget warnings, 250–450 bytes serialized, like the seed system's traces.
 */
export function benchEvent(traceId: string, seq: number): TraceEvent {
  const common = {
    event_id: randomUUID(),
    trace_id: traceId,
    seq,
    timestamp: new Date().toISOString(),
    schema_version: 1 as const,
  };
  const callId = `call-${Math.floor(seq / 3)}`;
  switch (seq % 6) {
    case 0:
      return {
        ...common,
        event: "route_decision",
        status: "success",
        metadata: { agent: "researcher", reason: `step ${seq}: the question needs a knowledge-base lookup` },
      };
    case 1:
      return {
        ...common,
        event: "tool_call_start",
        status: "pending",
        metadata: { tool: "search_kb", domain: "support", side_effect_class: "read", call_id: callId },
      };
    case 2:
      return {
        ...common,
        event: "tool_call_complete",
        status: "success",
        metadata: {
          tool: "search_kb",
          call_id: callId,
          duration_ms: 120 + (seq % 50),
          success: true,
          summary: "3 articles matched: refund policy, shipping delays, order status",
        },
      };
    case 3:
      return {
        ...common,
        event: "budget_warning",
        status: "warning",
        metadata: { budget_type: "tokens", used: 8000 + seq, limit: 10_000, utilization: 0.8 },
      };
    case 4:
      return {
        ...common,
        event: "tool_call_start",
        status: "pending",
        metadata: { tool: "draft_reply", domain: "support", side_effect_class: "write", call_id: callId },
      };
    default:
      return {
        ...common,
        event: "tool_call_complete",
        status: "success",
        metadata: { tool: "draft_reply", call_id: callId, duration_ms: 900 + (seq % 300), success: true },
      };
  }
}

/** The EventBridge envelope the rule target receives for an event put on the bus. */
export function envelopeOf(event: TraceEvent, source: string) {
  return {
    version: "0",
    id: randomUUID(),
    "detail-type": event.event,
    source,
    account: "000000000000",
    time: new Date().toISOString(),
    region: "us-east-1",
    resources: [],
    detail: event,
  };
}
