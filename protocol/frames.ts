import { z } from "zod";
import {
  MAX_CONFLICTS_COUNTED,
  MAX_CONFLICTS_LISTED,
  MAX_RUN_GOAL_CHARS,
  MAX_RUNS_CURSOR_CHARS,
  MAX_RUNS_PAGE,
  MAX_RUNS_SEARCH_CHARS,
  MAX_SEQ,
  TARGET_BATCH_BYTES,
  utf8Bytes,
} from "./limits.js";
import { ERROR_CODES, parseServerFrame as parseFrame, RUN_FILTERS, RUN_STATUSES } from "./server-frames.js";
import { ReceivedTraceEvent, Seq, type TraceEvent, TraceId } from "./trace-event.js";

/** Codes carried by `{"type":"error"}` frames (each described in server-frames.ts). */
export const ErrorCode = z.enum(ERROR_CODES);
export type ErrorCode = z.infer<typeof ErrorCode>;

/** Client to server: JSON with `action` (route selection `$request.body.action`). */
export const PingMessage = z.object({ action: z.literal("ping") });
export const ResumeMessage = z.object({
  action: z.literal("resume"),
  /** Last contiguous seq the client holds; -1 when it holds none. */
  afterSeq: z.number().int().min(-1).max(MAX_SEQ),
});
/** On a runs connection (`?runs=1`): one page of the runs list, newest first. */
export const ListRunsMessage = z.strictObject({
  action: z.literal("listRuns"),
  /** The `next` of the previous page. */
  after: z.string().min(1).max(MAX_RUNS_CURSOR_CHARS).optional(),
  status: z.enum(RUN_FILTERS).optional(),
  /** A trace id prefix, or words of the goal (case-insensitive). */
  search: z.string().max(MAX_RUNS_SEARCH_CHARS).optional(),
  limit: z.number().int().min(1).max(MAX_RUNS_PAGE).optional(),
  /** A running run with no event for this long counts as stalled: 1 s to 1 day. */
  stalledAfterMs: z.number().int().min(1000).max(86_400_000).optional(),
});
export const ClientMessage = z.discriminatedUnion("action", [PingMessage, ResumeMessage, ListRunsMessage]);
export type ClientMessage = z.infer<typeof ClientMessage>;
export type ResumeMessage = z.infer<typeof ResumeMessage>;
export type ListRunsMessage = z.infer<typeof ListRunsMessage>;
export {
  RAW_PING,
  RAW_PONG,
  RUN_FILTERS,
  RUN_STATUSES,
  type RunFilter,
  type RunStatus,
  ServerFrameError,
} from "./server-frames.js";

/**
 * Server to client: JSON with `type`. Events in frames may carry names this version does not know
 * (a newer server); subscribers accept them (ReceivedTraceEvent) rather than drop the frame.
 */
export const EventFrame = z.intersection(ReceivedTraceEvent, z.object({ type: z.literal("event") }));
export const EventsFrame = z.object({
  type: z.literal("events"),
  trace_id: TraceId,
  events: z.array(ReceivedTraceEvent),
});
export const SyncedFrame = z.object({
  type: z.literal("synced"),
  trace_id: TraceId,
  /**
   * Highest seq this replay covered, -1 when nothing is stored. Without `more`, the highest stored
   * seq when the replay read the table.
   */
  last_seq: z.number().int().min(-1).max(MAX_SEQ),
  /**
   * The replay stopped at its page limit (or the server's time budget) before the end of the
   * trace: ask again with `resume` from `last_seq` for the next page.
   */
  more: z.boolean().optional(),
});
export const PongFrame = z.object({ type: z.literal("pong") });
export const ErrorFrame = z.object({
  type: z.literal("error"),
  code: ErrorCode,
  message: z.string(),
  /** With `rate_limited`: how long to wait before asking again. */
  retry_after_ms: z.number().int().min(0).optional(),
});

