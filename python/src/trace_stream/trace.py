"""`Trace`: one agent run, published to the trace-stream bus (mirrors client/producer.ts)."""

from __future__ import annotations

import asyncio
import contextvars
import datetime as _dt
import functools
import inspect
import re
import sys
import threading
import time
import uuid
from typing import Any, Callable, Dict, List, Literal, Optional, Tuple, TypeVar, Union, cast
from urllib.parse import urlparse

from ._data import to_json_data
from ._schema import describe_issues, trace_event_validator
from .batching import MAX_EVENT_BYTES, event_json, utf8_bytes
from .delivery import BUFFER_FULL_CODE, DeliveryQueue
from .errors import DeliveryFailure, TraceDeliveryError, TraceEventError, TraceStateError
from .redact import iso_time, redact

DEFAULT_BUS_NAME = "trace-stream"
DEFAULT_SOURCE = "trace-stream"
DEFAULT_BASE_DELAY = 0.1
DEFAULT_MAX_DELAY = 5.0
#: Seconds after emit an event may keep being resent: an outage shorter than this loses nothing.
DEFAULT_RETRY_BUDGET = 300.0
DEFAULT_MAX_BUFFERED_EVENTS = 10_000
DEFAULT_MAX_BUFFERED_BYTES = 16 * 1024 * 1024
#: The buffer must hold at least one largest event.
MIN_BUFFERED_BYTES = MAX_EVENT_BYTES + 32 * 1024
MAX_SEQ = 9_999_999_999

TRACE_ID_PATTERN = re.compile(r"[A-Za-z0-9._:/-]{1,128}", re.ASCII)
SPAN_ID_PATTERN = re.compile(r"[A-Za-z0-9._:/-]{1,64}", re.ASCII)

#: Events that end a trace: viewers stop listening there, so nothing may follow.
TERMINAL_EVENTS = frozenset({"plan_completed", "plan_failed"})

#: The status each event normally has (helpers and `emit` use it when none is given).
TYPICAL_STATUS: Dict[str, str] = {
    "plan_created": "success",
    "route_decision": "success",
    "tool_call_start": "pending",
    "tool_call_complete": "success",
    "tool_call_error": "error",
    "llm_call_start": "pending",
    "llm_call_complete": "success",
    "llm_call_error": "error",
    "budget_warning": "warning",
    "budget_exceeded": "warning",
    "approval_requested": "pending",
    "approval_received": "success",
    "approval_timeout": "error",
    "plan_completed": "success",
    "plan_failed": "error",
    "custom": "success",
}

_LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})

#: The innermost running call of each trace in this context: (trace, span id).
_current_span: "contextvars.ContextVar[Optional[Tuple[Trace, str]]]" = contextvars.ContextVar(
    "trace_stream_span", default=None
)

Event = Dict[str, Any]
#: pending | success | error | warning (the schema refuses anything else at runtime too).
EventStatus = Literal["pending", "success", "error", "warning"]
F = TypeVar("F", bound=Callable[..., Any])


def describe_error(error: Union[BaseException, str, object]) -> Dict[str, str]:
    """Message and type of anything raised, for `error`/`error_type` metadata."""
    if isinstance(error, BaseException):
        return {"error": str(error) or type(error).__name__, "error_type": type(error).__name__}
    if isinstance(error, str):
        return {"error": error, "error_type": "Error"}
    return {"error": str(error), "error_type": type(error).__name__}


def new_trace_id(prefix: Optional[str] = None) -> str:
    """A fresh trace id: a UUID, after `prefix-` when a prefix is given (`new_trace_id("checkout")` →
    `checkout-0b7c…`). Every run needs its own id; reusing one makes the emitter refuse the run."""
    trace_id = str(uuid.uuid4()) if prefix is None else f"{prefix}-{uuid.uuid4()}"
    if not TRACE_ID_PATTERN.fullmatch(trace_id):
        raise TraceEventError(
            "invalid_event", f"trace id prefix: must leave 1-128 characters of A-Za-z0-9._:/-, got {prefix!r}"
        )
    return trace_id


