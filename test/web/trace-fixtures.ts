/** Hand-made TraceEvents for the viewer tests: a tiny builder with dense seq and a controllable clock. */
import { randomUUID } from "node:crypto";
import type { EventName, EventStatus, TraceEvent } from "../../protocol/trace-event.js";
import { TYPICAL_STATUS } from "../../protocol/trace-event.js";

export interface TraceBuilder {
  readonly events: TraceEvent[];
  /** Appends one event at the builder's clock; status defaults to the event's typical status. */
  add(event: EventName, metadata?: Record<string, unknown>, status?: EventStatus): TraceEvent;
  /** Moves the clock forward. */
  wait(ms: number): void;
  readonly now: number;
}

export const T0 = Date.parse("2025-01-01T10:00:00.000Z");

export function traceBuilder(traceId = "trace-1", start = T0): TraceBuilder {
  const events: TraceEvent[] = [];
  let now = start;
  return {
    events,
    add(event, metadata = {}, status) {
      const built = {
        event_id: randomUUID(),
        trace_id: traceId,
        seq: events.length,
        event,
        timestamp: new Date(now).toISOString(),
        status: status ?? TYPICAL_STATUS[event],
        metadata,
        schema_version: 1,
      } as TraceEvent;
      events.push(built);
      return built;
    },
    wait(ms) {
      now += ms;
    },
    get now() {
      return now;
    },
  };
}

/**
 * A long run: a plan, then `calls` tool calls (each start followed by its end, every 7th failing,
 * one in every 50 interleaved with a budget warning), then route decisions up to `total` events if
 * given, then plan_completed. 2 * calls + 2 events plus the warnings, at least.
 */
export function longRun(traceId: string, calls: number, start = T0, total = 0): TraceEvent[] {
  const trace = traceBuilder(traceId, start);
  trace.add("plan_created", { goal: "Work through the backlog", steps: calls, profile: "batch" });
  for (let i = 0; i < calls; i++) {
    const callId = `call-${i}`;
    const tool = ["search_kb", "fetch_ticket", "summarize", "send_email"][i % 4] as string;
    trace.add("tool_call_start", { tool, call_id: callId, domain: "support" });
    trace.wait(5);
    if (i % 7 === 6) {
      trace.add("tool_call_error", {
        tool,
        call_id: callId,
        error: "upstream timeout",
        error_type: "Timeout",
      });
    } else {
      trace.add("tool_call_complete", { tool, call_id: callId, duration_ms: 5, success: true });
    }
    if (i % 50 === 49) {
      trace.add("budget_warning", { budget_type: "tokens", used: i, limit: calls, utilization: i / calls });
    }
  }
  while (trace.events.length < total - 1) trace.add("route_decision", { agent: "closer", reason: "wrap up" });
  trace.add("plan_completed", { duration_ms: trace.now - start, steps_completed: calls });
  return trace.events;
}