/** An event the emitter refused because another event already holds its seq: no body, only its place. */
export const RefusedEvent = z.object({ seq: Seq, event_id: z.uuid() });
/**
 * Live, from the emitter: an event for this trace was refused (`seq_conflict`) because its seq is
 * taken, almost always because another run reused the trace id. What viewers show stays the
 * first run's events; this says that a second run is being refused.
 */
export const ConflictFrame = z.object({
  type: z.literal("conflict"),
  trace_id: TraceId,
  seq: Seq,
  event_id: z.uuid(),
  reason: z.string().max(512),
});
/**
 * From `resume`, before the replayed events (a client that stops at the terminal event still reads
 * it): how many events were refused for this trace so far, counted from what is stored.
 */
export const ConflictsFrame = z.object({
  type: z.literal("conflicts"),
  trace_id: TraceId,
  /** Refused events counted (at most MAX_CONFLICTS_COUNTED). */
  count: z.number().int().min(1).max(MAX_CONFLICTS_COUNTED),
  /** More were refused than `count`: counting stopped at its limit. */
  more: z.boolean(),
  /** The first refused events, ascending by seq (at most MAX_CONFLICTS_LISTED). */
  refused: z.array(RefusedEvent).max(MAX_CONFLICTS_LISTED),
});
/** One row of the runs list. Times are epoch milliseconds. */
export const RunSummaryWire = z.object({
  trace_id: TraceId,
  goal: z.string().max(MAX_RUN_GOAL_CHARS).optional(),
  status: z.enum(RUN_STATUSES),
  started_at: z.number().int().min(0),
  /** Kept coarse: refreshed at most every few seconds while nothing else changes. */
  last_event_at: z.number().int().min(0),
  tool_calls: z.number().int().min(0),
  errors: z.number().int().min(0),
  model_calls: z.number().int().min(0),
  input_tokens: z.number().int().min(0),
  output_tokens: z.number().int().min(0),
  cost_usd: z.number().min(0),
});
/** A page of the runs list, newest first, answering `listRuns`. */
export const RunsFrame = z.object({
  type: z.literal("runs"),
  runs: z.array(RunSummaryWire).max(MAX_RUNS_PAGE),
  /** Pass as `after` for the next page; absent on the last. */
  next: z.string().max(MAX_RUNS_CURSOR_CHARS).optional(),
});
/** Live, from the emitter: a run's summary changed (or a new run started). */
export const RunFrame = z.object({ type: z.literal("run"), run: RunSummaryWire });

export const ServerFrame = z.union([
  RunsFrame,
  RunFrame,
  EventFrame,
  EventsFrame,
  SyncedFrame,
  PongFrame,
  ErrorFrame,
  ConflictFrame,
  ConflictsFrame,
]);

export type EventFrame = z.infer<typeof EventFrame>;
export type EventsFrame = z.infer<typeof EventsFrame>;
export type SyncedFrame = z.infer<typeof SyncedFrame>;
export type PongFrame = z.infer<typeof PongFrame>;
export type ErrorFrame = z.infer<typeof ErrorFrame>;
export type RefusedEvent = z.infer<typeof RefusedEvent>;
export type ConflictFrame = z.infer<typeof ConflictFrame>;
export type ConflictsFrame = z.infer<typeof ConflictsFrame>;
export type ServerFrame = z.infer<typeof ServerFrame>;
export type RunSummaryWire = z.infer<typeof RunSummaryWire>;
export type RunsFrame = z.infer<typeof RunsFrame>;
export type RunFrame = z.infer<typeof RunFrame>;

export function runsFrame(runs: readonly RunSummaryWire[], next: string | undefined): string {
  return JSON.stringify({
    type: "runs",
    runs: [...runs],
    ...(next === undefined ? {} : { next }),
  } satisfies RunsFrame);
}

export function runFrame(run: RunSummaryWire): string {
  return JSON.stringify({ type: "run", run } satisfies RunFrame);
}

export function eventFrame(event: TraceEvent): string {
  return JSON.stringify({ type: "event", ...event });
}

