import type { TraceEvent } from "../protocol/trace-event.js";
import { TraceStateError } from "./producer-errors.js";

/** A node of the span tree (top-level `span_id` / `parent_id` of an event). */
export interface SpanIds {
  readonly span_id?: string;
  readonly parent_id?: string;
}

/** The span ids an event carries, so a call's end lands on the same node as its start. */
export function spanIdsOf(event: TraceEvent): SpanIds {
  return {
    ...(event.span_id === undefined ? {} : { span_id: event.span_id }),
    ...(event.parent_id === undefined ? {} : { parent_id: event.parent_id }),
  };
}

/** What the handles need from their trace: emit an event with known metadata keys. */
export interface CallEmitter {
  emitFor(
    event:
      | "tool_call_complete"
      | "tool_call_error"
      | "llm_call_complete"
      | "llm_call_error"
      | "approval_received"
      | "approval_timeout",
    metadata: Record<string, unknown>,
    status?: "success" | "error",
    span?: SpanIds,
  ): TraceEvent;
}

/** Message and type of anything thrown, for `error`/`error_type` metadata. */
export function describeError(error: unknown): { error: string; error_type: string } {
  if (error instanceof Error) return { error: error.message, error_type: error.name };
  if (typeof error === "string") return { error, error_type: "Error" };
  return { error: String(error), error_type: typeof error };
}

type CallEnd = "tool_call_complete" | "tool_call_error" | "llm_call_complete" | "llm_call_error";

/**
 * What tool and model calls share: finished once, the end carrying the start's call_id, span ids
 * and the time since the start.
 */
abstract class StartedCall {
  readonly #trace: CallEmitter;
  readonly #startedAt: number;
  #finished = false;

  readonly callId: string;
  constructor(trace: CallEmitter, callId: string) {
    this.callId = callId;
    this.#trace = trace;
    this.#startedAt = performance.now();
  }

  /** The start event, whose span ids the end repeats. */
  abstract readonly startEvent: TraceEvent;

  get finished(): boolean {
    return this.#finished;
  }

  /** Milliseconds since the call started. */
  elapsedMs(): number {
    return Math.round((performance.now() - this.#startedAt) * 1000) / 1000;
  }

  /** Emits the end: `identity` (call_id, name) first, the duration, then `metadata` over them. */
  protected finishWith(
    event: CallEnd,
    description: string,
    identity: Record<string, unknown>,
    metadata: Record<string, unknown>,
  ): TraceEvent {
    if (this.#finished) {
      throw new TraceStateError("call_finished", `${description} already finished`);
    }
    const emitted = this.#trace.emitFor(
      event,
      { ...identity, duration_ms: this.elapsedMs(), ...metadata },
      undefined,
      spanIdsOf(this.startEvent),
    );
    this.#finished = true;
    return emitted;
  }
}

/** A started tool call: finish it once with `complete` or `fail`; both carry its call_id and duration. */
export class ToolCall extends StartedCall {
  readonly tool: string;
  /** The `tool_call_start` event. */
  readonly startEvent: TraceEvent;
  constructor(trace: CallEmitter, tool: string, callId: string, startEvent: TraceEvent) {
    super(trace, callId);
    this.tool = tool;
    this.startEvent = startEvent;
  }

  /** Emits `tool_call_complete` (success: true); `extra` adds or overrides metadata. */
  complete(extra: Record<string, unknown> = {}): TraceEvent {
    return this.#finish("tool_call_complete", { success: true, ...extra });
  }

  /** Emits `tool_call_error` with the error's message and type. */
  fail(error: unknown, extra: Record<string, unknown> = {}): TraceEvent {
    return this.#finish("tool_call_error", { ...describeError(error), ...extra });
  }

  #finish(event: "tool_call_complete" | "tool_call_error", metadata: Record<string, unknown>): TraceEvent {
    return this.finishWith(
      event,
      `tool call ${this.callId} (${this.tool})`,
      { tool: this.tool, call_id: this.callId },
      metadata,
    );
  }
}

/** Usage a model call reports when it completes (GenAI conventions); extra keys are allowed. */
export interface LlmUsage {
  readonly input_tokens?: number;
  readonly output_tokens?: number;
  readonly cache_read_tokens?: number;
  readonly cost_usd?: number;
  readonly finish_reason?: string;
  /** The model that answered, when it differs from the one requested. */
  readonly model?: string;
  readonly [key: string]: unknown;
}

/** A started model call: finish it once with `complete` (usage) or `fail`; both carry call_id, model and duration. */
export class LlmCall extends StartedCall {
  readonly model: string;
  /** The `llm_call_start` event. */
  readonly startEvent: TraceEvent;
  constructor(trace: CallEmitter, model: string, callId: string, startEvent: TraceEvent) {
    super(trace, callId);
    this.model = model;
    this.startEvent = startEvent;
  }

  /** Emits `llm_call_complete` with token usage and cost. */
  complete(usage: LlmUsage = {}): TraceEvent {
    return this.#finish("llm_call_complete", { ...usage });
  }

  /** Emits `llm_call_error` with the error's message and type. */
  fail(error: unknown, extra: Record<string, unknown> = {}): TraceEvent {
    return this.#finish("llm_call_error", { ...describeError(error), ...extra });
  }

  #finish(event: "llm_call_complete" | "llm_call_error", metadata: Record<string, unknown>): TraceEvent {
    const { provider, parent_call_id: parentCallId } = this.startEvent.metadata as Record<string, unknown>;
    return this.finishWith(
      event,
      `model call ${this.callId} (${this.model})`,
      {
        call_id: this.callId,
        model: this.model,
        ...(provider === undefined ? {} : { provider }),
        ...(parentCallId === undefined ? {} : { parent_call_id: parentCallId }),
      },
      metadata,
    );
  }
}

export type ApprovalDecision = "approved" | "rejected";

/** A pending approval: settle it once with `received` or `timeout`. */
export class Approval {
  readonly #trace: CallEmitter;
  #settled = false;

  readonly approvalId: string;
  /** The `approval_requested` event. */
  readonly requestEvent: TraceEvent;
  constructor(trace: CallEmitter, approvalId: string, requestEvent: TraceEvent) {
    this.approvalId = approvalId;
    this.requestEvent = requestEvent;
    this.#trace = trace;
  }

  get settled(): boolean {
    return this.#settled;
  }

  /** Emits `approval_received`: status success when approved, error when rejected. */
  received(decision: { decision: ApprovalDecision; reason?: string; [key: string]: unknown }): TraceEvent {
    return this.#settle(
      "approval_received",
      { ...decision },
      decision.decision === "rejected" ? "error" : "success",
    );
  }

  /** Emits `approval_timeout`. */
  timeout(extra: Record<string, unknown> = {}): TraceEvent {
    return this.#settle("approval_timeout", { ...extra }, "error");
  }

  #settle(
    event: "approval_received" | "approval_timeout",
    metadata: Record<string, unknown>,
    status: "success" | "error",
  ): TraceEvent {
    if (this.#settled)
      throw new TraceStateError("approval_settled", `approval ${this.approvalId} already settled`);
    const emitted = this.#trace.emitFor(event, { approval_id: this.approvalId, ...metadata }, status);
    this.#settled = true;
    return emitted;
  }
}
