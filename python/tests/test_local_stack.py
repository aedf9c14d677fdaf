"""End to end: the Python package → the local stack → a TraceStreamClient subscriber (Node)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any, Dict, List

import boto3
import pytest

from trace_stream import (
    MAX_BATCH_BYTES,
    MAX_PUT_EVENTS_ENTRIES,
    REDACTED,
    Trace,
    TraceDeliveryError,
    TraceEventError,
    UnacceptedSeqs,
    event_names,
    put_events_entry_size,
)

from conftest import FakeEventBridge, LocalStack

SRC = Path(__file__).resolve().parents[1] / "src"


def new_trace(stack: LocalStack, **options: Any) -> Trace:
    return Trace(
        f"py-{uuid.uuid4()}",
        endpoint_url=stack.event_bridge,
        bus_name=stack.bus_name,
        source=stack.source,
        region_name=stack.region,
        **options,
    )


def recording_client(stack: LocalStack) -> FakeEventBridge:
    """The real boto3 client, with each PutEvents request recorded on its way through."""
    real = boto3.client(
        "events",
        endpoint_url=stack.event_bridge,
        region_name=stack.region,
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )
    return FakeEventBridge(forward=real)


def test_a_run_arrives_at_a_subscriber_in_order_and_redacted(stack: LocalStack) -> None:
    trace = new_trace(stack)
    watcher = stack.watch(trace.trace_id)
    emitted: List[Dict[str, Any]] = []
    emitted.append(trace.plan(goal="answer the ticket", steps=3, api_key="sk-live-abc"))
    emitted.append(trace.route(agent="researcher", reason="sent Authorization: Bearer abc.def"))
    with trace.tool_call("search_kb", domain="support", side_effect_class="read") as call:
        call.update(hits=3, session_token="s3cr3t")
    with pytest.raises(LookupError):
        with trace.tool_call("fetch_order"):
            raise LookupError("order 7 not found")
    if "llm_call_start" in event_names():
        with trace.llm_call("small-model", provider="fake") as model:
            model.update(input_tokens=12, output_tokens=4, cost_usd=0.0001, finish_reason="stop")
    if "custom" in event_names():
        trace.custom("cache_hit", key="policy/refunds", cookie="c=1")
    approval = trace.approval(tool="refund", risk_level="high")
    approval.received("approved", reason="small amount")
    trace.budget_warning(used=80, limit=100, budget_type="tokens")
    trace.complete(steps_completed=3)
    trace.close()

    received = watcher.events_until_end()
    assert [event["seq"] for event in received] == list(range(trace.next_seq))
    assert received[0]["metadata"]["api_key"] == REDACTED
    assert received[1]["metadata"]["reason"] == f"sent Authorization: {REDACTED}"
    tool_complete = next(event for event in received if event["event"] == "tool_call_complete")
    assert tool_complete["metadata"]["session_token"] == REDACTED
    assert tool_complete["metadata"]["hits"] == 3
    tool_error = next(event for event in received if event["event"] == "tool_call_error")
    assert tool_error["metadata"]["error_type"] == "LookupError"
    if "custom" in event_names():
        custom = next(event for event in received if event["event"] == "custom")
        assert custom["metadata"] == {"key": "policy/refunds", "cookie": REDACTED, "name": "cache_hit"}
    if "llm_call_start" in event_names():
        start, complete = (event for event in received if event["event"].startswith("llm_call_"))
        assert complete["metadata"]["input_tokens"] == 12 and complete["metadata"]["provider"] == "fake"
        assert start["span_id"] == complete["span_id"] == start["metadata"]["call_id"]
    assert received[-1]["event"] == "plan_completed"
    assert received[0]["event_id"] == emitted[0]["event_id"]
    assert trace.trace_id not in json.dumps(stack.dead_letters())


def test_a_refused_event_leaves_no_gap(stack: LocalStack) -> None:
    trace = new_trace(stack)
    watcher = stack.watch(trace.trace_id)
    trace.plan(goal="typo")
    with pytest.raises(TraceEventError, match="unknown event name"):
        trace.emit("tool_cal_start", {"tool": "search"})
    with pytest.raises(TraceEventError, match="metadata.steps"):
        trace.emit("plan_created", {"steps": -1})
    trace.route(agent="after the typo")
    trace.complete()
    trace.close()
    received = watcher.events_until_end()
    assert [(event["seq"], event["event"]) for event in received] == [
        (0, "plan_created"),
        (1, "route_decision"),
        (2, "plan_completed"),
    ]


def test_many_and_large_events_go_in_requests_within_the_putevents_limits(stack: LocalStack) -> None:
    client = recording_client(stack)
    trace = Trace(f"py-{uuid.uuid4()}", client=client, bus_name=stack.bus_name, source=stack.source)
    watcher = stack.watch(trace.trace_id)
    trace.plan(goal="a long run")
    for index in range(30):
        trace.route(agent="worker", reason=f"step {index}")
    for index in range(5):
        trace.route(agent="bulky", notes="x" * (90 * 1024))
    trace.complete()
    trace.close()
    received = watcher.events_until_end()
    assert [event["seq"] for event in received] == list(range(37))
    for request in client.requests:
        assert len(request) <= MAX_PUT_EVENTS_ENTRIES
        assert sum(put_events_entry_size(entry) for entry in request) <= MAX_BATCH_BYTES
    assert sum(len(request) for request in client.requests) == 37  # each event sent once


def test_a_script_that_exits_without_close_still_delivers(stack: LocalStack) -> None:
    trace_id = f"py-exit-{uuid.uuid4()}"
    watcher = stack.watch(trace_id)
    script = (
        "import sys\n"
        "from trace_stream import Trace\n"
        "trace = Trace(sys.argv[1], endpoint_url=sys.argv[2])\n"
        "trace.plan(goal='forgot close()')\n"
        "trace.complete()\n"
    )
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    finished = subprocess.run(
        [sys.executable, "-c", script, trace_id, stack.event_bridge], env=env, capture_output=True, text=True, timeout=120
    )
    assert finished.returncode == 0, finished.stderr
    assert finished.stderr == ""
    assert [event["event"] for event in watcher.events_until_end()] == ["plan_created", "plan_completed"]


#: Longer than the old horizon of 8 attempts could ever last (7 full-jitter waits capped at
#: 0.1 s · 2^n and 5 s): an outage this long used to cost every event queued in it.
OLD_HORIZON = 0.1 + 0.2 + 0.4 + 0.8 + 1.6 + 3.2 + 5.0
OUTAGE = OLD_HORIZON + 2.0


def test_an_outage_longer_than_the_old_horizon_loses_nothing(stack: LocalStack) -> None:
    trace = Trace(f"py-outage-{uuid.uuid4()}", endpoint_url=stack.event_bridge_proxy, bus_name=stack.bus_name,
                  source=stack.source, region_name=stack.region)
    watcher = stack.watch(trace.trace_id)
    trace.plan(goal="survive an outage", steps=2)
    trace.flush()
    stack.outage(True)
    try:
        started = time.monotonic()
        for index in range(10):
            trace.route(agent=f"agent-{index}", reason="during the outage")
        time.sleep(OUTAGE)
        assert trace.pending == 10  # still held, still being retried
        assert trace.failures == []
    finally:
        stack.outage(False)
    trace.complete(steps_completed=2)
    trace.close()
    assert time.monotonic() - started > OLD_HORIZON
    assert [event["seq"] for event in watcher.events_until_end()] == list(range(12))
    assert stack.stored_seqs(trace.trace_id) == list(range(12))


def test_when_the_budget_runs_out_close_names_exactly_the_seqs_never_accepted(stack: LocalStack) -> None:
    trace = Trace(f"py-outage-{uuid.uuid4()}", endpoint_url=stack.event_bridge_proxy, bus_name=stack.bus_name,
                  source=stack.source, region_name=stack.region, retry_budget=1.5)
    trace.plan(goal="g")
    trace.route(agent="a")
    trace.flush()
    stack.outage(True)
    try:
        for agent in ("b", "c", "d"):
            trace.route(agent=agent)
        with pytest.raises(TraceDeliveryError) as flushed:
            trace.flush()
    finally:
        stack.outage(False)
    assert flushed.value.unaccepted == (UnacceptedSeqs(trace.trace_id, (2, 3, 4)),)
    trace.route(agent="e")
    trace.complete()
    with pytest.raises(TraceDeliveryError) as closed:
        trace.close()
    assert closed.value.failed_seqs == (2, 3, 4)
    assert closed.value.unaccepted == (UnacceptedSeqs(trace.trace_id, (2, 3, 4)),)
    assert {failure.code for failure in closed.value.failures} == {"EndpointConnectionError"}
    assert f"trace {trace.trace_id}: seq 2-4" in str(closed.value)
    assert stack.stored_seqs(trace.trace_id) == [0, 1, 5, 6]