export function syncedFrame(traceId: string, lastSeq: number, more = false): string {
  return JSON.stringify({ type: "synced", trace_id: traceId, last_seq: lastSeq, ...(more ? { more } : {}) });
}

export function pongFrame(): string {
  return JSON.stringify({ type: "pong" });
}

export function errorFrame(code: ErrorCode, message: string, retryAfterMs?: number): string {
  return JSON.stringify({
    type: "error",
    code,
    message,
    ...(retryAfterMs === undefined ? {} : { retry_after_ms: retryAfterMs }),
  });
}

/** The reason every conflict frame gives: the same words wherever a user meets a conflict. */
export function conflictReason(seq: number): string {
  return `seq ${seq} of this trace is already held by another event: another run most likely reused the trace id; this event was refused`;
}

export function conflictFrame(traceId: string, refused: RefusedEvent): string {
  return JSON.stringify({
    type: "conflict",
    trace_id: traceId,
    seq: refused.seq,
    event_id: refused.event_id,
    reason: conflictReason(refused.seq),
  } satisfies ConflictFrame);
}

export function conflictsFrame(
  traceId: string,
  summary: { readonly count: number; readonly more: boolean; readonly refused: readonly RefusedEvent[] },
): string {
  return JSON.stringify({
    type: "conflicts",
    trace_id: traceId,
    count: Math.min(summary.count, MAX_CONFLICTS_COUNTED),
    more: summary.more,
    refused: summary.refused.slice(0, MAX_CONFLICTS_LISTED).map(({ seq, event_id }) => ({ seq, event_id })),
  } satisfies ConflictsFrame);
}

const EVENTS_FRAME_OVERHEAD = utf8Bytes(JSON.stringify({ type: "events", trace_id: "", events: [] }));

/**
 * Packs events (ascending seq) into `events` frames of at most `targetBytes` each, as they come
 * (page by page from the table). An event larger than the target travels alone; events are at
 * most 96 KiB, so no frame exceeds 128 KiB.
 */
export class ReplayBatcher {
  private batch: string[] = [];
  private batchBytes: number;
  private readonly overhead: number;

  private readonly traceId: string;
  private readonly targetBytes: number;
  constructor(traceId: string, targetBytes = TARGET_BATCH_BYTES) {
    this.traceId = traceId;
    this.targetBytes = targetBytes;
    this.overhead = EVENTS_FRAME_OVERHEAD + utf8Bytes(JSON.stringify(traceId)) - 2;
    this.batchBytes = this.overhead;
  }

  /** Adds one event; returns the frames it completed (zero or one). */
  add(event: TraceEvent): string[] {
    const json = JSON.stringify(event);
    const size = utf8Bytes(json);
    const frames =
      this.batch.length > 0 && this.batchBytes + 1 + size > this.targetBytes ? this.finish() : [];
    this.batchBytes += size + (this.batch.length > 0 ? 1 : 0);
    this.batch.push(json);
    return frames;
  }

  /** Returns the last, partly filled frame, if any. */
  finish(): string[] {
    if (this.batch.length === 0) return [];
    const frame = `{"type":"events","trace_id":${JSON.stringify(this.traceId)},"events":[${this.batch.join(",")}]}`;
    this.batch = [];
    this.batchBytes = this.overhead;
    return [frame];
  }
}

export function replayFrames(
  traceId: string,
  events: readonly TraceEvent[],
  targetBytes = TARGET_BATCH_BYTES,
): string[] {
  const batcher = new ReplayBatcher(traceId, targetBytes);
  return [...events.flatMap((event) => batcher.add(event)), ...batcher.finish()];
}

/**
 * Parses a server frame (hand-written checks, equivalent to `ServerFrame`, so subscribers need no
 * zod); throws a `ServerFrameError`, or a `SyntaxError` for text that is not JSON.
 */
export function parseServerFrame(text: string): ServerFrame {
  return parseFrame(text) as ServerFrame;
}
