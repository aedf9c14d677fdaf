"""examples/python-agent: the agent loop runs to its answer and its trace arrives live."""

from __future__ import annotations

import importlib.util
import uuid
from types import ModuleType

import pytest

from trace_stream import Trace, event_names

from conftest import REPO, FakeEventBridge, LocalStack

pytestmark = pytest.mark.skipif(
    "llm_call_start" not in event_names(),
    reason="the shipped schema predates llm_call_* (added by protocol/trace-event.ts); the example uses them",
)


def load_example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("python_agent", REPO / "examples" / "python-agent" / "agent.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_example_agent_calls_its_tools_then_answers() -> None:
    client = FakeEventBridge()
    trace = Trace("example-offline", client=client)
    assert load_example().run(trace, "refund?") == "refund approved"
    trace.close()
    names = [event["event"] for event in client.delivered()]
    assert names == [
        "plan_created",
        "route_decision",
        "llm_call_start",
        "llm_call_complete",
        "tool_call_start",
        "tool_call_complete",
        "llm_call_start",
        "llm_call_complete",
        "tool_call_start",
        "tool_call_complete",
        "llm_call_start",
        "llm_call_complete",
        "plan_completed",
    ]


def test_the_example_run_reaches_a_subscriber(stack: LocalStack) -> None:
    trace = Trace(f"example-{uuid.uuid4()}", endpoint_url=stack.event_bridge, region_name=stack.region)
    watcher = stack.watch(trace.trace_id)
    load_example().run(trace, "refund?")
    trace.close()
    received = watcher.events_until_end()
    assert [event["seq"] for event in received] == list(range(13))
    usage = received[3]["metadata"]
    assert usage["model"] == "fake-model-1" and usage["input_tokens"] == 220
