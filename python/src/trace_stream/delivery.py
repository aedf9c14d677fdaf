"""Background delivery of accepted events with PutEvents (mirrors client/producer-delivery.ts).

One daemon thread per trace sends one request at a time, each as full as the limits allow (≤ 10
entries, < 256 KiB). Entries that fail with a retryable code, and whole requests that fail with
throttling, a server fault or a connection error, go back to the front of the queue and are resent
after a full-jitter backoff, until the event's retry budget (time since it was queued) runs out, or
`max_attempts` when one is set. When a request fails as a whole after that, queued events whose
budget also ran out fail with it, instead of one request each. The queue holds at most
`max_events` events and `max_bytes` entry bytes, queued or in flight.
"""

from __future__ import annotations

import atexit
import random
import sys
import threading
import time
import weakref
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Mapping, Optional, Set

from .batching import MAX_EVENT_BYTES, put_events_entry_size, take_batch, to_put_events_entry
from .errors import DeliveryFailure, TraceDeliveryError

#: DeliveryFailure.code of an event dropped for want of room (when_buffer_full="drop").
BUFFER_FULL_CODE = "BufferFull"
#: DeliveryFailure.code of an event still unsent when flush/close stopped waiting.
UNDELIVERED_CODE = "Undelivered"
#: The longest event name, in bytes: with a whole 96 KiB event, the largest entry.
_MAX_EVENT_NAME_BYTES = 64

#: Entry error codes EventBridge documents as retryable; every other code is final.
RETRYABLE_ENTRY_CODES = frozenset({"InternalFailure", "ThrottlingException"})

#: Whole-request error codes worth another attempt (throttling, server faults).
RETRYABLE_ERROR_CODES = frozenset(
    {"ThrottlingException", "Throttling", "TooManyRequestsException", "InternalException",
     "InternalFailure", "ServiceUnavailable", "ServiceUnavailableException", "RequestTimeout",
     "RequestTimeoutException"}
)


def error_code_of(error: BaseException) -> str:
    """The service's error code for a ClientError, the class name otherwise (EndpointConnectionError)."""
    response = getattr(error, "response", None)
    if isinstance(response, dict):
        code = response.get("Error", {}).get("Code")
        if isinstance(code, str) and code:
            return code
    return type(error).__name__


def is_retryable_error(error: BaseException) -> bool:
    """Throttling, server faults (5xx, 429) and connection trouble are retried; the rest is final."""
    from botocore import exceptions

    if isinstance(error, (exceptions.ConnectionError, exceptions.HTTPClientError)):
        return True
    if isinstance(error, exceptions.ClientError):
        if error_code_of(error) in RETRYABLE_ERROR_CODES:
            return True
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        return isinstance(status, int) and (status >= 500 or status == 429)
    return isinstance(error, (ConnectionError, TimeoutError))


@dataclass
class _Outgoing:
    id: int
    event: Mapping[str, Any]
    entry: Dict[str, str]
    size: int
    queued_at: float
    attempts: int = 0


