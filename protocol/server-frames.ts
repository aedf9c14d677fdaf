/**
 * Server frames as subscribers read them, checked by hand instead of by the zod schemas in
 * frames.ts, so the subscriber client carries no schema library (a browser bundle stays small).
 * test/protocol/server-frames.test.ts holds this parser to the schemas: both accept and refuse the
 * same frames.
 */
import {
  EVENT_NAME_PATTERN,
  EVENT_STATUSES,
  type EventName,
  isEventName,
  type ReceivedTraceEvent,
  SPAN_ID_PATTERN,
  TRACE_ID_PATTERN,
} from "./event-names.js";
import { metadataShapeIssue } from "./json-shape.js";
import {
  MAX_CONFLICTS_COUNTED,
  MAX_CONFLICTS_LISTED,
  MAX_RUN_GOAL_CHARS,
  MAX_RUNS_CURSOR_CHARS,
  MAX_RUNS_PAGE,
  MAX_SEQ,
} from "./limits.js";

/** Codes carried by `{"type":"error"}` frames. */
export const ERROR_CODES = [
  /** The body is neither JSON nor the raw text `ping`. */
  "invalid_json",
  /** JSON without an `action` this API knows. */
  "unknown_action",
  /** A known action with invalid fields (the message says which). */
  "invalid_message",
  /** The connection has no subscription (it expired or was never written); reconnect. */
  "not_subscribed",
  /** The server failed; the client should resume or reconnect. */
  "internal_error",
  /** Too many requests from this connection; retry after `retry_after_ms`. */
  "rate_limited",
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

/** Raw-text heartbeat kept for clients of the seed system. */
export const RAW_PING = "ping";
export const RAW_PONG = "pong";

/** Client to server: JSON with `action` (route selection `$request.body.action`). */
export type ClientMessage = { action: "ping" } | { action: "resume"; afterSeq: number } | ListRunsMessage;

/** Run states the server knows; "stalled" is a running run without events for a while. */
export const RUN_STATUSES = ["running", "completed", "failed"] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];
/** What `listRuns` may filter by: a stored status, or running but quiet for `stalledAfterMs`. */
export const RUN_FILTERS = ["running", "stalled", "completed", "failed"] as const;
export type RunFilter = (typeof RUN_FILTERS)[number];

/** Client to server on a runs connection (`?runs=1`): one page of the runs list. */
export interface ListRunsMessage {
  action: "listRuns";
  /** The `next` of the previous page. */
  after?: string | undefined;
  status?: RunFilter | undefined;
  /** A trace id prefix, or words of the goal (case-insensitive). */
  search?: string | undefined;
  limit?: number | undefined;
  /** A running run with no event for this long counts as stalled (status filters "running"/"stalled"). */
  stalledAfterMs?: number | undefined;
}

export type EventFrame = ReceivedTraceEvent & { type: "event" };
export interface EventsFrame {
  type: "events";
  trace_id: string;
  events: ReceivedTraceEvent[];
}
export interface SyncedFrame {
  type: "synced";
  trace_id: string;
  last_seq: number;
  more?: boolean | undefined;
}
export interface PongFrame {
  type: "pong";
}
export interface ErrorFrame {
  type: "error";
  code: ErrorCode;
  message: string;
  retry_after_ms?: number | undefined;
}
export interface RefusedEvent {
  seq: number;
  event_id: string;
}
export interface ConflictFrame {
  type: "conflict";
  trace_id: string;
  seq: number;
  event_id: string;
  reason: string;
}
export interface ConflictsFrame {
  type: "conflicts";
  trace_id: string;
  count: number;
  more: boolean;
  refused: RefusedEvent[];
}
/** One row of the runs list. Times are epoch milliseconds. */
export interface RunSummaryWire {
  trace_id: string;
  goal?: string | undefined;
  status: RunStatus;
  started_at: number;
  /** Kept coarse: refreshed at most every few seconds while nothing else changes. */
  last_event_at: number;
  tool_calls: number;
  errors: number;
  model_calls: number;
  input_tokens: number;
  output_tokens: number;
  cost_usd: number;
}
/** A page of the runs list, newest first, answering `listRuns`. */
export interface RunsFrame {
  type: "runs";
  runs: RunSummaryWire[];
  /** Pass as `after` for the next page; absent on the last. */
  next?: string | undefined;
}
/** Live, from the emitter: a run's summary changed (or a new run started). */
export interface RunFrame {
  type: "run";
  run: RunSummaryWire;
}
export type ServerFrame =
  | RunsFrame
  | RunFrame
  | EventFrame
  | EventsFrame
  | SyncedFrame
  | PongFrame
  | ErrorFrame
  | ConflictFrame
  | ConflictsFrame;