def _now_iso() -> str:
    return iso_time(_dt.datetime.now(_dt.timezone.utc))


def _elapsed_ms(since: float) -> float:
    return round((time.perf_counter() - since) * 1000, 3)


def _without_none(values: Dict[str, Any]) -> Dict[str, Any]:
    return {key: value for key, value in values.items() if value is not None}


def _make_client(endpoint_url: Optional[str], region_name: Optional[str], connect_timeout: float,
                 read_timeout: float) -> Any:
    import boto3
    from botocore.config import Config

    local = endpoint_url is not None and urlparse(endpoint_url).hostname in _LOOPBACK_HOSTS
    kwargs: Dict[str, Any] = {}
    if endpoint_url is not None:
        kwargs["endpoint_url"] = endpoint_url
    if region_name is not None or local:
        kwargs["region_name"] = region_name or "us-east-1"
    session = boto3.session.Session()
    if local:
        # The local stack accepts any credentials; fixed ones spare the chain's slow metadata lookups.
        kwargs["aws_access_key_id"] = "local"
        kwargs["aws_secret_access_key"] = "local"
    # The delivery queue owns retries (per entry, with its own limits); botocore's would multiply them.
    config = Config(retries={"total_max_attempts": 1}, connect_timeout=connect_timeout, read_timeout=read_timeout)
    return session.client("events", config=config, **kwargs)


