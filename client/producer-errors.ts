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
  | "approval_settled"
  /**
   * `emit` while the delivery buffer is full (`maxBufferedEvents`/`maxBufferedBytes`) and the policy
   * `whenBufferFull` is "throw": no seq was used; `await trace.waitForRoom()` and emit again.
   */
  | "buffer_full";

/** A call that is not allowed in the trace's current state; thrown synchronously, nothing is sent. */
export class TraceStateError extends Error {
  override readonly name = "TraceStateError";
  readonly code: TraceStateErrorCode;
  constructor(code: TraceStateErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}

/** One event EventBridge never accepted. */
export interface DeliveryFailure {
  readonly traceId: string;
  readonly seq: number;
  readonly eventId: string;
  /**
   * The entry's `ErrorCode`, the thrown error's name, or a network error code (`ECONNREFUSED`);
   * `BufferFull` for an event refused for want of room (policy "drop"); `Undelivered` for one still
   * unsent when `flush`/`close` stopped waiting.
   */
  readonly code: string;
  readonly message: string;
  /** PutEvents calls made for this event, the last one included (0: never sent). */
  readonly attempts: number;
}

/** The seqs of one trace that EventBridge never accepted, ascending. */
export interface UnacceptedSeqs {
  readonly traceId: string;
  readonly seqs: readonly number[];
}

/**
 * Some events were finally not delivered: a non-retryable error, the retry budget used up, no room
 * in the buffer, or `close()` gave up waiting. Raised by `flush()` and `close()`, never by
 * `emit()`; the trace now has gaps at `failedSeqs`.
 */
export class TraceDeliveryError extends Error {
  override readonly name = "TraceDeliveryError";
  /** Failures ordered by trace id, then seq. */
  readonly failures: readonly DeliveryFailure[];
  /** Every failed seq, in the order of `failures` (one trace for a `Trace`). */
  readonly failedSeqs: readonly number[];
  /** Exactly which seqs of which trace were never accepted. */
  readonly unaccepted: readonly UnacceptedSeqs[];
  constructor(failures: readonly DeliveryFailure[], options?: { cause?: unknown }) {
    const sorted = [...failures].sort((a, b) =>
      a.traceId === b.traceId ? a.seq - b.seq : a.traceId < b.traceId ? -1 : 1,
    );
    const unaccepted: UnacceptedSeqs[] = [];
    for (const failure of sorted) {
      const last = unaccepted.at(-1);
      if (last?.traceId === failure.traceId) (last.seqs as number[]).push(failure.seq);
      else unaccepted.push({ traceId: failure.traceId, seqs: [failure.seq] });
    }
    const first = sorted[0];
    super(
      `${sorted.length} trace event(s) not delivered (` +
        unaccepted.map((group) => `trace ${group.traceId}: seq ${seqRanges(group.seqs)}`).join("; ") +
        ")" +
        (first === undefined ? "" : `: ${first.code}: ${first.message}`),
      options,
    );
    this.failures = sorted;
    this.failedSeqs = sorted.map((failure) => failure.seq);
    this.unaccepted = unaccepted;
  }
}

/** `2-4, 7, 9-12`: ascending seqs as ranges, so a long outage stays one readable line. */
export function seqRanges(seqs: readonly number[]): string {
  const parts: string[] = [];
  let start: number | undefined;
  let previous: number | undefined;
  const close = () => {
    if (start === undefined || previous === undefined) return;
    parts.push(start === previous ? String(start) : `${start}-${previous}`);
  };
  for (const seq of seqs) {
    if (previous !== undefined && seq === previous + 1) {
      previous = seq;
      continue;
    }
    close();
    start = seq;
    previous = seq;
  }
  close();
  return parts.join(", ");
}
