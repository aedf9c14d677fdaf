/**
 * Producer SDK: publish an agent run's trace events to EventBridge.
 *
 *   const trace = createTrace({ endpoint: "http://127.0.0.1:4010" });
 *   console.log(trace.traceId);            // known before the run: viewers can subscribe first
 *   trace.plan({ goal: "Answer the ticket", steps: 3 });
 *   const call = trace.toolCall("search_kb", { domain: "support", side_effect_class: "read" });
 *   call.complete();
 *   trace.complete();
 *   await trace.close();                    // rejects with TraceDeliveryError if anything was lost
 *
 * Delivery survives outages: an event is resent for `retryBudgetMs` (5 minutes) after its emit,
 * from a bounded buffer (`maxBufferedEvents`, `maxBufferedBytes`; `bufferFull`, `waitForRoom()`).
 */
import { randomUUID } from "node:crypto";
import type { z } from "zod";
import {
  type EVENT_METADATA,
  type EventName,
  type EventStatus,
  Seq,
  SPAN_ID_PATTERN,
  TERMINAL_EVENTS,
  type TraceEvent,
  TraceId,
  TYPICAL_STATUS,
} from "../protocol/trace-event.js";
import { describeIssues, TraceEventError } from "../protocol/validate.js";
import {
  Approval,
  type CallEmitter,
  describeError,
  LlmCall,
  type SpanIds,
  ToolCall,
} from "./producer-calls.js";
import { type DeliveryFailure, TraceStateError } from "./producer-errors.js";
import { type PublisherOptions, TraceEventPublisher, type WaitOptions } from "./producer-publisher.js";

export { putEventsEntrySize, toPutEventsEntry } from "./producer-batching.js";
export {
  Approval,
  type ApprovalDecision,
  LlmCall,
  type LlmUsage,
  type SpanIds,
  ToolCall,
} from "./producer-calls.js";
export { BUFFER_FULL_CODE, UNDELIVERED_CODE } from "./producer-delivery.js";
export {
  type DeliveryFailure,
  TraceDeliveryError,
  TraceEventError,
  TraceStateError,
  type TraceStateErrorCode,
  type UnacceptedSeqs,
} from "./producer-errors.js";
export {
  type BufferFullPolicy,
  createPublisher,
  DEFAULT_BUS_NAME,
  DEFAULT_MAX_BUFFERED_BYTES,
  DEFAULT_MAX_BUFFERED_EVENTS,
  DEFAULT_RETRY_BUDGET_MS,
  type PublisherOptions,
  TraceEventPublisher,
  type WaitOptions,
} from "./producer-publisher.js";

/** Metadata a producer may pass for an event: its known keys typed, extra keys allowed. */
export type EventMetadata<Name extends EventName> = z.input<(typeof EVENT_METADATA)[Name]>;

export interface CreateTraceOptions extends PublisherOptions {
  /**
   * Default: a new UUID (`newTraceId()`). Must match the protocol's TraceId (1-128 of
   * `A-Za-z0-9._:/-`). Give each run its own: a run that reuses a trace id another run already
   * wrote has every seq it shares refused by the emitter (`seq_conflict`), and viewers are told so.
   */
  readonly traceId?: string | undefined;
  /** Seq of the first event emitted here; set it to continue a trace another process began. @default 0 */
  readonly nextSeq?: number | undefined;
}

export interface ToolCallOptions {
  readonly domain?: string;
  readonly side_effect_class?: string;
  /** Default: a new UUID. */
  readonly call_id?: string;
  /** The call's node in the span tree (top-level, not metadata). Default: the call_id when it fits. */
  readonly span_id?: string;
  /** The span it is nested in, e.g. another call's id. */
  readonly parent_id?: string;
  readonly [key: string]: unknown;
}

export interface LlmCallOptions {
  /** `gen_ai.provider.name`: openai, anthropic, aws.bedrock, ... */
  readonly provider?: string;
  /** Default: a new UUID. */
  readonly call_id?: string;
  /** The model call this one was made for (an agent's planner call, say). */
  readonly parent_call_id?: string;
  /** As for tool calls. Default: the call_id when it fits. */
  readonly span_id?: string;
  readonly parent_id?: string;
  readonly [key: string]: unknown;
}

export interface ApprovalOptions {
  readonly tool?: string;
  readonly risk_level?: string;
  /** ISO-8601 time or a Date. */
  readonly expires_at?: string | Date;
  /** Default: a new UUID. */
  readonly approval_id?: string;
  readonly [key: string]: unknown;
}

export interface BudgetWarningOptions {
  readonly budget_type?: string;
  readonly used: number;
  readonly limit: number;
  /** Default: used / limit, clamped to [0, 1]. */
  readonly utilization?: number;
  readonly [key: string]: unknown;
}

/**
 * One agent run. `emit` is synchronous and cheap: it assigns seq (dense from `nextSeq`, in call
 * order), event_id and timestamp, validates and redacts, queues the event and returns it; sending
 * happens in the background. It throws at once for an event that could never be delivered, and
 * such a failed call does not consume a seq.
 */