class DeliveryQueue:
    def __init__(
        self,
        client: Any,
        *,
        bus_name: str,
        source: str,
        max_attempts: Optional[int],
        base_delay: float,
        max_delay: float,
        retry_budget: float,
        linger: float,
        max_events: int,
        max_bytes: int,
        on_delivery_error: Optional[Callable[[TraceDeliveryError], None]],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self._bus_name = bus_name
        self._source = source
        self._max_attempts = max_attempts
        self._base_delay = base_delay
        self._max_delay = max_delay
        self._retry_budget = retry_budget
        self._linger = linger
        self._max_events = max_events
        self._max_bytes = max_bytes
        self._room_bytes = MAX_EVENT_BYTES + len(source.encode("utf-8")) + _MAX_EVENT_NAME_BYTES
        self._on_delivery_error = on_delivery_error
        self._clock = clock
        self._lock = threading.Condition()
        self._queue: List[_Outgoing] = []
        self._unsettled: Dict[int, _Outgoing] = {}
        self._buffered_bytes = 0
        self._failures: List[DeliveryFailure] = []
        self._last_error: Optional[BaseException] = None
        self._next_id = 0
        self._thread: Optional[threading.Thread] = None
        self._stopping = False
        # Set when close() gives up: the thread stops without sending what is left.
        self._abandon = threading.Event()
        _LIVE_QUEUES.add(self)

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._unsettled)

    @property
    def failures(self) -> List[DeliveryFailure]:
        with self._lock:
            return list(self._failures)

    @property
    def buffered_bytes(self) -> int:
        with self._lock:
            return self._buffered_bytes

    @property
    def buffer_full(self) -> bool:
        """True while the buffer may have no room for another event (of the largest size)."""
        with self._lock:
            return not self._has_room(self._room_bytes)

    def _has_room(self, size: int) -> bool:
        return len(self._unsettled) < self._max_events and self._buffered_bytes + size <= self._max_bytes

    def offer(self, event: Mapping[str, Any]) -> bool:
        """Queues an event for sending; False (and nothing queued) when the buffer has no room for it."""
        entry = to_put_events_entry(event, self._bus_name, self._source)
        size = put_events_entry_size(entry)
        with self._lock:
            if not self._has_room(size):
                return False
            item = _Outgoing(self._next_id, event, entry, size, self._clock())
            self._next_id += 1
            self._queue.append(item)
            self._unsettled[item.id] = item
            self._buffered_bytes += size
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="trace-stream-delivery", daemon=True)
                self._thread.start()
            self._lock.notify_all()
            return True

    def refuse(self, event: Mapping[str, Any], code: str, message: str) -> None:
        """Records an event that will never be sent (dropped for want of room) as a failure."""
        failure = DeliveryFailure(
            trace_id=str(event["trace_id"]), seq=int(event["seq"]), event_id=str(event["event_id"]),
            code=code, message=message, attempts=0,
        )
        with self._lock:
            self._failures.append(failure)
        self._report([failure], None)

    def wait_for_room(self, timeout: Optional[float] = None) -> bool:
        """Waits until the buffer has room for an event of any size; False if `timeout` passed first."""
        with self._lock:
            return self._lock.wait_for(
                lambda: self._abandon.is_set() or self._has_room(self._room_bytes), timeout
            )

    def flush(self, timeout: Optional[float] = None) -> None:
        """Waits until every event enqueued so far settled; raises TraceDeliveryError listing every
        failure so far, plus (after `timeout` seconds) every event still undelivered."""
        deadline = None if timeout is None else time.monotonic() + max(0.0, timeout)
        with self._lock:
            waiting: Set[int] = set(self._unsettled)
            while waiting & self._unsettled.keys():
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    break
                self._lock.wait(remaining)
            failures = list(self._failures)
            for item_id in sorted(waiting & self._unsettled.keys()):
                item = self._unsettled[item_id]
                failures.append(_failure(item, UNDELIVERED_CODE, f"not delivered within {timeout} s"))
            cause = self._last_error
        if failures:
            raise TraceDeliveryError(failures, cause)

    def close(self, timeout: Optional[float] = None) -> None:
        """Flushes, then stops the thread; what is still queued at the timeout is abandoned and reported."""
        try:
            self.flush(timeout)
        finally:
            with self._lock:
                self._stopping = True
                self._abandon.set()
                # Whatever is left will never be sent: later flushes report it instead of waiting.
                for item in self._unsettled.values():
                    self._failures.append(_failure(item, UNDELIVERED_CODE, "abandoned when close() timed out"))
                self._unsettled.clear()
                self._buffered_bytes = 0
                self._queue.clear()
                self._lock.notify_all()
            _LIVE_QUEUES.discard(self)

    # -- the sending thread ----------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            with self._lock:
                while not self._queue and not self._stopping:
                    self._lock.wait()
                if self._abandon.is_set() or (self._stopping and not self._queue):
                    return
            if self._linger > 0:
                self._abandon.wait(self._linger)
            with self._lock:
                batch = take_batch(self._queue)
            if not batch:
                continue
            retry = self._send(batch)
            if retry:
                with self._lock:
                    self._queue[:0] = retry
                # Never sleep past a budget: the last resend happens when it runs out.
                budget_left = min(item.queued_at for item in retry) + self._retry_budget - self._clock()
                backoff = self._backoff(max(item.attempts for item in retry))
                self._abandon.wait(max(0.0, min(backoff, budget_left)))

    def _backoff(self, attempt: int) -> float:
        # Capped exponent: with no attempt limit, 2 ** attempt would outgrow a float.
        ceiling: float = min(self._max_delay, self._base_delay * 2 ** min(attempt - 1, 64))
        return random.random() * ceiling

    def _within_budget(self, item: _Outgoing) -> bool:
        return self._clock() - item.queued_at < self._retry_budget

    def _may_retry(self, item: _Outgoing) -> bool:
        if self._max_attempts is not None and item.attempts >= self._max_attempts:
            return False
        return self._within_budget(item)

    def _send(self, batch: List[_Outgoing]) -> List[_Outgoing]:
        for item in batch:
            item.attempts += 1
        retry: List[_Outgoing] = []
        done: List[_Outgoing] = []
        failed: List[DeliveryFailure] = []

        def fail(item: _Outgoing, code: str, message: str, retryable: bool) -> None:
            if retryable and self._may_retry(item):
                retry.append(item)
            else:
                failed.append(_failure(item, code, message))
                done.append(item)

        error: Optional[BaseException] = None
        try:
            output = self._client.put_events(Entries=[item.entry for item in batch])
        except Exception as caught:  # every error is classified below; none may kill the thread
            error = caught
            code, message, retryable = error_code_of(caught), str(caught), is_retryable_error(caught)
            for item in batch:
                fail(item, code, message, retryable)
            if retryable:
                # The service is still failing: queued events whose budget ran out while they waited
                # their turn fail now, with this error, instead of one request after another.
                with self._lock:
                    expired = [item for item in self._queue if not self._within_budget(item)]
                    self._queue[:] = [item for item in self._queue if self._within_budget(item)]
                for item in expired:
                    failed.append(_failure(item, code, message))
                    done.append(item)
        else:
            results = output.get("Entries") or []
            failed_count = output.get("FailedEntryCount") or 0
            for index, item in enumerate(batch):
                result = results[index] if index < len(results) else None
                if result is not None and result.get("ErrorCode"):
                    code = result["ErrorCode"]
                    fail(item, code, result.get("ErrorMessage") or code, code in RETRYABLE_ENTRY_CODES)
                elif result is None and failed_count > 0:
                    # A response without per-entry results cannot say which entries failed: resend.
                    fail(item, "MissingResult", "PutEvents reported failures without per-entry results", True)
                else:
                    done.append(item)
        with self._lock:
            if error is not None:
                self._last_error = error
            # Failures are recorded before anything settles, so a flush that returns now sees them.
            self._failures.extend(failed)
            for item in done:
                if self._unsettled.pop(item.id, None) is not None:
                    self._buffered_bytes -= item.size
            self._lock.notify_all()
        self._report(failed, error)
        return retry

    def _report(self, failed: List[DeliveryFailure], error: Optional[BaseException]) -> None:
        listener = self._on_delivery_error
        if failed and listener is not None:
            try:
                listener(TraceDeliveryError(failed, error))
            except Exception as listener_error:  # a listener's bug must not stop delivery
                print(f"trace-stream: on_delivery_error raised {listener_error!r}", file=sys.stderr)


def _failure(item: _Outgoing, code: str, message: str) -> DeliveryFailure:
    return DeliveryFailure(
        trace_id=str(item.event["trace_id"]),
        seq=int(item.event["seq"]),
        event_id=str(item.event["event_id"]),
        code=code,
        message=message,
        attempts=item.attempts,
    )


#: Queues not yet closed; at interpreter exit each gets a bounded flush so a short script that
#: forgot close() still delivers (and says on stderr what it could not).
_LIVE_QUEUES: "weakref.WeakSet[DeliveryQueue]" = weakref.WeakSet()
EXIT_FLUSH_SECONDS = 10.0


@atexit.register
def _flush_at_exit() -> None:
    for queue in list(_LIVE_QUEUES):
        try:
            queue.close(EXIT_FLUSH_SECONDS)
        except TraceDeliveryError as error:
            print(f"trace-stream: {error}", file=sys.stderr)
