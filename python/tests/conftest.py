"""Fixtures: the local stack (started through a small Node launcher) and SDK-boundary fakes."""

from __future__ import annotations

import json
import os
import queue
import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional

import pytest

REPO = Path(__file__).resolve().parents[2]
LAUNCHER = REPO / "test" / "support" / "python-stack.ts"
#: Generous: the machine's two cores are shared; these bound a hang, they time nothing.
STARTUP_SECONDS = 120.0
EVENT_SECONDS = 60.0


class LocalStack:
    """A running local stack; `watch` subscribes a TraceStreamClient (Node) to a trace."""

    def __init__(self) -> None:
        node = shutil.which("node")
        if node is None:
            raise RuntimeError("node is required for the Python suite's local stack (it runs the TypeScript stack)")
        self._process = subprocess.Popen(
            [node, "--import", "tsx", str(LAUNCHER)],
            cwd=REPO,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED": "true"},
        )
        self._replies: "queue.Queue[Dict[str, Any]]" = queue.Queue()
        self._events: Dict[str, "queue.Queue[Dict[str, Any]]"] = {}
        self._lock = threading.Lock()
        self._next_id = 0
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        ready = self._reply("ready", STARTUP_SECONDS)
        self.event_bridge: str = ready["eventBridge"]
        #: The same EventBridge behind a forwarder that `outage(True)` stops: a real outage.
        self.event_bridge_proxy: str = ready["eventBridgeProxy"]
        self.bus_name: str = ready["busName"]
        self.source: str = ready["source"]
        self.region: str = ready["region"]

    def _read(self) -> None:
        assert self._process.stdout is not None
        for line in self._process.stdout:
            message = json.loads(line)
            if message.get("type") in ("event", "ended", "failed"):
                self._stream(message["traceId"]).put(message)
            else:
                self._replies.put(message)
        self._replies.put({"type": "exited"})

    def _stream(self, trace_id: str) -> "queue.Queue[Dict[str, Any]]":
        with self._lock:
            return self._events.setdefault(trace_id, queue.Queue())

    def _reply(self, expected: str, timeout: float) -> Dict[str, Any]:
        try:
            message = self._replies.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"the local stack did not answer {expected!r} within {timeout} s") from None
        if message.get("type") != expected:
            raise AssertionError(f"expected {expected!r} from the local stack, got {message}")
        return message

    def _command(self, command: Dict[str, Any], expected: str) -> Dict[str, Any]:
        assert self._process.stdin is not None
        self._next_id += 1
        self._process.stdin.write(json.dumps({"id": self._next_id, **command}) + "\n")
        self._process.stdin.flush()
        return self._reply(expected, EVENT_SECONDS)

    def watch(self, trace_id: str) -> "Watcher":
        """Subscribes before the run starts (returns once the stream is live)."""
        self._stream(trace_id)
        self._command({"cmd": "watch", "traceId": trace_id}, "live")
        return Watcher(self._stream(trace_id))

    def outage(self, down: bool) -> None:
        """Stops (True) or restarts (False) the EventBridge endpoint at `event_bridge_proxy`: while it
        is down, connections are refused and those open are reset."""
        self._command({"cmd": "outage", "down": down}, "outage")

    def stored_seqs(self, trace_id: str) -> List[int]:
        """The seqs the emitter stored for a trace (after in-flight deliveries settled)."""
        seqs: List[int] = self._command({"cmd": "storedSeqs", "traceId": trace_id}, "storedSeqs")["seqs"]
        return seqs

    def dead_letters(self) -> List[Any]:
        """Everything dead-lettered so far (after in-flight deliveries settled)."""
        items: List[Any] = self._command({"cmd": "deadLetters"}, "deadLetters")["items"]
        return items

    def stop(self) -> None:
        if self._process.stdin is not None:
            self._process.stdin.close()
        try:
            self._process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()


class Watcher:
    def __init__(self, stream: "queue.Queue[Dict[str, Any]]") -> None:
        self._stream = stream

    def events_until_end(self) -> List[Dict[str, Any]]:
        """Every event the client showed, in its order, until the trace's terminal event."""
        events: List[Dict[str, Any]] = []
        while True:
            try:
                message = self._stream.get(timeout=EVENT_SECONDS)
            except queue.Empty:
                raise AssertionError(f"no terminal event within {EVENT_SECONDS} s; got {events}") from None
            if message["type"] == "event":
                events.append(message["event"])
            elif message["type"] == "ended":
                return events
            else:
                raise AssertionError(f"the watcher failed: {message}")


@pytest.fixture(scope="session")
def stack() -> Iterator[LocalStack]:
    running = LocalStack()
    try:
        yield running
    finally:
        running.stop()


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


class FakeEventBridge:
    """A stand-in EventBridge client at the SDK boundary: records each PutEvents request, answers
    from `respond(call_number, entries)` (default: every entry accepted), or forwards to `forward`."""

    def __init__(self, respond: Any = None, forward: Any = None) -> None:
        self.requests: List[List[Dict[str, Any]]] = []
        self._respond = respond
        self._forward = forward
        self._lock = threading.Lock()

    def put_events(self, Entries: List[Dict[str, Any]]) -> Dict[str, Any]:  # noqa: N803 (boto3's name)
        with self._lock:
            self.requests.append(list(Entries))
            call = len(self.requests)
        if self._respond is not None:
            answer: Optional[Dict[str, Any]] = self._respond(call, Entries)
            if answer is not None:
                return answer
        if self._forward is not None:
            forwarded: Dict[str, Any] = self._forward.put_events(Entries=Entries)
            return forwarded
        return {"FailedEntryCount": 0, "Entries": [{"EventId": f"e{call}-{i}"} for i in range(len(Entries))]}

    def delivered(self) -> List[Dict[str, Any]]:
        """The events of every request, parsed, in send order."""
        return [json.loads(entry["Detail"]) for request in self.requests for entry in request]


def wait_until(condition: Any, timeout: float = EVENT_SECONDS) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached")
        time.sleep(0.01)