/** A frame that is JSON but not a server frame; the message names the first field at fault. */
export class ServerFrameError extends Error {
  override readonly name = "ServerFrameError";
}

/** Parses a server frame; throws a `ServerFrameError`, or a `SyntaxError` for text that is not JSON. */
export function parseServerFrame(text: string): ServerFrame {
  const value: unknown = JSON.parse(text);
  const frame = record(value, "frame");
  switch (frame.type) {
    case "event":
      receivedEvent(frame, "frame");
      return frame as unknown as EventFrame;
    case "events": {
      traceId(frame.trace_id, "trace_id");
      if (!Array.isArray(frame.events)) throw new ServerFrameError("events must be an array");
      frame.events.forEach((event, index) => {
        receivedEvent(record(event, `events[${index}]`), `events[${index}]`);
      });
      return frame as unknown as EventsFrame;
    }
    case "synced":
      traceId(frame.trace_id, "trace_id");
      integer(frame.last_seq, "last_seq", -1, MAX_SEQ);
      if (frame.more !== undefined) boolean(frame.more, "more");
      return frame as unknown as SyncedFrame;
    case "pong":
      return frame as unknown as PongFrame;
    case "error":
      oneOf(frame.code, ERROR_CODES, "code");
      string(frame.message, "message");
      if (frame.retry_after_ms !== undefined) integer(frame.retry_after_ms, "retry_after_ms", 0);
      return frame as unknown as ErrorFrame;
    case "conflict":
      traceId(frame.trace_id, "trace_id");
      integer(frame.seq, "seq", 0, MAX_SEQ);
      uuid(frame.event_id, "event_id");
      if (string(frame.reason, "reason").length > 512) throw new ServerFrameError("reason is too long");
      return frame as unknown as ConflictFrame;
    case "conflicts": {
      traceId(frame.trace_id, "trace_id");
      integer(frame.count, "count", 1, MAX_CONFLICTS_COUNTED);
      boolean(frame.more, "more");
      if (!Array.isArray(frame.refused) || frame.refused.length > MAX_CONFLICTS_LISTED) {
        throw new ServerFrameError(`refused must be an array of at most ${MAX_CONFLICTS_LISTED}`);
      }
      frame.refused.forEach((item, index) => {
        const refused = record(item, `refused[${index}]`);
        integer(refused.seq, `refused[${index}].seq`, 0, MAX_SEQ);
        uuid(refused.event_id, `refused[${index}].event_id`);
      });
      return frame as unknown as ConflictsFrame;
    }
    case "runs": {
      if (!Array.isArray(frame.runs) || frame.runs.length > MAX_RUNS_PAGE) {
        throw new ServerFrameError(`runs must be an array of at most ${MAX_RUNS_PAGE}`);
      }
      frame.runs.forEach((run, index) => {
        runSummary(record(run, `runs[${index}]`), `runs[${index}]`);
      });
      if (frame.next !== undefined && string(frame.next, "next").length > MAX_RUNS_CURSOR_CHARS) {
        throw new ServerFrameError("next is too long");
      }
      return frame as unknown as RunsFrame;
    }
    case "run":
      runSummary(record(frame.run, "run"), "run");
      return frame as unknown as RunFrame;
    default:
      throw new ServerFrameError(`unknown frame type ${JSON.stringify(frame.type)}`);
  }
}

type Json = Record<string, unknown>;

