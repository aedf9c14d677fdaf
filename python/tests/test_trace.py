"""Trace: validation before seq, strict names, terminal state, calls, approvals (no network)."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any, Dict, List

import pytest

from trace_stream import (
    MAX_METADATA_DEPTH,
    MAX_METADATA_VALUES,
    REDACTED,
    Trace,
    TraceEventError,
    TraceStateError,
    event_names,
)

from conftest import FakeEventBridge

HAS_LLM_EVENTS = "llm_call_start" in event_names()
HAS_CUSTOM_EVENT = "custom" in event_names()
needs_llm_events = pytest.mark.skipif(
    not HAS_LLM_EVENTS, reason="the shipped schema predates llm_call_* (added by protocol/trace-event.ts)"
)
needs_custom_event = pytest.mark.skipif(
    not HAS_CUSTOM_EVENT, reason="the shipped schema predates `custom` (added by protocol/trace-event.ts)"
)


def offline_trace(**options: Any) -> "tuple[Trace, FakeEventBridge]":
    client = FakeEventBridge()
    return Trace("t-unit", client=client, **options), client


def test_invalid_event_raises_a_value_error_before_any_seq_is_used() -> None:
    trace, client = offline_trace()
    with pytest.raises(TraceEventError) as raised:
        trace.emit("tool_call_start", {"tool": 42})
    assert isinstance(raised.value, ValueError)
    assert raised.value.code == "invalid_event"
    assert "metadata.tool: expected string" in raised.value.reason
    assert trace.next_seq == 0
    assert trace.emit("tool_call_start", {"tool": "search"})["seq"] == 0
    trace.close()
    assert [event["seq"] for event in client.delivered()] == [0]


def test_a_mistyped_event_name_raises_and_names_the_known_ones() -> None:
    trace, _ = offline_trace()
    with pytest.raises(TraceEventError, match='unknown event name "tool_cal_start"') as raised:
        trace.emit("tool_cal_start", {"tool": "search"})
    assert "tool_call_start" in raised.value.reason
    assert trace.next_seq == 0
    trace.close()


def test_every_problem_is_reported_at_once_with_its_path() -> None:
    trace, _ = offline_trace()
    with pytest.raises(TraceEventError) as raised:
        trace.emit("budget_warning", {"used": "many", "utilization": 3}, status="fine")
    reason = raised.value.reason
    assert "status: expected one of" in reason
    assert "metadata.used: expected number" in reason
    assert "metadata.utilization: must be <= 1" in reason
    trace.close()


def test_metadata_that_is_not_json_data_is_refused_with_its_path() -> None:
    trace, _ = offline_trace()
    with pytest.raises(TraceEventError, match=r"metadata\.files\.0: set is not JSON data"):
        trace.emit("route_decision", {"files": [{1, 2}]})
    with pytest.raises(TraceEventError, match="not a finite number"):
        trace.emit("route_decision", {"score": float("nan")})
    assert trace.next_seq == 0
    trace.close()


def test_metadata_nested_deeper_than_the_limit_is_refused_without_recursion() -> None:
    trace, _ = offline_trace()
    deep: Dict[str, Any] = {}
    node = deep
    for _ in range(100_000):
        node["child"] = {}
        node = node["child"]
    with pytest.raises(TraceEventError, match=f"metadata: nests deeper than {MAX_METADATA_DEPTH} levels"):
        trace.emit("route_decision", deep)
    fits: Dict[str, Any] = {}
    node = fits
    for _ in range(MAX_METADATA_DEPTH - 1):  # the metadata object itself is level 1
        node["child"] = {}
        node = node["child"]
    assert trace.emit("route_decision", fits)["seq"] == 0
    trace.close()


def test_cyclic_metadata_counts_as_too_deep_and_huge_metadata_as_too_large() -> None:
    trace, _ = offline_trace()
    cyclic: Dict[str, Any] = {"name": "loop"}
    cyclic["self"] = cyclic
    with pytest.raises(TraceEventError, match="nests deeper than"):
        trace.emit("route_decision", cyclic)
    with pytest.raises(TraceEventError) as raised:
        trace.emit("route_decision", {"ids": list(range(MAX_METADATA_VALUES))})
    assert raised.value.code == "event_too_large"
    assert trace.next_seq == 0
    trace.close()


def test_an_event_over_96_kib_is_refused_before_any_seq_is_used() -> None:
    trace, _ = offline_trace()
    with pytest.raises(TraceEventError) as raised:
        trace.emit("route_decision", {"reason": "x" * (96 * 1024)})
    assert raised.value.code == "event_too_large"
    assert trace.next_seq == 0
    trace.close()


def test_events_are_redacted_before_they_leave_the_process() -> None:
    trace, client = offline_trace()
    sent = trace.route(
        agent="support",
        reason="header was Bearer abc.def.ghi",
        api_key="sk-live-123",
        nested={"db_password": "hunter2", "token_count": 12},
    )
    assert sent["metadata"]["api_key"] == REDACTED
    assert sent["metadata"]["reason"] == f"header was {REDACTED}"
    assert sent["metadata"]["nested"] == {"db_password": REDACTED, "token_count": 12}
    trace.close()
    assert client.delivered()[0]["metadata"] == sent["metadata"]


def test_seqs_are_dense_and_in_call_order() -> None:
    trace, client = offline_trace()
    trace.plan(goal="answer", steps=2)
    with pytest.raises(TraceEventError):
        trace.route(agent=7)  # type: ignore[arg-type]
    trace.route(agent="researcher", reason="needs search")
    trace.complete(steps_completed=2)
    trace.close()
    delivered = client.delivered()
    assert [event["seq"] for event in delivered] == [0, 1, 2]
    assert [event["event"] for event in delivered] == ["plan_created", "route_decision", "plan_completed"]


def test_nothing_may_follow_a_terminal_event() -> None:
    trace, _ = offline_trace()
    trace.plan(goal="answer")
    trace.fail(RuntimeError("model unavailable"))
    assert trace.ended
    with pytest.raises(TraceStateError) as raised:
        trace.route(agent="late")
    assert raised.value.code == "trace_ended"
    with pytest.raises(TraceStateError):
        trace.complete()
    assert trace.next_seq == 2
    trace.close()


def test_nothing_may_be_emitted_after_close() -> None:
    trace, _ = offline_trace()
    trace.close()
    with pytest.raises(TraceStateError) as raised:
        trace.plan(goal="late")
    assert raised.value.code == "trace_closed"
    trace.close()  # safe to call again


def test_fail_describes_the_error() -> None:
    trace, _ = offline_trace()
    failed = trace.fail(TimeoutError("tool took too long"), error_type="Timeout", step=3)
    assert failed["metadata"] == {"error": "tool took too long", "error_type": "Timeout", "step": 3}
    assert failed["status"] == "error"
    trace.close()


def test_a_tool_call_block_completes_with_its_duration() -> None:
    trace, client = offline_trace()
    with trace.tool_call("search", domain="web", side_effect_class="read") as call:
        call.update(hits=3)
    trace.close()
    start, complete = client.delivered()
    assert start["event"] == "tool_call_start" and start["status"] == "pending"
    assert start["metadata"] == {
        "domain": "web",
        "side_effect_class": "read",
        "tool": "search",
        "call_id": call.call_id,
    }
    assert complete["event"] == "tool_call_complete"
    assert complete["metadata"]["success"] is True
    assert complete["metadata"]["hits"] == 3
    assert complete["metadata"]["call_id"] == call.call_id
    assert complete["metadata"]["duration_ms"] >= 0


def test_a_tool_call_block_that_raises_emits_the_error_and_reraises() -> None:
    trace, client = offline_trace()
    with pytest.raises(KeyError):
        with trace.tool_call("lookup"):
            raise KeyError("missing")
    trace.close()
    error = client.delivered()[1]
    assert error["event"] == "tool_call_error"
    assert error["status"] == "error"
    assert error["metadata"]["error_type"] == "KeyError"
    assert error["metadata"]["tool"] == "lookup"


def test_a_tool_call_decorator_makes_one_call_per_invocation() -> None:
    trace, client = offline_trace()

    @trace.tool_call("add", side_effect_class="none")
    def add(a: int, b: int) -> int:
        if a < 0:
            raise ValueError("negative")
        return a + b

    assert add(1, 2) == 3
    with pytest.raises(ValueError):
        add(-1, 2)
    trace.close()
    names = [event["event"] for event in client.delivered()]
    assert names == ["tool_call_start", "tool_call_complete", "tool_call_start", "tool_call_error"]
    ids = [event["metadata"]["call_id"] for event in client.delivered()]
    assert ids[0] == ids[1] and ids[2] == ids[3] and ids[0] != ids[2]


def test_an_async_tool_call_decorator_and_async_with_work_in_asyncio() -> None:
    trace, client = offline_trace()

    @trace.tool_call("fetch")
    async def fetch(url: str) -> str:
        await asyncio.sleep(0)
        return url.upper()

    async def run() -> str:
        async with trace.tool_call("parse"):
            result = await fetch("a")
        await trace.aclose()
        return result

    assert asyncio.run(run()) == "A"
    names = [event["event"] for event in client.delivered()]
    assert names == ["tool_call_start", "tool_call_start", "tool_call_complete", "tool_call_complete"]


def test_nested_calls_form_a_tree_through_span_and_parent_ids() -> None:
    trace, client = offline_trace()
    with trace.tool_call("outer") as outer:
        with trace.tool_call("inner") as inner:
            pass
    trace.close()
    events = client.delivered()
    assert events[0]["span_id"] == outer.call_id and "parent_id" not in events[0]
    assert events[1]["span_id"] == inner.call_id and events[1]["parent_id"] == outer.call_id
    assert events[3]["span_id"] == outer.call_id


def test_a_call_finishes_once() -> None:
    trace, _ = offline_trace()
    with trace.tool_call("search") as call:
        call.complete()
        with pytest.raises(TraceStateError):
            call.fail("again")
    trace.close()


def test_approvals_settle_once_with_the_decision_as_status() -> None:
    trace, client = offline_trace()
    approval = trace.approval(
        tool="send_email", risk_level="high", expires_at=dt.datetime(2030, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc)
    )
    approval.received("rejected", reason="too risky")
    with pytest.raises(TraceStateError):
        approval.timeout()
    trace.close()
    request, received = client.delivered()
    assert request["metadata"]["expires_at"] == "2030-01-02T03:04:05.000Z"
    assert received["status"] == "error"
    assert received["metadata"] == {
        "approval_id": approval.approval_id,
        "reason": "too risky",
        "decision": "rejected",
    }


def test_budget_warning_computes_utilization() -> None:
    trace, _ = offline_trace()
    assert trace.budget_warning(used=150, limit=100, budget_type="tokens")["metadata"]["utilization"] == 1.0
    assert trace.budget_warning(used=25, limit=100)["metadata"]["utilization"] == 0.25
    assert trace.budget_exceeded(budget_type="usd", limit=2)["status"] == "warning"
    trace.close()


def test_the_trace_block_fails_the_trace_on_an_exception_and_closes() -> None:
    client = FakeEventBridge()
    with pytest.raises(RuntimeError):
        with Trace("t-block", client=client) as trace:
            trace.plan(goal="answer")
            raise RuntimeError("crashed")
    assert trace.closed
    failed = client.delivered()[-1]
    assert failed["event"] == "plan_failed"
    assert failed["metadata"] == {"error": "crashed", "error_type": "RuntimeError"}


def test_a_bad_trace_id_is_refused() -> None:
    with pytest.raises(TraceEventError, match="trace_id"):
        Trace("has spaces", client=FakeEventBridge())


@needs_llm_events
def test_a_model_call_reports_usage_on_completion() -> None:
    trace, client = offline_trace()
    with trace.llm_call("gpt-x", provider="openai") as call:
        call.update(input_tokens=120, output_tokens=30, cost_usd=0.0012, finish_reason="stop")
    with pytest.raises(ConnectionError):
        with trace.llm_call("gpt-x", provider="openai"):
            raise ConnectionError("reset")
    trace.close()
    events: List[Dict[str, Any]] = client.delivered()
    assert [event["event"] for event in events] == [
        "llm_call_start",
        "llm_call_complete",
        "llm_call_start",
        "llm_call_error",
    ]
    complete = events[1]["metadata"]
    assert complete["model"] == "gpt-x" and complete["provider"] == "openai"
    assert complete["input_tokens"] == 120 and complete["output_tokens"] == 30
    assert events[3]["metadata"]["error_type"] == "ConnectionError"


@needs_custom_event
def test_custom_events_carry_their_name() -> None:
    trace, _ = offline_trace()
    assert trace.custom("cache_hit", key="faq")["metadata"] == {"key": "faq", "name": "cache_hit"}
    with pytest.raises(TraceEventError):
        trace.emit("custom", {"key": "faq"})  # metadata.name is required
    trace.close()


def test_a_failing_block_keeps_its_exception_when_delivery_fails_too(capsys: pytest.CaptureFixture[str]) -> None:
    def refuse(call: int, entries: List[Dict[str, Any]]) -> Dict[str, Any]:
        return {"FailedEntryCount": len(entries), "Entries": [{"ErrorCode": "AccessDeniedException"} for _ in entries]}

    with pytest.raises(RuntimeError, match="crashed"):
        with Trace("t-both", client=FakeEventBridge(respond=refuse)) as trace:
            trace.plan(goal="answer")
            raise RuntimeError("crashed")
    assert "not delivered (trace t-both: seq 0-1)" in capsys.readouterr().err
