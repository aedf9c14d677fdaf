"""Background delivery: batch limits, retries, per-entry resend, undelivered seqs on flush/close."""

from __future__ import annotations

import json
import threading
from typing import Any, Dict, List, Optional, Tuple

import pytest
from botocore.exceptions import ClientError

from trace_stream import (
    MAX_BATCH_BYTES,
    MAX_PUT_EVENTS_ENTRIES,
    DeliveryFailure,
    Trace,
    TraceDeliveryError,
    TraceEventError,
    TraceStateError,
    UnacceptedSeqs,
    new_trace_id,
    put_events_entry_size,
    take_batch,
)
from trace_stream.batching import batch_sizes, to_put_events_entry
from trace_stream.delivery import DeliveryQueue

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


def refused(call: int, entries: List[Dict[str, Any]]) -> None:
    from botocore.exceptions import EndpointConnectionError

    raise EndpointConnectionError(endpoint_url="http://bus")


def test_resending_goes_on_past_8_attempts_by_default_and_nothing_is_lost() -> None:
    def down_for_30(call: int, entries: List[Dict[str, Any]]) -> None:
        if call <= 30:
            refused(call, entries)

    client = FakeEventBridge(respond=down_for_30)
    trace = Trace("t-long-outage", client=client, **FAST)
    trace.plan(goal="g")
    trace.route(agent="a")
    trace.close()
    assert len(client.requests) == 31
    assert trace.failures == []


def test_an_event_fails_once_its_retry_budget_is_used_up_with_every_attempt_counted() -> None:
    client = FakeEventBridge(respond=refused)
    trace = Trace("t-budget", client=client, retry_budget=0.15, **FAST)
    trace.plan(goal="never lands")
    with pytest.raises(TraceDeliveryError) as raised:
        trace.close()
    failure = raised.value.failures[0]
    assert (failure.seq, failure.code) == (0, "EndpointConnectionError")
    assert failure.attempts == len(client.requests) > 1


def test_queued_events_past_their_budget_fail_with_the_batch_that_kept_failing_without_a_request_each() -> None:
    clock = [0.0]

    def down(call: int, entries: List[Dict[str, Any]]) -> None:
        clock[0] += 0.03  # each request takes 30 ms: the budget runs out at the fourth
        refused(call, entries)

    client = FakeEventBridge(respond=down)
    queue = DeliveryQueue(client, bus_name="b", source="trace-stream", max_attempts=None, base_delay=0.001,
                          max_delay=0.002, retry_budget=0.1, linger=0.5, max_events=100, max_bytes=1 << 20,
                          on_delivery_error=None, clock=lambda: clock[0])
    for seq in range(25):  # all queued within the linger, so the first request is full
        assert queue.offer(_event("run-1", seq))
    with pytest.raises(TraceDeliveryError) as raised:
        queue.close()
    assert raised.value.unaccepted == (UnacceptedSeqs("run-1", tuple(range(25))),)
    assert [[json.loads(entry["Detail"])["seq"] for entry in request] for request in client.requests] == [
        list(range(10))
    ] * 4
    assert [failure.attempts for failure in raised.value.failures] == [4] * 10 + [0] * 15


def test_a_full_buffer_raises_buffer_full_uses_no_seq_and_wait_for_room_says_when_to_go_on() -> None:
    gate = threading.Event()
    client = FakeEventBridge(respond=lambda call, entries: gate.wait(30) and None)
    trace = Trace("t-full", client=client, max_buffered_events=3)
    for index in range(3):
        trace.route(agent=f"a{index}")
    assert trace.buffer_full and trace.pending == 3
    with pytest.raises(TraceStateError) as raised:
        trace.route(agent="one too many")
    assert raised.value.code == "buffer_full"
    assert "3 events" in str(raised.value)
    assert trace.next_seq == 3
    assert trace.wait_for_room(0.05) is False
    gate.set()
    assert trace.wait_for_room(30) is True
    assert trace.route(agent="after the wait")["seq"] == 3
    trace.close()
    assert [event["seq"] for event in client.delivered()] == [0, 1, 2, 3]


def test_the_buffer_counts_bytes_too() -> None:
    gate = threading.Event()
    client = FakeEventBridge(respond=lambda call, entries: gate.wait(30) and None)
    trace = Trace("t-bytes", client=client, max_buffered_bytes=128 * 1024)
    for _ in range(3):
        trace.route(reason="r" * 40_000)
    with pytest.raises(TraceStateError, match="buffer is full"):
        trace.route(reason="r" * 40_000)
    assert trace.route(reason="small")["seq"] == 3
    gate.set()
    trace.close()


def test_with_drop_an_event_that_finds_no_room_takes_its_seq_and_is_reported() -> None:
    gate = threading.Event()
    reported: List[Tuple[int, ...]] = []
    client = FakeEventBridge(respond=lambda call, entries: gate.wait(30) and None)
    trace = Trace("t-drop", client=client, max_buffered_events=2, when_buffer_full="drop",
                  on_delivery_error=lambda error: reported.append(error.failed_seqs))
    assert [trace.route(agent=f"a{index}")["seq"] for index in range(4)] == [0, 1, 2, 3]
    assert reported == [(2,), (3,)]
    gate.set()
    with pytest.raises(TraceDeliveryError) as raised:
        trace.close()
    assert raised.value.failed_seqs == (2, 3)
    assert [(failure.code, failure.attempts) for failure in raised.value.failures] == [("BufferFull", 0)] * 2
    assert [event["seq"] for event in client.delivered() if event["seq"] < 2] == [0, 1]


def test_the_error_groups_unaccepted_seqs_by_trace_and_writes_ranges() -> None:
    failures = [
        DeliveryFailure(trace_id, seq, f"e{seq}", "MalformedDetail", "bad", 1)
        for trace_id, seq in [("run-b", 7), ("run-b", 2), ("run-b", 3), ("run-b", 4), ("run-b", 9), ("run-a", 0)]
    ]
    error = TraceDeliveryError(failures)
    assert error.unaccepted == (UnacceptedSeqs("run-a", (0,)), UnacceptedSeqs("run-b", (2, 3, 4, 7, 9)))
    assert str(error).startswith(
        "6 trace event(s) not delivered (trace run-a: seq 0; trace run-b: seq 2-4, 7, 9): MalformedDetail"
    )


def test_limits_that_make_no_sense_are_refused_by_name() -> None:
    client = FakeEventBridge()
    with pytest.raises(ValueError, match="max_buffered_bytes"):
        Trace(client=client, max_buffered_bytes=1000)
    with pytest.raises(ValueError, match="max_buffered_events"):
        Trace(client=client, max_buffered_events=0)
    with pytest.raises(ValueError, match="when_buffer_full"):
        Trace(client=client, when_buffer_full="block")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="max_attempts"):
        Trace(client=client, max_attempts=0)


def test_new_trace_id_is_fresh_valid_and_takes_a_prefix() -> None:
    first, second = new_trace_id(), new_trace_id()
    assert first != second
    assert new_trace_id("checkout").startswith("checkout-") and len(new_trace_id("checkout")) == 45
    with pytest.raises(TraceEventError):
        new_trace_id("has spaces")


def _event(trace_id: str, seq: int) -> Dict[str, Any]:
    return {"event_id": f"e-{seq}", "trace_id": trace_id, "seq": seq, "event": "route_decision",
            "timestamp": "2026-11-26T12:00:00.000Z", "status": "success", "metadata": {}, "schema_version": 1}
