import type { TraceEvent } from "../protocol/trace-event.js";
import { TraceStateError } from "./producer-errors.js";

/** What the handles need from their trace: emit an event with known metadata keys. */
export interface CallEmitter {
  emitFor(
    event: "tool_call_complete" | "tool_call_error" | "approval_received" | "approval_timeout",
    metadata: Record<string, unknown>,
    status?: "success" | "error",
  ): TraceEvent;
}

/** Message and type of anything thrown, for `error`/`error_type` metadata. */
export function describeError(error: unknown): { error: string; error_type: string } {
  if (error instanceof Error) return { error: error.message, error_type: error.name };
  if (typeof error === "string") return { error, error_type: "Error" };
  return { error: String(error), error_type: typeof error };
}

/** A started tool call: finish it once with `complete` or `fail`; both carry its call_id and duration. */
export class ToolCall {
  readonly #trace: CallEmitter;
  readonly #startedAt: number;
  #finished = false;

  constructor(
    trace: CallEmitter,
    readonly tool: string,
    readonly callId: string,
    /** The `tool_call_start` event. */
    readonly startEvent: TraceEvent,
  ) {
    this.#trace = trace;
    this.#startedAt = performance.now();
  }

  get finished(): boolean {
    return this.#finished;
  }

  /** Milliseconds since the call started. */
  elapsedMs(): number {
    return Math.round((performance.now() - this.#startedAt) * 1000) / 1000;
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
    if (this.#finished) {
      throw new TraceStateError("call_finished", `tool call ${this.callId} (${this.tool}) already finished`);
    }
    const emitted = this.#trace.emitFor(event, {
      tool: this.tool,
      call_id: this.callId,
      duration_ms: this.elapsedMs(),
      ...metadata,
    });
    this.#finished = true;
    return emitted;
  }
}

export type ApprovalDecision = "approved" | "rejected";

/** A pending approval: settle it once with `received` or `timeout`. */
export class Approval {
  readonly #trace: CallEmitter;
  #settled = false;

  constructor(
    trace: CallEmitter,
    readonly approvalId: string,
    /** The `approval_requested` event. */
    readonly requestEvent: TraceEvent,
  ) {
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
