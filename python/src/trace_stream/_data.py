"""Turns what a Python caller passes as metadata into JSON data, iteratively and depth-bounded."""

from __future__ import annotations

import datetime as _dt
import math
from typing import Any, Dict, List, Tuple

from .errors import TraceEventError
from .redact import CIRCULAR, MAX_METADATA_DEPTH

_EXIT = object()


def iso_time(value: _dt.datetime) -> str:
    """As JavaScript's Date.toISOString: UTC with milliseconds and `Z` (naive times are local)."""
    utc = value.astimezone(_dt.timezone.utc)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def to_json_data(value: Any, where: str = "metadata", max_depth: int = MAX_METADATA_DEPTH) -> Any:
    """A copy made of dict/list/str/int/float/bool/None only. Tuples become lists, datetimes ISO
    strings, dates `YYYY-MM-DD`; callables inside dicts are dropped (as JSON.stringify drops
    functions); cycles become "[Circular]". Raises TraceEventError for a non-string key, a
    non-finite float, any other type, or containers nested more than `max_depth` deep."""
    holder: Dict[str, Any] = {}
    stack: List[Any] = [(value, holder, "root", 1, (where,))]
    ancestors: set = set()
    while stack:
        item = stack.pop()
        if item[0] is _EXIT:
            ancestors.discard(item[1])
            continue
        source, parent, key, depth, path = item
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
            if id(source) in ancestors:
                parent[key] = CIRCULAR
                continue
            if depth > max_depth:
                raise TraceEventError(
                    "invalid_event",
                    f"{_path(path)}: nested more than {max_depth} levels deep (MAX_METADATA_DEPTH)",
                )
            ancestors.add(id(source))
            stack.append((_EXIT, id(source)))
            children: List[Tuple[Any, Any, Any, int, Tuple[Any, ...]]] = []
            if isinstance(source, dict):
                copy: Dict[str, Any] = {}
                parent[key] = copy
                for name, child in source.items():
                    if not isinstance(name, str):
                        raise TraceEventError(
                            "invalid_event", f"{_path(path)}: keys must be strings, got {name!r}"
                        )
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
