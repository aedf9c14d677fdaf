"""trace-stream for Python: publish an AI agent run's trace events so viewers watch it live.

    from trace_stream import Trace

    with Trace(endpoint_url="http://127.0.0.1:4010") as trace:   # `npm start`; default: AWS
        print(trace.trace_id)                                    # share it with viewers first
        trace.plan(goal="Answer the ticket", steps=2)
        with trace.tool_call("search_kb", domain="support") as call:
            call.update(hits=3)
        trace.complete()
    # leaving the block closes the trace: waits for delivery, raises TraceDeliveryError on loss
"""

from ._schema import event_names
from .batching import MAX_BATCH_BYTES, MAX_EVENT_BYTES, MAX_PUT_EVENTS_ENTRIES, put_events_entry_size, take_batch
from .errors import DeliveryFailure, TraceDeliveryError, TraceEventError, TraceStateError, UnacceptedSeqs
from .redact import MAX_METADATA_DEPTH, MAX_METADATA_VALUES, REDACTED, is_secret_key, redact, redact_string
from .trace import TERMINAL_EVENTS, EventStatus, TYPICAL_STATUS, Approval, LlmCall, ToolCall, Trace, new_trace_id

__all__ = [
    "Approval",
    "DeliveryFailure",
    "EventStatus",
    "LlmCall",
    "MAX_BATCH_BYTES",
    "MAX_EVENT_BYTES",
    "MAX_METADATA_DEPTH",
    "MAX_METADATA_VALUES",
    "MAX_PUT_EVENTS_ENTRIES",
    "REDACTED",
    "TERMINAL_EVENTS",
    "TYPICAL_STATUS",
    "ToolCall",
    "Trace",
    "TraceDeliveryError",
    "TraceEventError",
    "TraceStateError",
    "UnacceptedSeqs",
    "event_names",
    "is_secret_key",
    "new_trace_id",
    "put_events_entry_size",
    "redact",
    "redact_string",
    "take_batch",
]

__version__ = "0.1.0"
