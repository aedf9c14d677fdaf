import { z } from "zod";
import { metadataShapeIssue } from "./json-shape.js";
import { MAX_SEQ } from "./limits.js";

/** Trace ids: 1–128 characters of `A-Za-z0-9._:/-`. */
export const TRACE_ID_PATTERN = /^[A-Za-z0-9._:/-]{1,128}$/;
export const TraceId = z
  .string()
  .regex(TRACE_ID_PATTERN, "trace_id must be 1-128 characters of A-Za-z0-9._:/-");
export type TraceId = z.infer<typeof TraceId>;

export const Seq = z.number().int().min(0).max(MAX_SEQ);

export const EventStatus = z.enum(["pending", "success", "error", "warning"]);
export type EventStatus = z.infer<typeof EventStatus>;

const text = z.string();
const count = z.number().int().min(0);
const millis = z.number().min(0);
const isoTime = z.iso.datetime({ offset: true });

/**
 * Known metadata per event. Every known key is optional (producers in other languages may send
 * less) but typed when present; unknown keys pass through (after redaction). Nesting is bounded
 * (MAX_METADATA_DEPTH); `acceptTraceEvent` checks that before parsing, this check keeps direct
 * users of the schema to the same rule.
 */
const metadata = <Shape extends z.core.$ZodLooseShape>(shape: Shape) =>
  z
    .looseObject(shape)
    .partial()
    .superRefine((value, context) => {
      const issue = metadataShapeIssue(value);
      if (issue) context.addIssue({ code: "custom", message: issue.message });
    });

export const EVENT_METADATA = {
  plan_created: metadata({
    goal: text,
    steps: count,
    profile: text,
    total_budget: z.union([z.number(), z.record(z.string(), z.number())]),
  }),
  route_decision: metadata({ agent: text, reason: text }),
  tool_call_start: metadata({ tool: text, domain: text, side_effect_class: text, call_id: text }),
  tool_call_complete: metadata({ tool: text, call_id: text, duration_ms: millis, success: z.boolean() }),
  tool_call_error: metadata({
    tool: text,
    call_id: text,
    error: text,
    error_type: text,
    duration_ms: millis,
  }),
  budget_warning: metadata({
    budget_type: text,
    used: z.number(),
    limit: z.number(),
    utilization: z.number().min(0).max(1),
  }),
  budget_exceeded: metadata({ budget_type: text, limit: z.number(), domain: text, tool: text }),
  approval_requested: metadata({ approval_id: text, tool: text, risk_level: text, expires_at: isoTime }),
  approval_received: metadata({
    approval_id: text,
    decision: z.enum(["approved", "rejected"]),
    reason: text,
  }),
  approval_timeout: metadata({ approval_id: text }),
  plan_completed: metadata({ duration_ms: millis, steps_completed: count }),
  plan_failed: metadata({ error: text, error_type: text }),
} as const;

export type EventName = keyof typeof EVENT_METADATA;
export const EVENT_NAMES = Object.keys(EVENT_METADATA) as [EventName, ...EventName[]];
export const EventName = z.enum(EVENT_NAMES);

/** Events that end a trace: clients stop reconnecting once they have shown one. */
export const TERMINAL_EVENTS: ReadonlySet<EventName> = new Set<EventName>(["plan_completed", "plan_failed"]);

/** The status a producer normally gives each event (helpers use it as the default). */
export const TYPICAL_STATUS: Readonly<Record<EventName, EventStatus>> = {
  plan_created: "success",
  route_decision: "success",
  tool_call_start: "pending",
  tool_call_complete: "success",
  tool_call_error: "error",
  budget_warning: "warning",
  budget_exceeded: "warning",
  approval_requested: "pending",
  approval_received: "success",
  approval_timeout: "error",
  plan_completed: "success",
  plan_failed: "error",
};

const common = {
  event_id: z.uuid(),
  trace_id: TraceId,
  seq: Seq,
  timestamp: z.iso.datetime(),
  status: EventStatus,
  schema_version: z.literal(1),
};

function variant<Name extends EventName>(name: Name) {
  return z.object({ ...common, event: z.literal(name), metadata: EVENT_METADATA[name] });
}

/** TraceEvent v1, the wire format every part exchanges (snake_case, as in the seed system). */
export const TraceEvent = z
  .discriminatedUnion("event", [
    variant("plan_created"),
    variant("route_decision"),
    variant("tool_call_start"),
    variant("tool_call_complete"),
    variant("tool_call_error"),
    variant("budget_warning"),
    variant("budget_exceeded"),
    variant("approval_requested"),
    variant("approval_received"),
    variant("approval_timeout"),
    variant("plan_completed"),
    variant("plan_failed"),
  ])
  .meta({
    id: "TraceEvent",
    title: "trace-stream TraceEvent v1",
    description: "One event of an AI agent run, as published to the trace-stream EventBridge bus.",
  });
export type TraceEvent = z.infer<typeof TraceEvent>;

export function isTerminal(event: Pick<TraceEvent, "event">): boolean {
  return TERMINAL_EVENTS.has(event.event);
}