function record(value: unknown, path: string): Json {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ServerFrameError(`${path} must be an object`);
  }
  return value as Json;
}

function string(value: unknown, path: string): string {
  if (typeof value !== "string") throw new ServerFrameError(`${path} must be a string`);
  return value;
}

function boolean(value: unknown, path: string): void {
  if (typeof value !== "boolean") throw new ServerFrameError(`${path} must be a boolean`);
}

function number(value: unknown, path: string, min = -Infinity, max = Infinity): number {
  if (typeof value !== "number" || !Number.isFinite(value) || value < min || value > max) {
    throw new ServerFrameError(`${path} must be a number from ${min} to ${max}`);
  }
  return value;
}

function integer(value: unknown, path: string, min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER) {
  if (!Number.isSafeInteger(number(value, path, min, max))) {
    throw new ServerFrameError(`${path} must be an integer`);
  }
}

function oneOf<T extends string>(value: unknown, options: readonly T[], path: string): void {
  if (!(options as readonly unknown[]).includes(value)) {
    throw new ServerFrameError(`${path} must be one of ${options.join(", ")}`);
  }
}

function matches(value: unknown, pattern: RegExp, path: string): void {
  if (!pattern.test(string(value, path))) throw new ServerFrameError(`${path} is malformed`);
}

function traceId(value: unknown, path: string): void {
  matches(value, TRACE_ID_PATTERN, path);
}

function runSummary(run: Json, path: string): void {
  traceId(run.trace_id, `${path}.trace_id`);
  if (run.goal !== undefined && string(run.goal, `${path}.goal`).length > MAX_RUN_GOAL_CHARS) {
    throw new ServerFrameError(`${path}.goal is too long`);
  }
  oneOf(run.status, RUN_STATUSES, `${path}.status`);
  for (const key of [
    "started_at",
    "last_event_at",
    "tool_calls",
    "errors",
    "model_calls",
    "input_tokens",
    "output_tokens",
  ]) {
    integer(run[key], `${path}.${key}`, 0);
  }
  number(run.cost_usd, `${path}.cost_usd`, 0);
}

/** RFC 9562 UUIDs (versions 1–8), the nil and the max UUID. */
const UUID =
  /^([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[1-8][0-9a-fA-F]{3}-[89abAB][0-9a-fA-F]{3}-[0-9a-fA-F]{12}|00000000-0000-0000-0000-000000000000|ffffffff-ffff-ffff-ffff-ffffffffffff)$/;

function uuid(value: unknown, path: string): void {
  matches(value, UUID, path);
}

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
/** Seconds are required, as zod's `z.iso.datetime()` requires them ("12:00Z" is refused by both). */
const TIME = /^([01]\d|2[0-3]):[0-5]\d:[0-5]\d(?:\.\d+)?$/;
const OFFSET = /^(?:Z|[+-](?:[01]\d|2[0-3]):?[0-5]\d)$/;

/** ISO 8601 date-times as the schema takes them: UTC (`Z`), or with an offset where allowed. */
function isoDateTime(value: unknown, path: string, allowOffset: boolean): void {
  const text = string(value, path);
  const t = text.indexOf("T");
  const date = DATE.exec(text.slice(0, t));
  const rest = text.slice(t + 1);
  const zone = rest.search(/Z|[+-]/);
  const valid =
    t > 0 &&
    date !== null &&
    validDate(Number(date[1]), Number(date[2]), Number(date[3])) &&
    zone > 0 &&
    TIME.test(rest.slice(0, zone)) &&
    OFFSET.test(rest.slice(zone)) &&
    (allowOffset || rest.slice(zone) === "Z");
  if (!valid) throw new ServerFrameError(`${path} must be an ISO 8601 date-time`);
}

function validDate(year: number, month: number, day: number): boolean {
  if (month < 1 || month > 12 || day < 1) return false;
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  const days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1] ?? 0;
  return day <= days;
}