class Trace:
    """One agent run. `emit` and every helper are cheap and never block on the network: each validates
    the event against TraceEvent v1 (the JSON Schema shipped in this package), redacts it, takes the
    next seq (dense, in call order; a refused event takes none) and queues it; a background thread
    sends it. `flush()`/`close()` wait for delivery and raise `TraceDeliveryError` naming the seqs
    that could not be delivered.

    Connection: `endpoint_url` (e.g. `http://127.0.0.1:4010` for `npm start`; default AWS),
    `region_name` and credentials from boto3's usual chain (a loopback endpoint gets `us-east-1`
    and fixed dummy credentials), or a ready `client` (a boto3 EventBridge client).

    Outages: an event is resent for `retry_budget` seconds (5 minutes) after its emit, from a buffer
    of at most `max_buffered_events` and `max_buffered_bytes`. When that is full, `emit` raises
    `TraceStateError` "buffer_full" without using a seq (`when_buffer_full="raise"`), or drops the
    event and reports it (`"drop"`); `buffer_full` and `wait_for_room()` say when to go on.

    Give every run its own `trace_id` (default: a new UUID, see `new_trace_id`): a run that reuses
    one another run wrote has every seq they share refused by the emitter (`seq_conflict`).
    """

    def __init__(
        self,
        trace_id: Optional[str] = None,
        *,
        endpoint_url: Optional[str] = None,
        bus_name: str = DEFAULT_BUS_NAME,
        source: str = DEFAULT_SOURCE,
        region_name: Optional[str] = None,
        client: Any = None,
        next_seq: int = 0,
        max_attempts: Optional[int] = None,
        base_delay: float = DEFAULT_BASE_DELAY,
        max_delay: float = DEFAULT_MAX_DELAY,
        retry_budget: float = DEFAULT_RETRY_BUDGET,
        max_buffered_events: int = DEFAULT_MAX_BUFFERED_EVENTS,
        max_buffered_bytes: int = DEFAULT_MAX_BUFFERED_BYTES,
        when_buffer_full: Literal["raise", "drop"] = "raise",
        linger: float = 0.0,
        connect_timeout: float = 5.0,
        read_timeout: float = 10.0,
        on_delivery_error: Optional[Callable[[TraceDeliveryError], None]] = None,
    ) -> None:
        trace_id = str(uuid.uuid4()) if trace_id is None else trace_id
        if not isinstance(trace_id, str) or not TRACE_ID_PATTERN.fullmatch(trace_id):
            raise TraceEventError(
                "invalid_event", f"trace_id: must be 1-128 characters of A-Za-z0-9._:/-, got {trace_id!r}"
            )
        if isinstance(next_seq, bool) or not isinstance(next_seq, int) or not 0 <= next_seq <= MAX_SEQ:
            raise ValueError("next_seq must be an integer >= 0")
        if max_attempts is not None and (
            isinstance(max_attempts, bool) or not isinstance(max_attempts, int) or max_attempts < 1
        ):
            raise ValueError("max_attempts must be None or an integer >= 1")
        for name, limit, minimum in (("max_buffered_events", max_buffered_events, 1),
                                     ("max_buffered_bytes", max_buffered_bytes, MIN_BUFFERED_BYTES)):
            if isinstance(limit, bool) or not isinstance(limit, int) or limit < minimum:
                raise ValueError(f"{name} must be an integer >= {minimum}")
        if when_buffer_full not in ("raise", "drop"):
            raise ValueError(f'when_buffer_full must be "raise" or "drop", got {when_buffer_full!r}')
        for name, value in (("base_delay", base_delay), ("max_delay", max_delay), ("retry_budget", retry_budget),
                            ("linger", linger)):
            if not isinstance(value, (int, float)) or value < 0:
                raise ValueError(f"{name} must be a number >= 0")
        self._trace_id = trace_id
        self._next_seq = next_seq
        self._when_buffer_full = when_buffer_full
        self._lock = threading.Lock()
        self._ended = False
        self._closed = False
        self._started_at = time.perf_counter()
        self._plan_started_at: Optional[float] = None
        self._validator = trace_event_validator()
        if client is None:
            client = _make_client(endpoint_url, region_name, connect_timeout, read_timeout)
        self._queue = DeliveryQueue(
            client,
            bus_name=bus_name,
            source=source,
            max_attempts=max_attempts,
            base_delay=base_delay,
            max_delay=max_delay,
            retry_budget=retry_budget,
            linger=linger,
            max_events=max_buffered_events,
            max_bytes=max_buffered_bytes,
            on_delivery_error=on_delivery_error,
        )

    # -- state -----------------------------------------------------------------------------------

    @property
    def trace_id(self) -> str:
        """Known before the run: share it with viewers first."""
        return self._trace_id

    @property
    def next_seq(self) -> int:
        """The seq the next accepted event gets."""
        return self._next_seq

    @property
    def ended(self) -> bool:
        """True once `plan_completed` or `plan_failed` was emitted."""
        return self._ended

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def pending(self) -> int:
        """Events emitted but not yet accepted by EventBridge (nor finally failed): the buffer's fill."""
        return self._queue.pending

    @property
    def buffer_full(self) -> bool:
        """True while the delivery buffer may have no room for another event: `emit` would raise
        `TraceStateError` "buffer_full" (or drop the event, with `when_buffer_full="drop"`)."""
        return self._queue.buffer_full

    def wait_for_room(self, timeout: Optional[float] = None) -> bool:
        """Blocks until the buffer has room for another event; False if `timeout` seconds passed first."""
        return self._queue.wait_for_room(timeout)

    async def await_for_room(self) -> None:
        """`wait_for_room()` for asyncio code: waits in a worker thread."""
        await asyncio.get_running_loop().run_in_executor(None, self._queue.wait_for_room, None)

    @property
    def failures(self) -> List[DeliveryFailure]:
        """Every final delivery failure so far."""
        return self._queue.failures

    # -- the one way in --------------------------------------------------------------------------

    def emit(
        self,
        event: str,
        metadata: Optional[Dict[str, Any]] = None,
        status: Optional[EventStatus] = None,
        *,
        span_id: Optional[str] = None,
        parent_id: Optional[str] = None,
    ) -> Event:
        """Emits one event; `status` defaults to the event's typical status. Returns the event as it
        will be sent (redacted). Raises `TraceEventError` (invalid, unknown name, over 96 KiB) or
        `TraceStateError` (closed, the trace already ended, or "buffer_full"); then no seq is used."""
        data = to_json_data({} if metadata is None else metadata)
        with self._lock:
            if self._closed:
                raise TraceStateError("trace_closed", f"trace {self._trace_id} is closed")
            if self._ended:
                raise TraceStateError(
                    "trace_ended",
                    f"trace {self._trace_id} already ended; viewers stop at its terminal event, "
                    f"so {event!r} would be lost",
                )
            candidate: Event = {
                "event_id": str(uuid.uuid4()),
                "trace_id": self._trace_id,
                "seq": self._next_seq,
                "event": event,
                "timestamp": _now_iso(),
                "status": status if status is not None else TYPICAL_STATUS.get(str(event), "success"),
                "metadata": data,
                "schema_version": 1,
            }
            if span_id is not None:
                candidate["span_id"] = span_id
            if parent_id is not None:
                candidate["parent_id"] = parent_id
            issues = self._validator.issues(candidate)
            if issues:
                raise TraceEventError("invalid_event", describe_issues(issues))
            accepted = {**candidate, "metadata": redact(data)}
            size = utf8_bytes(event_json(accepted))
            if size > MAX_EVENT_BYTES:
                raise TraceEventError(
                    "event_too_large",
                    f"serialized event is {size} bytes; the limit is {MAX_EVENT_BYTES} (96 KiB)",
                )
            if not self._queue.offer(accepted):
                held = f"{self._queue.pending} events, {self._queue.buffered_bytes} bytes"
                if self._when_buffer_full == "raise":
                    raise TraceStateError(
                        "buffer_full",
                        f"the delivery buffer is full ({held} not yet accepted by EventBridge); "
                        "wait_for_room() and emit again",
                    )
                self._queue.refuse(accepted, BUFFER_FULL_CODE, f"dropped: the delivery buffer was full ({held})")
            self._next_seq += 1
            if event in TERMINAL_EVENTS:
                self._ended = True
            return accepted

    # -- helpers ---------------------------------------------------------------------------------

    def plan(self, goal: Optional[str] = None, steps: Optional[int] = None, **metadata: Any) -> Event:
        """`plan_created`; the plan's start also times `complete()`."""
        event = self.emit("plan_created", {**_without_none({"goal": goal, "steps": steps}), **metadata})
        self._plan_started_at = time.perf_counter()
        return event

    def route(self, agent: Optional[str] = None, reason: Optional[str] = None, **metadata: Any) -> Event:
        """`route_decision`: which agent takes the work, and why."""
        return self.emit("route_decision", {**_without_none({"agent": agent, "reason": reason}), **metadata})

    def tool_call(self, tool: str, **metadata: Any) -> "ToolCall":
        """A tool call, as a context manager or a decorator: `tool_call_start` on enter,
        `tool_call_complete` (with duration_ms) on exit, `tool_call_error` when the block raises (the
        exception propagates). Known metadata: domain, side_effect_class, call_id (default: a UUID)."""
        return ToolCall(self, tool, metadata)

    def llm_call(self, model: str, **metadata: Any) -> "LlmCall":
        """A model call, as a context manager or a decorator: `llm_call_start` on enter,
        `llm_call_complete` on exit (add usage with `call.update(input_tokens=..., output_tokens=...,
        cost_usd=..., finish_reason=...)` or `call.complete(...)`), `llm_call_error` when it raises.
        Known metadata: provider, call_id (default: a UUID), parent_call_id."""
        return LlmCall(self, model, metadata)

    def budget_warning(self, used: float, limit: float, budget_type: Optional[str] = None,
                       utilization: Optional[float] = None, **metadata: Any) -> Event:
        """`budget_warning`; utilization is used/limit clamped to [0, 1] unless given."""
        if utilization is None:
            utilization = min(1.0, max(0.0, used / limit)) if limit > 0 else 1.0
        return self.emit(
            "budget_warning",
            {**_without_none({"budget_type": budget_type}), "used": used, "limit": limit,
             "utilization": utilization, **metadata},
        )

    def budget_exceeded(self, budget_type: Optional[str] = None, limit: Optional[float] = None,
                        **metadata: Any) -> Event:
        """`budget_exceeded`."""
        return self.emit("budget_exceeded", {**_without_none({"budget_type": budget_type, "limit": limit}), **metadata})

    def approval(self, tool: Optional[str] = None, risk_level: Optional[str] = None,
                 expires_at: Union[str, _dt.datetime, None] = None, approval_id: Optional[str] = None,
                 **metadata: Any) -> "Approval":
        """Emits `approval_requested` and returns the approval, to settle with `received()` or `timeout()`."""
        approval_id = approval_id if approval_id is not None else str(uuid.uuid4())
        if isinstance(expires_at, _dt.datetime):
            expires_at = iso_time(expires_at)
        request = self.emit(
            "approval_requested",
            {**_without_none({"tool": tool, "risk_level": risk_level, "expires_at": expires_at}),
             **metadata, "approval_id": approval_id},
        )
        return Approval(self, approval_id, request)

    def custom(self, name: str, status: Optional[EventStatus] = None, **metadata: Any) -> Event:
        """`custom`: anything the canonical events do not cover; `name` says what it is."""
        return self.emit("custom", {**metadata, "name": name}, status)

    def complete(self, **metadata: Any) -> Event:
        """`plan_completed`, duration_ms measured from `plan()` (or from creation) unless given. Ends the trace."""
        since = self._plan_started_at if self._plan_started_at is not None else self._started_at
        return self.emit("plan_completed", {"duration_ms": round((time.perf_counter() - since) * 1000), **metadata})

    def fail(self, error: Union[BaseException, str], error_type: Optional[str] = None, **metadata: Any) -> Event:
        """`plan_failed` with the error's message and type. Ends the trace."""
        described = describe_error(error)
        if error_type is not None:
            described["error_type"] = error_type
        return self.emit("plan_failed", {**described, **metadata})

    # -- delivery --------------------------------------------------------------------------------

    def flush(self, timeout: Optional[float] = None) -> None:
        """Waits for every event emitted so far. Raises `TraceDeliveryError` listing every event that
        finally failed so far, and (after `timeout` seconds) every one still undelivered."""
        self._queue.flush(timeout)

    def close(self, timeout: Optional[float] = None) -> None:
        """Stops accepting events, then flushes (raising like `flush()`); after `timeout` seconds what
        is left is abandoned and reported in the error's `failed_seqs`. Safe to call again."""
        with self._lock:
            self._closed = True
        self._queue.close(timeout)

    async def aflush(self, timeout: Optional[float] = None) -> None:
        """`flush()` for asyncio code: waits in a worker thread, never blocking the event loop."""
        await asyncio.get_running_loop().run_in_executor(None, self.flush, timeout)

    async def aclose(self, timeout: Optional[float] = None) -> None:
        """`close()` for asyncio code."""
        await asyncio.get_running_loop().run_in_executor(None, self.close, timeout)

    def __enter__(self) -> "Trace":
        return self

    def __exit__(self, exc_type: Any, exc: Optional[BaseException], tb: Any) -> None:
        """Fails the trace with the exception that left the block (if it had not ended), then closes.
        A delivery failure is raised, unless the block's own exception is already on its way: then
        it is reported on stderr and the block's exception propagates."""
        self._fail_with(exc)
        try:
            self.close()
        except TraceDeliveryError as error:
            if exc is None:
                raise
            print(f"trace-stream: {error}", file=sys.stderr)

    def _fail_with(self, exc: Optional[BaseException]) -> None:
        if exc is not None and not self._ended and not self._closed:
            try:
                self.fail(exc)
            except (TraceEventError, TraceStateError):
                pass  # the block's own exception is the one to see

    async def __aenter__(self) -> "Trace":
        return self

    async def __aexit__(self, exc_type: Any, exc: Optional[BaseException], tb: Any) -> None:
        self._fail_with(exc)
        try:
            await self.aclose()
        except TraceDeliveryError as error:
            if exc is None:
                raise
            print(f"trace-stream: {error}", file=sys.stderr)


