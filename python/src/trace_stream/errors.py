"""Every error the package raises, in one module (mirrors client/producer-errors.ts)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple


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
    "call_finished", "call_started" (a call entered twice), "approval_settled", "buffer_full" (the
    delivery buffer is full and `when_buffer_full` is "raise": no seq was used; `wait_for_room()`
    and emit again).
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
    #: The entry's ErrorCode, the exception's error code or class name; "BufferFull" for an event
    #: dropped for want of room (when_buffer_full="drop"); "Undelivered" when flush/close gave up
    #: waiting.
    code: str
    message: str
    #: PutEvents calls made for this event (0: never sent).
    attempts: int


@dataclass(frozen=True)
class UnacceptedSeqs:
    """The seqs of one trace that EventBridge never accepted, ascending."""

    trace_id: str
    seqs: Tuple[int, ...]


def seq_ranges(seqs: Sequence[int]) -> str:
    """`2-4, 7, 9-12`: ascending seqs as ranges, so a long outage stays one readable line."""
    parts: List[str] = []
    start: Optional[int] = None
    previous: Optional[int] = None
    for seq in seqs:
        if previous is not None and seq == previous + 1:
            previous = seq
            continue
        if start is not None and previous is not None:
            parts.append(str(start) if start == previous else f"{start}-{previous}")
        start = previous = seq
    if start is not None and previous is not None:
        parts.append(str(start) if start == previous else f"{start}-{previous}")
    return ", ".join(parts)


class TraceDeliveryError(Exception):
    """Some events were not delivered: a final error, the retry budget used up, no room in the buffer,
    or a flush/close timeout.

    Raised by `flush()` and `close()`, never by `emit()`; the trace has gaps at `failed_seqs`.
    `unaccepted` names exactly which seqs of which trace EventBridge never accepted.
    """

    def __init__(self, failures: Sequence[DeliveryFailure], cause: Optional[BaseException] = None) -> None:
        ordered = tuple(sorted(failures, key=lambda failure: (failure.trace_id, failure.seq)))
        groups: List[Tuple[str, List[int]]] = []
        for failure in ordered:
            if groups and groups[-1][0] == failure.trace_id:
                groups[-1][1].append(failure.seq)
            else:
                groups.append((failure.trace_id, [failure.seq]))
        listed = "; ".join(f"trace {trace_id}: seq {seq_ranges(seqs)}" for trace_id, seqs in groups)
        first = f": {ordered[0].code}: {ordered[0].message}" if ordered else ""
        super().__init__(f"{len(ordered)} trace event(s) not delivered ({listed}){first}")
        self.failures: Tuple[DeliveryFailure, ...] = ordered
        self.failed_seqs: Tuple[int, ...] = tuple(failure.seq for failure in ordered)
        self.unaccepted: Tuple[UnacceptedSeqs, ...] = tuple(
            UnacceptedSeqs(trace_id, tuple(seqs)) for trace_id, seqs in groups
        )
        self.__cause__ = cause
