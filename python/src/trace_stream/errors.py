"""Every error the package raises, in one module (mirrors client/producer-errors.ts)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence, Tuple


class TraceEventError(ValueError):
    """An event that can never be accepted: invalid against TraceEvent v1, or larger than 96 KiB.

    Raised by `emit` (and every helper) before a seq is taken, so a refused event leaves no gap.
    `code` is "invalid_event" or "event_too_large"; `reason` lists every problem as `path: message`.
    """

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(f"{code}: {reason}")
        self.code = code
        self.reason = reason


class TraceStateError(RuntimeError):
    """A call not allowed in the trace's current state; nothing is sent.

    `code`: "trace_closed" (emit after close), "trace_ended" (emit after plan_completed/plan_failed),
    "call_finished", "call_started" (a call entered twice), "approval_settled".
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class DeliveryFailure:
    """One event EventBridge never accepted."""

    trace_id: str
    seq: int
    event_id: str
    #: The entry's ErrorCode, the exception's error code or class name, or "Undelivered" when
    #: flush/close gave up waiting.
    code: str
    message: str
    #: PutEvents calls made for this event.
    attempts: int


class TraceDeliveryError(Exception):
    """Some events were not delivered (a final error, retries exhausted, or a flush/close timeout).

    Raised by `flush()` and `close()`, never by `emit()`; the trace has gaps at `failed_seqs`.
    """

    def __init__(self, failures: Sequence[DeliveryFailure], cause: Optional[BaseException] = None) -> None:
        ordered = tuple(sorted(failures, key=lambda failure: (failure.trace_id, failure.seq)))
        seqs = ", ".join(str(failure.seq) for failure in ordered)
        first = f": {ordered[0].code}: {ordered[0].message}" if ordered else ""
        super().__init__(f"{len(ordered)} trace event(s) not delivered (seq {seqs}){first}")
        self.failures: Tuple[DeliveryFailure, ...] = ordered
        self.failed_seqs: Tuple[int, ...] = tuple(failure.seq for failure in ordered)
        self.__cause__ = cause