class _Call:
    """A tool or model call: a context manager (sync and async) and a decorator."""

    _start_event = ""
    _complete_event = ""
    _error_event = ""
    _name_key = ""

    def __init__(self, trace: Trace, name: str, metadata: Dict[str, Any]) -> None:
        self._trace = trace
        self.name = name
        self._metadata = dict(metadata)
        self._fixed_call_id = self._metadata.pop("call_id", None)
        self.call_id: str = self._fixed_call_id if self._fixed_call_id is not None else str(uuid.uuid4())
        self._extra: Dict[str, Any] = {}
        self._started_at: Optional[float] = None
        self._finished = False
        self._token: Optional[contextvars.Token[Optional[Tuple[Trace, str]]]] = None
        self.start_event: Optional[Event] = None
        self._span_fields: Dict[str, Any] = {}

    @property
    def started(self) -> bool:
        return self._started_at is not None

    @property
    def finished(self) -> bool:
        return self._finished

    def _identity(self) -> Dict[str, Any]:
        """Keys every event of the call carries."""
        return {self._name_key: self.name, "call_id": self.call_id}

    def _span(self) -> Dict[str, Any]:
        if not SPAN_ID_PATTERN.fullmatch(self.call_id):
            return {}
        span: Dict[str, Any] = {"span_id": self.call_id}
        current = _current_span.get()
        if current is not None and current[0] is self._trace:
            span["parent_id"] = current[1]
        return span

    def start(self) -> "_Call":
        """Emits the start event (entering the `with` block does this)."""
        if self.started:
            raise TraceStateError("call_started", f"call {self.call_id} ({self.name}) already started")
        self._span_fields = self._span()
        self.start_event = self._trace.emit(
            self._start_event, {**self._metadata, **self._identity()}, **self._span_fields
        )
        self._started_at = time.perf_counter()
        return self

    def update(self, **metadata: Any) -> None:
        """Adds metadata to the event that will finish the call (token usage, cost, results)."""
        self._extra.update(metadata)

    def elapsed_ms(self) -> float:
        return 0.0 if self._started_at is None else _elapsed_ms(self._started_at)

    def complete(self, **metadata: Any) -> Event:
        """Emits the complete event now, with duration_ms; `metadata` adds or overrides keys."""
        return self._finish(self._complete_event, {**self._completion_defaults(), **self._extra, **metadata})

    def fail(self, error: Union[BaseException, str], **metadata: Any) -> Event:
        """Emits the error event now, with the error's message and type and duration_ms."""
        return self._finish(self._error_event, {**self._extra, **describe_error(error), **metadata})

    def _completion_defaults(self) -> Dict[str, Any]:
        return {}

    def _finish(self, event: str, metadata: Dict[str, Any]) -> Event:
        if not self.started:
            raise TraceStateError("call_not_started", f"call {self.call_id} ({self.name}) was never started")
        if self._finished:
            raise TraceStateError("call_finished", f"call {self.call_id} ({self.name}) already finished")
        carried = {key: self._metadata[key] for key in self._carried_keys if key in self._metadata}
        emitted = self._trace.emit(
            event,
            {**carried, "duration_ms": self.elapsed_ms(), **metadata, **self._identity()},
            **self._span_fields,
        )
        self._finished = True
        return emitted

    _carried_keys: Tuple[str, ...] = ()

    # -- context manager ---------------------------------------------------------------------------

    def __enter__(self) -> "_Call":
        self.start()
        if "span_id" in self._span_fields:
            self._token = _current_span.set((self._trace, self._span_fields["span_id"]))
        return self

    def __exit__(self, exc_type: Any, exc: Optional[BaseException], tb: Any) -> None:
        if self._token is not None:
            _current_span.reset(self._token)
            self._token = None
        if self._finished:
            return
        if exc is None:
            self.complete()
            return
        try:
            self.fail(exc)
        except (TraceEventError, TraceStateError):
            pass  # the block's own exception is the one to see

    async def __aenter__(self) -> "_Call":
        return self.__enter__()

    async def __aexit__(self, exc_type: Any, exc: Optional[BaseException], tb: Any) -> None:
        self.__exit__(exc_type, exc, tb)

    # -- decorator ---------------------------------------------------------------------------------

    def _fresh(self) -> "_Call":
        if self._fixed_call_id is not None:
            raise TraceStateError(
                "call_started", "a decorator makes one call per invocation; do not give it a call_id"
            )
        return type(self)(self._trace, self.name, self._metadata)

    def __call__(self, function: F) -> F:
        """Decorates a function (sync or async): every invocation is one call of its own."""
        if self.started:
            raise TraceStateError("call_started", "decorate with an unstarted call: @trace.tool_call(name)")
        if inspect.iscoroutinefunction(function):

            @functools.wraps(function)
            async def run_async(*args: Any, **kwargs: Any) -> Any:
                async with self._fresh():
                    return await function(*args, **kwargs)

            return cast(F, run_async)

        @functools.wraps(function)
        def run(*args: Any, **kwargs: Any) -> Any:
            with self._fresh():
                return function(*args, **kwargs)

        return cast(F, run)


