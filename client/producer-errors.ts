import { TraceEventError } from "../protocol/validate.js";

/** Re-exported so producers catch every error of the SDK from one module. */
export { TraceEventError };

export type TraceStateErrorCode =
  /** `emit` after `close()`. */
  | "trace_closed"
  /** `emit` after a terminal event (`plan_completed`, `plan_failed`): viewers stop listening there. */
  | "trace_ended"
  /** `complete`/`fail` on a tool call that already finished. */
  | "call_finished"
  /** `received`/`timeout` on an approval that was already settled. */
  | "approval_settled";

/** A call that is not allowed in the trace's current state; thrown synchronously, nothing is sent. */
export class TraceStateError extends Error {
  override readonly name = "TraceStateError";
  constructor(
    readonly code: TraceStateErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** One event EventBridge never accepted. */
export interface DeliveryFailure {
  readonly traceId: string;
  readonly seq: number;
  readonly eventId: string;
  /** The entry's `ErrorCode`, the thrown error's name, or a network error code (`ECONNREFUSED`). */
  readonly code: string;
  readonly message: string;
  /** PutEvents calls made for this event, the last one included. */
  readonly attempts: number;
}

/**
 * Some events were finally not delivered: a non-retryable error, or retries exhausted. Raised by
 * `flush()` and `close()`, never by `emit()`; the trace now has gaps at `failedSeqs`.
 */
export class TraceDeliveryError extends Error {
  override readonly name = "TraceDeliveryError";
  /** Failures in ascending seq order. */
  readonly failures: readonly DeliveryFailure[];
  readonly failedSeqs: readonly number[];
  constructor(failures: readonly DeliveryFailure[], options?: { cause?: unknown }) {
    const sorted = [...failures].sort((a, b) => a.seq - b.seq);
    const first = sorted[0];
    super(
      `${sorted.length} trace event(s) not delivered (seq ${sorted.map((f) => f.seq).join(", ")})` +
        (first === undefined ? "" : `: ${first.code}: ${first.message}`),
      options,
    );
    this.failures = sorted;
    this.failedSeqs = sorted.map((failure) => failure.seq);
  }
}
