"""A tiny tool-using agent with a fake model, traced live with the trace-stream Python package.

    npm start                                  # in the repository: the local stack and the viewer
    pip install ./python                       # once (or: PYTHONPATH=python/src)
    python3 examples/python-agent/agent.py     # prints the viewer URL, then runs

The "model" is a script: it asks for tools until it has what it needs, then answers. Every step is
a trace event, so the viewer shows each model call and tool call while it runs.
"""

from __future__ import annotations

import argparse
import time
from typing import Any, Dict, List, Optional

from trace_stream import Trace

ORDERS = {"4821": {"status": "delivered", "amount_usd": 42.5, "days_since_delivery": 3}}
POLICY = {"refund_window_days": 30, "auto_approve_below_usd": 50}


def lookup_order(order_id: str) -> Dict[str, Any]:
    time.sleep(0.4)  # a slow backend, so the running call is visible
    if order_id not in ORDERS:
        raise LookupError(f"no order {order_id}")
    return ORDERS[order_id]


def read_policy() -> Dict[str, Any]:
    time.sleep(0.2)
    return POLICY


TOOLS = {"lookup_order": lookup_order, "read_policy": read_policy}


class FakeModel:
    """Decides the next step from what it has seen, as a tool-calling model would."""

    def next_step(self, seen: Dict[str, Any]) -> Dict[str, Any]:
        time.sleep(0.3)
        if "lookup_order" not in seen:
            return {"tool": "lookup_order", "args": {"order_id": "4821"}, "tokens": (220, 18)}
        if "read_policy" not in seen:
            return {"tool": "read_policy", "args": {}, "tokens": (310, 12)}
        order, policy = seen["lookup_order"], seen["read_policy"]
        refund = order["days_since_delivery"] <= policy["refund_window_days"]
        return {"answer": "refund approved" if refund else "outside the refund window", "tokens": (420, 35)}


def run(trace: Trace, question: str, max_steps: int = 5) -> Optional[str]:
    model = FakeModel()
    seen: Dict[str, Any] = {}
    trace.plan(goal=question, steps=max_steps, profile="example")
    trace.route(agent="support", reason="a question about an order")
    for _ in range(max_steps):
        with trace.llm_call("fake-model-1", provider="example") as call:
            step = model.next_step(seen)
            input_tokens, output_tokens = step["tokens"]
            call.update(
                input_tokens=input_tokens,
                output_tokens=output_tokens,
                cost_usd=round((input_tokens + 4 * output_tokens) * 1e-6, 6),
                finish_reason="tool_calls" if "tool" in step else "stop",
            )
        if "answer" in step:
            trace.complete(steps_completed=len(seen), answer=step["answer"])
            return str(step["answer"])
        name = step["tool"]
        with trace.tool_call(name, domain="support", side_effect_class="read") as tool:
            seen[name] = TOOLS[name](**step["args"])
            tool.update(result_keys=sorted(seen[name]))
    trace.fail("ran out of steps", error_type="StepLimit")
    return None


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoint", default="http://127.0.0.1:4010", help="EventBridge endpoint (npm start's)")
    parser.add_argument("--viewer", default="http://127.0.0.1:3000", help="the viewer's address")
    parser.add_argument("--trace-id", default=None)
    parser.add_argument("--wait", type=float, default=3.0, help="seconds to open the viewer before the run")
    args = parser.parse_args(argv)
    with Trace(args.trace_id, endpoint_url=args.endpoint) as trace:
        print(f"watch: {args.viewer}/?traceId={trace.trace_id}", flush=True)
        time.sleep(args.wait)
        answer = run(trace, "Can the customer of order 4821 get a refund?")
    # Leaving the block closed the trace: every event was delivered (or TraceDeliveryError said which not).
    print(f"answer: {answer}")


if __name__ == "__main__":
    main()