class ToolCall(_Call):
    """`tool_call_start` → `tool_call_complete` (success: true) or `tool_call_error`."""

    _start_event = "tool_call_start"
    _complete_event = "tool_call_complete"
    _error_event = "tool_call_error"
    _name_key = "tool"

    @property
    def tool(self) -> str:
        return self.name

    def _completion_defaults(self) -> Dict[str, Any]:
        return {"success": True}

    def __enter__(self) -> "ToolCall":
        super().__enter__()
        return self

    async def __aenter__(self) -> "ToolCall":
        return self.__enter__()


class LlmCall(_Call):
    """`llm_call_start` → `llm_call_complete` (with usage given to `update`/`complete`) or `llm_call_error`."""

    _start_event = "llm_call_start"
    _complete_event = "llm_call_complete"
    _error_event = "llm_call_error"
    _name_key = "model"
    _carried_keys = ("provider", "parent_call_id")

    @property
    def model(self) -> str:
        return self.name

    def __enter__(self) -> "LlmCall":
        super().__enter__()
        return self

    async def __aenter__(self) -> "LlmCall":
        return self.__enter__()


class Approval:
    """A pending approval: settle it once with `received` or `timeout`."""

    def __init__(self, trace: Trace, approval_id: str, request_event: Event) -> None:
        self._trace = trace
        self.approval_id = approval_id
        self.request_event = request_event
        self._settled = False

    @property
    def settled(self) -> bool:
        return self._settled

    def received(self, decision: str, reason: Optional[str] = None, **metadata: Any) -> Event:
        """`approval_received`: status success when "approved", error when "rejected"."""
        return self._settle(
            "approval_received",
            {**metadata, **_without_none({"reason": reason}), "decision": decision},
            "error" if decision == "rejected" else "success",
        )

    def timeout(self, **metadata: Any) -> Event:
        """`approval_timeout`."""
        return self._settle("approval_timeout", dict(metadata), "error")

    def _settle(self, event: str, metadata: Dict[str, Any], status: EventStatus) -> Event:
        if self._settled:
            raise TraceStateError("approval_settled", f"approval {self.approval_id} already settled")
        emitted = self._trace.emit(event, {"approval_id": self.approval_id, **metadata}, status)
        self._settled = True
        return emitted
