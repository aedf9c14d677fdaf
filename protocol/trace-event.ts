import { z } from "zod";
import {
  EVENT_NAME_PATTERN,
  EVENT_NAMES,
  EVENT_STATUSES,
  type EventName as EventNameType,
  isEventName,
  type ReceivedTraceEvent as ReceivedTraceEventType,
  SPAN_ID_PATTERN,
  TRACE_ID_PATTERN,
  type TraceEvent as TraceEventType,
  type UnknownTraceEvent as UnknownTraceEventType,
} from "./event-names.js";
import { metadataShapeIssue } from "./json-shape.js";
import { MAX_SEQ } from "./limits.js";

export {
  EVENT_NAME_PATTERN,
  EVENT_NAMES,
  type EventMetadata,
  isEventName,
  isKnownEvent,
  isTerminal,
  SPAN_ID_PATTERN,
  TERMINAL_EVENTS,
  TRACE_ID_PATTERN,
} from "./event-names.js";

export const TraceId = z
  .string()
  .regex(TRACE_ID_PATTERN, "trace_id must be 1-128 characters of A-Za-z0-9._:/-");
export type TraceId = z.infer<typeof TraceId>;

export const Seq = z.number().int().min(0).max(MAX_SEQ);

export const SpanId = z.string().regex(SPAN_ID_PATTERN, "span ids must be 1-64 characters of A-Za-z0-9._:/-");

export const EventStatus = z.enum(EVENT_STATUSES);
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
  // Model calls, named after the OpenTelemetry GenAI conventions: provider is gen_ai.provider.name,
  // model the response (or request) model, tokens gen_ai.usage.*, finish_reason the first of
  // gen_ai.response.finish_reasons.
  llm_call_start: metadata({ call_id: text, provider: text, model: text, parent_call_id: text }),
  llm_call_complete: metadata({
    call_id: text,
    provider: text,
    model: text,
    input_tokens: count,
    output_tokens: count,
    cache_read_tokens: count,
    cost_usd: z.number().min(0),
    duration_ms: millis,
    finish_reason: text,
    parent_call_id: text,
  }),
  llm_call_error: metadata({
    call_id: text,
    provider: text,
    model: text,
    error: text,
    error_type: text,
    input_tokens: count,
    output_tokens: count,
    duration_ms: millis,
    parent_call_id: text,
  }),
  /** Anything the list above does not cover; `name` (required) says what it is. */
  custom: z.intersection(
    metadata({}),
    z.looseObject({
      name: z
        .string({ error: "custom events need metadata.name, a string naming what happened" })
        .min(1)
        .max(128),
    }),
  ),
} as const satisfies Record<EventName, z.ZodType>;

export type EventName = EventNameType;
export const EventName = z.enum(EVENT_NAMES);

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
  llm_call_start: "pending",
  llm_call_complete: "success",
  llm_call_error: "error",
  custom: "success",
};

const common = {
  event_id: z.uuid(),
  trace_id: TraceId,
  seq: Seq,
  timestamp: z.iso.datetime(),
  status: EventStatus,
  schema_version: z.literal(1),
  /** This event's node in a span tree (an OTel span id, a call id...). */
  span_id: SpanId.optional(),
  /** The span this one is nested in: nested agents, tools and model calls form a tree. */
  parent_id: SpanId.optional(),
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
    variant("llm_call_start"),
    variant("llm_call_complete"),
    variant("llm_call_error"),
    variant("custom"),
  ])
  .meta({
    id: "TraceEvent",
    title: "trace-stream TraceEvent v1",
    description: "One event of an AI agent run, as published to the trace-stream EventBridge bus.",
  });
export type TraceEvent = z.infer<typeof TraceEvent>;

/**
 * An event whose name this version does not know (one added after it was built). Subscribers get
 * it with its common fields checked and its metadata as an opaque object.
 */
export const UnknownTraceEvent = z.looseObject({
  ...common,
  event: z
    .string()
    .regex(EVENT_NAME_PATTERN, "event names are 1-64 characters of a-z0-9_, starting with a letter")
    .refine((name) => !isEventName(name), "a known event name must carry that event's metadata"),
  metadata: z.record(z.string(), z.unknown()),
});
export type UnknownTraceEvent = z.infer<typeof UnknownTraceEvent>;

/** What subscribers receive: a TraceEvent, or an event named after something newer. */
export const ReceivedTraceEvent = z.union([TraceEvent, UnknownTraceEvent]);
export type ReceivedTraceEvent = ReceivedTraceEventType;

/**
 * The zod-free types (event-names.ts) and the schemas' inferred types must accept each other, so
 * neither can drift: a new field or event changes both or fails to compile here.
 */
type Accepts<Target, Source extends Target> = Source;
export type SchemaTypesMatch = [
  Accepts<TraceEventType, TraceEvent>,
  Accepts<TraceEvent, TraceEventType>,
  Accepts<UnknownTraceEventType, UnknownTraceEvent>,
  Accepts<UnknownTraceEvent, UnknownTraceEventType>,
  Accepts<ReceivedTraceEvent, z.infer<typeof ReceivedTraceEvent>>,
  Accepts<z.infer<typeof ReceivedTraceEvent>, ReceivedTraceEvent>,
];
