"""PutEvents entries and batches, by the same rules as client/producer-batching.ts."""

from __future__ import annotations

import json
from typing import Any, Dict, List, Mapping, Protocol, Sequence, TypeVar

#: EventBridge PutEvents: at most this many entries per call ...
MAX_PUT_EVENTS_ENTRIES = 10
#: ... and at most this many bytes per call (sum of entry sizes).
MAX_PUT_EVENTS_BYTES = 256 * 1024
#: The sum of entry sizes in one request must stay below 256 KiB.
MAX_BATCH_BYTES = MAX_PUT_EVENTS_BYTES - 1
#: A serialized TraceEvent may not exceed this (protocol/limits.ts).
MAX_EVENT_BYTES = 96 * 1024


def utf8_bytes(text: str) -> int:
    """UTF-8 length; a lone surrogate counts 3 bytes, as protocol/limits.ts counts it."""
    return len(text.encode("utf-8", "surrogatepass"))


def event_json(event: Mapping[str, Any]) -> str:
    """Compact JSON, as JSON.stringify writes it (the emitter parses it back)."""
    return json.dumps(event, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def to_put_events_entry(event: Mapping[str, Any], bus_name: str, source: str) -> Dict[str, str]:
    """The PutEvents entry for one accepted event: DetailType is the event name, Detail its JSON."""
    return {
        "Source": source,
        "DetailType": str(event["event"]),
        "Detail": event_json(event),
        "EventBusName": bus_name,
    }


def put_events_entry_size(entry: Mapping[str, Any]) -> int:
    """The size EventBridge charges an entry against the PutEvents limit: the UTF-8 bytes of Source,
    DetailType, Detail and each Resources entry, plus 14 bytes when Time is set. EventBusName does
    not count. (AWS EventBridge user guide, "Calculating PutEvents event entry size".)"""
    size = 0 if entry.get("Time") is None else 14
    size += utf8_bytes(entry.get("Source") or "")
    size += utf8_bytes(entry.get("DetailType") or "")
    size += utf8_bytes(entry.get("Detail") or "")
    for resource in entry.get("Resources") or []:
        size += utf8_bytes(resource)
    return size


class Sized(Protocol):
    @property
    def size(self) -> int: ...


Item = TypeVar("Item", bound=Sized)


def take_batch(queue: List[Item]) -> List[Item]:
    """Removes and returns the longest prefix of `queue` that fits one PutEvents request: at most 10
    entries and a total size below 256 KiB. The first item is always taken (one entry is at most
    96 KiB plus its names, far below the limit)."""
    total = 0
    count = 0
    for item in queue:
        if count == MAX_PUT_EVENTS_ENTRIES:
            break
        if count > 0 and total + item.size > MAX_BATCH_BYTES:
            break
        total += item.size
        count += 1
    batch = queue[:count]
    del queue[:count]
    return batch


def batch_sizes(sizes: Sequence[int]) -> List[int]:
    """How many entries each request carries for entries of these sizes (for tests and docs)."""

    class _Entry:
        def __init__(self, size: int) -> None:
            self.size = size

    queue = [_Entry(size) for size in sizes]
    counts: List[int] = []
    while queue:
        counts.append(len(take_batch(queue)))
    return counts
