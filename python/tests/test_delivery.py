"""Background delivery: batch limits, retries, per-entry resend, undelivered seqs on flush/close."""

from __future__ import annotations

import json
import threading
from typing import Any, Dict, List, Optional

import pytest
from botocore.exceptions import ClientError

from trace_stream import (
    MAX_BATCH_BYTES,
    MAX_PUT_EVENTS_ENTRIES,
    Trace,
    TraceDeliveryError,
    put_events_entry_size,
    take_batch,
)
from trace_stream.batching import batch_sizes, to_put_events_entry

from conftest import FakeEventBridge, closed_port

FAST = {"base_delay": 0.001, "max_delay": 0.005}


def client_error(code: str, status: int) -> ClientError:
    return ClientError(
        {"Error": {"Code": code, "Message": f"{code} (injected)"}, "ResponseMetadata": {"HTTPStatusCode": status}},
        "PutEvents",
    )


def test_entry_size_counts_source_detail_type_and_detail_in_utf8_bytes() -> None:
    entry = to_put_events_entry(
        {"event": "route_decision", "seq": 0, "metadata": {"reason": "é"}}, "bus", "trace-stream"
    )
    detail = entry["Detail"]
    assert put_events_entry_size(entry) == len("trace-stream") + len("route_decision") + len(detail.encode())
    assert put_events_entry_size({**entry, "Time": "2026-01-01T00:00:00Z"}) == put_events_entry_size(entry) + 14
    assert "EventBusName" in entry  # and it does not count


def test_batches_hold_at_most_ten_entries_and_stay_below_256_kib() -> None:
    assert batch_sizes([100] * 25) == [10, 10, 5]
    assert batch_sizes([90 * 1024] * 5) == [2, 2, 1]
    # 256 KiB is the limit itself: two entries that reach it exactly go in separate requests.
    assert batch_sizes([128 * 1024, 128 * 1024]) == [1, 1]
    assert batch_sizes([128 * 1024, 128 * 1024 - 1]) == [2]
    assert MAX_PUT_EVENTS_ENTRIES == 10 and MAX_BATCH_BYTES == 256 * 1024 - 1


def test_take_batch_removes_only_what_it_returns() -> None:
    class Item:
        def __init__(self, size: int) -> None:
            self.size = size

    queue = [Item(10) for _ in range(12)]
    batch = take_batch(queue)
    assert len(batch) == 10 and len(queue) == 2


def test_every_request_respects_the_limits_and_every_event_is_sent_once_in_order() -> None:
    gate = threading.Event()

    def hold_first(call: int, entries: List[Dict[str, Any]]) -> None:
        if call == 1:
            gate.wait(30)  # let the rest pile up behind the first request

    client = FakeEventBridge(respond=hold_first)
    trace = Trace("t-batches", client=client)
    trace.plan(goal="many events")
    for index in range(40):
        trace.route(agent="worker", reason="x" * (20 * 1024 if index % 3 == 0 else 10))
    gate.set()
    trace.close()
    for request in client.requests:
        assert len(request) <= MAX_PUT_EVENTS_ENTRIES
        assert sum(put_events_entry_size(entry) for entry in request) <= MAX_BATCH_BYTES
    assert max(len(request) for request in client.requests) == MAX_PUT_EVENTS_ENTRIES
    assert [event["seq"] for event in client.delivered()] == list(range(41))


def test_throttled_entries_are_resent_and_delivered() -> None:
    throttled: List[int] = []

    def throttle_seq_two_once(call: int, entries: List[Dict[str, Any]]) -> Dict[str, Any]:
        results: List[Dict[str, Any]] = []
        for entry in entries:
            seq = json.loads(entry["Detail"])["seq"]
            if seq == 2 and not throttled:
                throttled.append(seq)
                results.append({"ErrorCode": "ThrottlingException", "ErrorMessage": "slow down"})
            else:
                results.append({"EventId": f"ok-{seq}"})
        return {"FailedEntryCount": sum("ErrorCode" in result for result in results), "Entries": results}

    client = FakeEventBridge(respond=throttle_seq_two_once)
    trace = Trace("t-throttle", client=client, **FAST)
    for index in range(4):
        trace.route(agent=f"a{index}")
    trace.close()
    sent = [json.loads(entry["Detail"])["seq"] for request in client.requests for entry in request]
    assert sorted(set(sent)) == [0, 1, 2, 3]
    assert sent.count(2) == 2  # resent once, alone: the others were accepted
    assert trace.failures == []


