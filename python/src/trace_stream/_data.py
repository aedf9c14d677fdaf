"""Turns what a Python caller passes as metadata into JSON data, iteratively and depth-bounded."""

from __future__ import annotations

import datetime as _dt
import math
from typing import Any, Dict, List, Tuple

from .batching import MAX_EVENT_BYTES
from .errors import TraceEventError
from .redact import MAX_METADATA_DEPTH, MAX_METADATA_VALUES, iso_time


def to_json_data(value: Any, where: str = "metadata") -> Any:
    """A copy made of dict/list/str/int/float/bool/None only: tuples become lists, datetimes ISO
    strings, dates `YYYY-MM-DD`; callables inside dicts are dropped (as JSON.stringify drops
    functions). Bounded as protocol/json-shape.ts bounds metadata, before anything else walks it:
    nesting deeper than MAX_METADATA_DEPTH (a cycle counts as too deep) is `invalid_event`, more than
    MAX_METADATA_VALUES values is `event_too_large`. A non-string key, a non-finite float or any other
    type is `invalid_event`, named by its path."""
    holder: Dict[str, Any] = {}
    stack: List[Tuple[Any, Any, Any, int, Tuple[Any, ...]]] = [(value, holder, "root", 1, (where,))]
    seen = 0
    while stack:
        source, parent, key, depth, path = stack.pop()
        seen += 1
        if source is None or isinstance(source, (str, bool, int)):
            parent[key] = source
        elif isinstance(source, float):
            if not math.isfinite(source):
                raise TraceEventError("invalid_event", f"{_path(path)}: {source} is not a finite number")
            parent[key] = source
        elif isinstance(source, _dt.datetime):
            parent[key] = iso_time(source)
        elif isinstance(source, _dt.date):
            parent[key] = source.isoformat()
        elif isinstance(source, (dict, list, tuple)):
            if depth > MAX_METADATA_DEPTH:
                raise TraceEventError(
                    "invalid_event", f"{where}: nests deeper than {MAX_METADATA_DEPTH} levels (MAX_METADATA_DEPTH)"
                )
            if seen + len(stack) + len(source) > MAX_METADATA_VALUES:
                raise TraceEventError(
                    "event_too_large",
                    f"{where}: holds more than {MAX_METADATA_VALUES} values; no event within {MAX_EVENT_BYTES} bytes can",
                )
            children: List[Tuple[Any, Any, Any, int, Tuple[Any, ...]]] = []
            if isinstance(source, dict):
                copy: Dict[str, Any] = {}
                parent[key] = copy
                for name, child in source.items():
                    if not isinstance(name, str):
                        raise TraceEventError("invalid_event", f"{_path(path)}: keys must be strings, got {name!r}")
                    if callable(child) and not isinstance(child, type):
                        continue
                    copy[name] = None  # keeps key order; filled below
                    children.append((child, copy, name, depth + 1, path + (name,)))
            else:
                items: List[Any] = [None] * len(source)
                parent[key] = items
                for index, child in enumerate(source):
                    children.append((child, items, index, depth + 1, path + (index,)))
            stack.extend(reversed(children))
        else:
            raise TraceEventError(
                "invalid_event",
                f"{_path(path)}: {type(source).__name__} is not JSON data (use str, int, float, bool,"
                " None, list, dict or datetime)",
            )
    return holder["root"]


def _path(path: Tuple[Any, ...]) -> str:
    return ".".join(str(part) for part in path)
