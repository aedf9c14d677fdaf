/**
 * Event names, id patterns and the TraceEvent types, without zod: the subscriber client imports only
 * this side of the protocol, so a browser bundle carries no schema library. protocol/trace-event.ts
 * builds the zod schemas from the same names and checks at compile time that its inferred types
 * and the types below accept each other.
 */

/** Trace ids: 1–128 characters of `A-Za-z0-9._:/-`. */
export const TRACE_ID_PATTERN = /^[A-Za-z0-9._:/-]{1,128}$/;

/** Span ids (`span_id`, `parent_id`): 1–64 characters of the trace-id charset. */
export const SPAN_ID_PATTERN = /^[A-Za-z0-9._:/-]{1,64}$/;

/**
 * What any event name looks like. Producers and the emitter accept only the names below; subscribers
 * (client, CLI, viewer) accept every name of this shape and show the ones they do not know
 * generically, so adding an event never breaks a deployed viewer.
 */
export const EVENT_NAME_PATTERN = /^[a-z][a-z0-9_]{0,63}$/;

export const EVENT_STATUSES = ["pending", "success", "error", "warning"] as const;
export type EventStatus = (typeof EVENT_STATUSES)[number];

/** Known metadata per event: every key optional but typed when present, unknown keys pass through. */
interface KnownMetadata {
  plan_created: {
    goal: string;
    steps: number;
    profile: string;
    total_budget: number | Record<string, number>;
  };
  route_decision: { agent: string; reason: string };
  tool_call_start: { tool: string; domain: string; side_effect_class: string; call_id: string };
  tool_call_complete: { tool: string; call_id: string; duration_ms: number; success: boolean };
  tool_call_error: { tool: string; call_id: string; error: string; error_type: string; duration_ms: number };
  budget_warning: { budget_type: string; used: number; limit: number; utilization: number };
  budget_exceeded: { budget_type: string; limit: number; domain: string; tool: string };
  approval_requested: { approval_id: string; tool: string; risk_level: string; expires_at: string };
  approval_received: { approval_id: string; decision: "approved" | "rejected"; reason: string };
  approval_timeout: { approval_id: string };
  plan_completed: { duration_ms: number; steps_completed: number };
  plan_failed: { error: string; error_type: string };
  llm_call_start: { call_id: string; provider: string; model: string; parent_call_id: string };
  llm_call_complete: {
    call_id: string;
    provider: string;
    model: string;
    input_tokens: number;
    output_tokens: number;
    cache_read_tokens: number;
    cost_usd: number;
    duration_ms: number;
    finish_reason: string;
    parent_call_id: string;
  };
  llm_call_error: {
    call_id: string;
    provider: string;
    model: string;
    error: string;
    error_type: string;
    input_tokens: number;
    output_tokens: number;
    duration_ms: number;
    parent_call_id: string;
  };
  custom: Record<never, never>;
}

export type EventName = keyof KnownMetadata;

/** In declaration order (the JSON Schema and the Python package list them in this order). */
export const EVENT_NAMES = [
  "plan_created",
  "route_decision",
  "tool_call_start",
  "tool_call_complete",
  "tool_call_error",
  "budget_warning",
  "budget_exceeded",
  "approval_requested",
  "approval_received",
  "approval_timeout",
  "plan_completed",
  "plan_failed",
  "llm_call_start",
  "llm_call_complete",
  "llm_call_error",
  "custom",
] as const satisfies readonly EventName[];

type Loose<Shape> = { [Key in keyof Shape]?: Shape[Key] | undefined } & { [key: string]: unknown };

/** The metadata of each known event. `custom` events name what happened in `name`. */
export type EventMetadata<Name extends EventName> = Name extends "custom"
  ? Loose<KnownMetadata[Name]> & { name: string }
  : Loose<KnownMetadata[Name]>;

interface EventCommon {
  event_id: string;
  trace_id: string;
  seq: number;
  /** ISO 8601 UTC. */
  timestamp: string;
  status: EventStatus;
  schema_version: 1;
  /** This event's node in a span tree (an OTel span id, a call id...). */
  span_id?: string | undefined;
  /** The span this one is nested in: nested agents, tools and model calls form a tree. */
  parent_id?: string | undefined;
}

/** TraceEvent v1, the wire format every part exchanges (snake_case, as in the seed system). */
export type TraceEvent = {
  [Name in EventName]: EventCommon & { event: Name; metadata: EventMetadata<Name> };
}[EventName];

/**
 * An event whose name this version does not know (one added after it was built). Subscribers get
 * it with its common fields checked and its metadata as an opaque object.
 */
export type UnknownTraceEvent = EventCommon & {
  event: string;
  metadata: Record<string, unknown>;
  [key: string]: unknown;
};

/** What subscribers receive: a TraceEvent, or an event named after something newer. */
export type ReceivedTraceEvent = TraceEvent | UnknownTraceEvent;

/** Events that end a trace: clients stop reconnecting once they have shown one. */
export const TERMINAL_EVENTS: ReadonlySet<EventName> = new Set<EventName>(["plan_completed", "plan_failed"]);

const KNOWN_NAMES: ReadonlySet<string> = new Set(EVENT_NAMES);

export function isEventName(name: string): name is EventName {
  return KNOWN_NAMES.has(name);
}

/** Narrows a received event to the events this version knows (and types). */
export function isKnownEvent(event: ReceivedTraceEvent): event is TraceEvent {
  return isEventName(event.event);
}

export function isTerminal(event: { readonly event: string }): boolean {
  return isEventName(event.event) && TERMINAL_EVENTS.has(event.event);
}