def test_a_throttled_request_and_connection_errors_are_retried() -> None:
    from botocore.exceptions import EndpointConnectionError

    def fail_twice(call: int, entries: List[Dict[str, Any]]) -> None:
        if call == 1:
            raise client_error("ThrottlingException", 400)
        if call == 2:
            raise EndpointConnectionError(endpoint_url="http://bus")

    client = FakeEventBridge(respond=fail_twice)
    trace = Trace("t-retry", client=client, **FAST)
    trace.plan(goal="retry")
    trace.close()
    assert len(client.requests) == 3
    assert trace.failures == []


def test_a_final_entry_error_is_reported_by_flush_and_close_with_its_seq() -> None:
    def refuse_seq_one(call: int, entries: List[Dict[str, Any]]) -> Dict[str, Any]:
        results = [
            {"ErrorCode": "AccessDeniedException", "ErrorMessage": "no"}
            if json.loads(entry["Detail"])["seq"] == 1
            else {"EventId": "ok"}
            for entry in entries
        ]
        return {"FailedEntryCount": sum("ErrorCode" in r for r in results), "Entries": results}

    reported: List[TraceDeliveryError] = []
    client = FakeEventBridge(respond=refuse_seq_one)
    trace = Trace("t-refused", client=client, on_delivery_error=reported.append, **FAST)
    for index in range(3):
        trace.route(agent=f"a{index}")
    with pytest.raises(TraceDeliveryError) as flushed:
        trace.flush()
    assert flushed.value.failed_seqs == (1,)
    assert flushed.value.failures[0].code == "AccessDeniedException"
    assert flushed.value.failures[0].attempts == 1  # not retryable
    with pytest.raises(TraceDeliveryError) as closed:
        trace.close()
    assert closed.value.failed_seqs == (1,)
    assert [error.failed_seqs for error in reported] == [(1,)]


def test_retries_stop_at_max_attempts() -> None:
    def always_throttle(call: int, entries: List[Dict[str, Any]]) -> None:
        raise client_error("ThrottlingException", 400)

    client = FakeEventBridge(respond=always_throttle)
    trace = Trace("t-exhausted", client=client, max_attempts=3, **FAST)
    trace.plan(goal="never lands")
    with pytest.raises(TraceDeliveryError) as raised:
        trace.close()
    assert raised.value.failed_seqs == (0,)
    assert raised.value.failures[0].attempts == 3
    assert len(client.requests) == 3


def test_close_reports_undelivered_seqs_when_the_bus_is_unreachable() -> None:
    trace = Trace("t-unreachable", endpoint_url=f"http://127.0.0.1:{closed_port()}", max_attempts=2, **FAST)
    trace.plan(goal="nobody listens")
    trace.route(agent="a")
    trace.complete()
    with pytest.raises(TraceDeliveryError) as raised:
        trace.close()
    assert raised.value.failed_seqs == (0, 1, 2)
    assert {failure.code for failure in raised.value.failures} == {"EndpointConnectionError"}


def test_close_with_a_timeout_gives_up_and_names_what_was_not_delivered() -> None:
    release = threading.Event()
    client = FakeEventBridge(respond=lambda call, entries: release.wait(30) and None)
    trace = Trace("t-hang", client=client)
    trace.plan(goal="stuck")
    trace.route(agent="a")
    try:
        with pytest.raises(TraceDeliveryError) as raised:
            trace.close(timeout=0.2)
        assert raised.value.failed_seqs == (0, 1)
        assert {failure.code for failure in raised.value.failures} == {"Undelivered"}
        with pytest.raises(TraceDeliveryError):
            trace.flush()  # reported again, never waits for the abandoned events
    finally:
        release.set()