export class Trace {
  readonly traceId: string;
  readonly #publisher: TraceEventPublisher;
  readonly #startedAt = performance.now();
  readonly #emitter: CallEmitter;
  #nextSeq: number;
  #planStartedAt: number | undefined;
  #ended = false;

  constructor(options: CreateTraceOptions = {}) {
    const traceId = options.traceId ?? newTraceId();
    const parsedId = TraceId.safeParse(traceId);
    if (!parsedId.success) {
      throw new TraceEventError("invalid_event", `trace_id: ${describeIssues(parsedId.error)}`, {
        cause: parsedId.error,
      });
    }
    const nextSeq = options.nextSeq ?? 0;
    if (!Seq.safeParse(nextSeq).success) throw new RangeError("nextSeq must be an integer >= 0");
    this.traceId = traceId;
    this.#nextSeq = nextSeq;
    this.#publisher = new TraceEventPublisher(options);
    this.#emitter = {
      emitFor: (event, metadata, status, span) => this.emit(event, metadata, status, span),
    };
  }

  /** The seq the next emitted event gets. */
  get nextSeq(): number {
    return this.#nextSeq;
  }

  /** True once a terminal event (`plan_completed`, `plan_failed`) was emitted. */
  get ended(): boolean {
    return this.#ended;
  }

  get closed(): boolean {
    return this.#publisher.closed;
  }

  /** Events emitted but not yet accepted by EventBridge (nor finally failed): the buffer's fill. */
  get pending(): number {
    return this.#publisher.pending;
  }

  /**
   * True while the delivery buffer may have no room for another event (EventBridge is slow or
   * unreachable and `maxBufferedEvents`/`maxBufferedBytes` are reached): `emit` would throw
   * `TraceStateError` `buffer_full` (policy "throw", the default) or drop the event (policy "drop").
   */
  get bufferFull(): boolean {
    return this.#publisher.bufferFull;
  }

  /** Resolves once the buffer has room for another event: `await trace.waitForRoom()` before emitting. */
  waitForRoom(): Promise<void> {
    return this.#publisher.waitForRoom();
  }

  /** Every final delivery failure so far. */
  get failures(): readonly DeliveryFailure[] {
    return this.#publisher.failures;
  }

  /**
   * Emits one event; `status` defaults to the event's typical status. Returns the event as it will
   * be sent (redacted). Throws `TraceEventError` (invalid, over 96 KiB) or `TraceStateError`
   * (closed, the trace already ended, or `buffer_full`), and then uses no seq.
   */
  emit<Name extends EventName>(
    event: Name,
    metadata?: EventMetadata<Name>,
    status?: EventStatus,
    span: SpanIds = {},
  ): TraceEvent {
    if (this.#ended && !this.#publisher.closed) {
      throw new TraceStateError(
        "trace_ended",
        `trace ${this.traceId} already ended; viewers stop at its terminal event, so ${String(event)} would be lost`,
      );
    }
    const accepted = this.#publisher.publish({
      event_id: randomUUID(),
      trace_id: this.traceId,
      seq: this.#nextSeq,
      event,
      timestamp: new Date().toISOString(),
      status: status ?? (Object.hasOwn(TYPICAL_STATUS, event) ? TYPICAL_STATUS[event] : undefined),
      metadata: metadata ?? {},
      schema_version: 1,
      ...span,
    });
    this.#nextSeq++;
    if (TERMINAL_EVENTS.has(accepted.event)) this.#ended = true;
    return accepted;
  }

  /** `plan_created`; the plan's start also times `complete()`. */
  plan(metadata: EventMetadata<"plan_created"> = {}): TraceEvent {
    const event = this.emit("plan_created", metadata);
    this.#planStartedAt = performance.now();
    return event;
  }

  /** `route_decision`: which agent takes the work, and why. */
  route(metadata: EventMetadata<"route_decision">): TraceEvent {
    return this.emit("route_decision", metadata);
  }

  /** Emits `tool_call_start` and returns the call, to finish with `complete()` or `fail()`. */
  toolCall(tool: string, options: ToolCallOptions = {}): ToolCall {
    const { call_id: callId = randomUUID(), span_id: spanId, parent_id: parentId, ...rest } = options;
    const span = callSpan(callId, spanId, parentId);
    const start = this.emit("tool_call_start", { ...rest, tool, call_id: callId }, undefined, span);
    return new ToolCall(this.#emitter, tool, callId, start);
  }

  /** Emits `llm_call_start` and returns the call, to finish with `complete(usage)` or `fail()`. */
  llmCall(model: string, options: LlmCallOptions = {}): LlmCall {
    const { call_id: callId = randomUUID(), span_id: spanId, parent_id: parentId, ...rest } = options;
    const span = callSpan(callId, spanId, parentId);
    const start = this.emit("llm_call_start", { ...rest, model, call_id: callId }, undefined, span);
    return new LlmCall(this.#emitter, model, callId, start);
  }

  /**
   * Runs `work` as a model call: `llm_call_complete` with the usage `work` reports through
   * `call.complete(usage)` (or none) when it resolves, `llm_call_error` (and rethrow) when it throws.
   */
  async withLlmCall<Result>(
    model: string,
    options: LlmCallOptions,
    work: (call: LlmCall) => Promise<Result> | Result,
  ): Promise<Result> {
    return runAsCall(this.llmCall(model, options), work);
  }

  /** `custom`: anything the canonical events do not cover; `name` says what it is. */
  custom(
    name: string,
    metadata: Record<string, unknown> = {},
    status?: EventStatus,
    span?: SpanIds,
  ): TraceEvent {
    return this.emit("custom", { ...metadata, name }, status, span);
  }

  /** Runs `work` as a tool call: `tool_call_complete` when it resolves, `tool_call_error` (and rethrow) when it throws. */
  async withToolCall<Result>(
    tool: string,
    options: ToolCallOptions,
    work: (call: ToolCall) => Promise<Result> | Result,
  ): Promise<Result> {
    return runAsCall(this.toolCall(tool, options), work);
  }

  /** `budget_warning`, utilization computed from used/limit unless given. */
  budgetWarning(options: BudgetWarningOptions): TraceEvent {
    const utilization =
      options.utilization ?? (options.limit > 0 ? Math.min(1, Math.max(0, options.used / options.limit)) : 1);
    return this.emit("budget_warning", { ...options, utilization });
  }

  /** `budget_exceeded`. */
  budgetExceeded(metadata: EventMetadata<"budget_exceeded">): TraceEvent {
    return this.emit("budget_exceeded", metadata);
  }

  /** Emits `approval_requested` and returns the approval, to settle with `received()` or `timeout()`. */
  approval(options: ApprovalOptions = {}): Approval {
    const { approval_id: approvalId = randomUUID(), expires_at: expiresAt, ...rest } = options;
    const request = this.emit("approval_requested", {
      ...rest,
      approval_id: approvalId,
      ...(expiresAt === undefined
        ? {}
        : { expires_at: expiresAt instanceof Date ? expiresAt.toISOString() : expiresAt }),
    });
    return new Approval(this.#emitter, approvalId, request);
  }

  /** `plan_completed`, duration_ms measured from `plan()` (or from creation) unless given. Ends the trace. */
  complete(metadata: EventMetadata<"plan_completed"> = {}): TraceEvent {
    const since = this.#planStartedAt ?? this.#startedAt;
    return this.emit("plan_completed", { duration_ms: Math.round(performance.now() - since), ...metadata });
  }

  /** `plan_failed` with the error's message and type. Ends the trace. */
  fail(error: unknown, extra: Record<string, unknown> = {}): TraceEvent {
    return this.emit("plan_failed", { ...describeError(error), ...extra });
  }

  /**
   * Waits for every event emitted so far; rejects with `TraceDeliveryError` listing the seqs that
   * finally failed (`unaccepted`), and with `timeoutMs` also those still unsent then.
   */
  flush(options?: WaitOptions): Promise<void> {
    return this.#publisher.flush(options);
  }

  /**
   * Stops accepting events, then waits for delivery: each event is retried until accepted or its
   * retry budget runs out. Rejects with `TraceDeliveryError` whose `unaccepted` lists exactly the
   * seqs EventBridge never accepted. With `timeoutMs`, gives up on what is left then. Safe to call again.
   */
  close(options?: WaitOptions): Promise<void> {
    return this.#publisher.close(options);
  }
}

/**
 * A fresh trace id: a UUID, after `prefix-` when a prefix is given (`newTraceId("checkout")` →
 * `checkout-0b7c…`). Every run needs its own id; reusing one makes the emitter refuse the run.
 */
export function newTraceId(prefix?: string): string {
  const id = prefix === undefined ? randomUUID() : `${prefix}-${randomUUID()}`;
  const parsed = TraceId.safeParse(id);
  if (!parsed.success) {
    throw new TraceEventError("invalid_event", `trace id prefix: ${describeIssues(parsed.error)}`, {
      cause: parsed.error,
    });
  }
  return id;
}

/** A call's span ids: the given span_id, else its call_id when that is a valid span id. */
function callSpan(callId: string, spanId: string | undefined, parentId: string | undefined): SpanIds {
  const id = spanId ?? (SPAN_ID_PATTERN.test(callId) ? callId : undefined);
  return {
    ...(id === undefined ? {} : { span_id: id }),
    ...(parentId === undefined ? {} : { parent_id: parentId }),
  };
}

/** Starts a trace handle; nothing is sent until the first `emit`. */
export function createTrace(options?: CreateTraceOptions): Trace {
  return new Trace(options);
}

/** Runs `work` inside a started call: completes it when `work` resolves, fails it (and rethrows) when it throws, unless `work` finished it itself. */
async function runAsCall<
  Call extends { readonly finished: boolean; complete(): unknown; fail(error: unknown): unknown },
  Result,
>(call: Call, work: (call: Call) => Promise<Result> | Result): Promise<Result> {
  let result: Result;
  try {
    result = await work(call);
  } catch (error) {
    if (!call.finished) call.fail(error);
    throw error;
  }
  if (!call.finished) call.complete();
  return result;
}