/** How each known metadata key is checked when present. */
type Check = (value: unknown, path: string) => void;
const text: Check = string;
const count: Check = (value, path) => integer(value, path, 0);
const millis: Check = (value, path) => number(value, path, 0);
const anyNumber: Check = (value, path) => number(value, path);
const flag: Check = boolean;
const isoTime: Check = (value, path) => isoDateTime(value, path, true);
const budget: Check = (value, path) => {
  if (typeof value === "number") {
    number(value, path);
    return;
  }
  const budgets = record(value, path);
  for (const [key, amount] of Object.entries(budgets)) number(amount, `${path}.${key}`);
};

const METADATA_CHECKS: Readonly<Record<EventName, Readonly<Record<string, Check>>>> = {
  plan_created: { goal: text, steps: count, profile: text, total_budget: budget },
  route_decision: { agent: text, reason: text },
  tool_call_start: { tool: text, domain: text, side_effect_class: text, call_id: text },
  tool_call_complete: { tool: text, call_id: text, duration_ms: millis, success: flag },
  tool_call_error: { tool: text, call_id: text, error: text, error_type: text, duration_ms: millis },
  budget_warning: {
    budget_type: text,
    used: anyNumber,
    limit: anyNumber,
    utilization: (value, path) => number(value, path, 0, 1),
  },
  budget_exceeded: { budget_type: text, limit: anyNumber, domain: text, tool: text },
  approval_requested: { approval_id: text, tool: text, risk_level: text, expires_at: isoTime },
  approval_received: {
    approval_id: text,
    decision: (value, path) => oneOf(value, ["approved", "rejected"], path),
    reason: text,
  },
  approval_timeout: { approval_id: text },
  plan_completed: { duration_ms: millis, steps_completed: count },
  plan_failed: { error: text, error_type: text },
  llm_call_start: { call_id: text, provider: text, model: text, parent_call_id: text },
  llm_call_complete: {
    call_id: text,
    provider: text,
    model: text,
    input_tokens: count,
    output_tokens: count,
    cache_read_tokens: count,
    cost_usd: millis,
    duration_ms: millis,
    finish_reason: text,
    parent_call_id: text,
  },
  llm_call_error: {
    call_id: text,
    provider: text,
    model: text,
    error: text,
    error_type: text,
    input_tokens: count,
    output_tokens: count,
    duration_ms: millis,
    parent_call_id: text,
  },
  custom: {
    name: (value, path) => {
      const name = string(value, path);
      if (name.length < 1 || name.length > 128)
        throw new ServerFrameError(`${path} must be 1-128 characters`);
    },
  },
};

/** A TraceEvent, or an event of a name this version does not know (metadata left opaque). */
function receivedEvent(event: Json, path: string): void {
  uuid(event.event_id, `${path}.event_id`);
  traceId(event.trace_id, `${path}.trace_id`);
  integer(event.seq, `${path}.seq`, 0, MAX_SEQ);
  isoDateTime(event.timestamp, `${path}.timestamp`, false);
  oneOf(event.status, EVENT_STATUSES, `${path}.status`);
  if (event.schema_version !== 1) throw new ServerFrameError(`${path}.schema_version must be 1`);
  if (event.span_id !== undefined) matches(event.span_id, SPAN_ID_PATTERN, `${path}.span_id`);
  if (event.parent_id !== undefined) matches(event.parent_id, SPAN_ID_PATTERN, `${path}.parent_id`);
  const name = string(event.event, `${path}.event`);
  if (!EVENT_NAME_PATTERN.test(name)) throw new ServerFrameError(`${path}.event is malformed`);
  const metadata = record(event.metadata, `${path}.metadata`);
  if (!isEventName(name)) return;
  const issue = metadataShapeIssue(metadata);
  if (issue) throw new ServerFrameError(`${path}.metadata: ${issue.message}`);
  const checks = METADATA_CHECKS[name];
  for (const key of Object.keys(checks)) {
    const value = metadata[key];
    if (value === undefined) {
      if (name === "custom") throw new ServerFrameError(`${path}.metadata.name is required`);
      continue;
    }
    checks[key]?.(value, `${path}.metadata.${key}`);
  }
}
