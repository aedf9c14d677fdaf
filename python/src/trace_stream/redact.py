"""The redactor of protocol/redact.ts, ported rule for rule.

The package runs it before an event leaves the process; the emitter runs the TypeScript one again
before an event is stored or sent. Both suites read protocol/test-vectors/redaction.json, so they
agree on every vector. The walk is iterative, so no input can exhaust the stack.
"""

from __future__ import annotations

import datetime as _dt
import re
from typing import Any, Dict, List, Set, Tuple

REDACTED = "[REDACTED]"
CIRCULAR = "[Circular]"
TRUNCATED = "[Truncated]"

#: Metadata may nest at most this many dicts and lists, metadata itself counting as the first level
#: (protocol/limits.ts); deeper metadata is refused before anything walks it.
MAX_METADATA_DEPTH = 32
#: No event within 96 KiB can hold more JSON values than this (each takes two bytes at least).
MAX_METADATA_VALUES = 96 * 1024 // 2
#: The redactor copies at most this many levels; deeper subtrees become "[Truncated]".
MAX_REDACT_DEPTH = 64

#: Nouns that name a secret wherever they stand in a key (`db_password`, `clientSecret`).
SECRET_WORDS = frozenset(
    {"password", "passwd", "passphrase", "secret", "authorization", "credential", "credentials",
     "cookie", "cookies", "apikey", "privatekey", "accesskey", "bearer"}
)

#: Nouns that name a secret only as the last word of a key (`access_token`, not `token_count`).
SECRET_HEAD_WORDS = frozenset({"token", "session", "sessionid", "jwt", "auth"})

#: Words that make the key about a secret's size or number rather than the secret itself.
MEASURE_WORDS = frozenset(
    {"count", "counts", "length", "len", "size", "total", "num", "number", "limit", "used",
     "remaining", "type", "expires", "expiry", "ttl"}
)

#: Two-word pairs that name a secret (`api_key`, `private key`, `AccessKey`, `session id`).
SECRET_PAIRS = frozenset(
    {"api key", "private key", "access key", "secret key", "session id", "signing key"}
)

_CAMEL = re.compile(r"([a-z0-9])([A-Z])")
_ACRONYM = re.compile(r"([A-Z]+)([A-Z][a-z])")
_SEPARATORS = re.compile(r"[^a-z0-9]+")

#: Secret-shaped values, redacted wherever they appear inside a string (same order as the TS list).
SECRET_VALUE_PATTERNS: Tuple["re.Pattern[str]", ...] = (
    # Authorization header values.
    re.compile(r"\bBearer\s+[A-Za-z0-9\-._~+/]+=*", re.IGNORECASE | re.ASCII),
    re.compile(r"\bBasic\s+[A-Za-z0-9+/]{8,}=*", re.ASCII),
    # JWTs (header.payload.signature; the signature is empty for alg "none").
    re.compile(r"\beyJ[A-Za-z0-9_-]*\.eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*", re.ASCII),
    # AWS access key ids.
    re.compile(r"\b(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}\b", re.ASCII),
)


def _js_lower(text: str) -> str:
    # JavaScript lower-cases ASCII the same way; other letters never survive the word split anyway.
    return text.lower()


def key_words(key: str) -> List[str]:
    """Splits `clientSecret`, `api-key`, `X_API_KEY`, `privateKey2` into lower-case words."""
    spaced = _ACRONYM.sub(r"\1 \2", _CAMEL.sub(r"\1 \2", key))
    return [word for word in _SEPARATORS.split(_js_lower(spaced)) if word]


def is_secret_key(key: str) -> bool:
    """True when a metadata key names a secret; harmless neighbours (`max_tokens`, `author`) are kept."""
    words = key_words(key)
    if not words or words[-1] in MEASURE_WORDS:
        return False
    if any(word in SECRET_WORDS for word in words):
        return True
    if words[-1] in SECRET_HEAD_WORDS:
        return True
    return any(f"{first} {second}" in SECRET_PAIRS for first, second in zip(words, words[1:]))


def redact_string(value: str) -> str:
    result = value
    for pattern in SECRET_VALUE_PATTERNS:
        result = pattern.sub(REDACTED, result)
    return result


_EXIT = object()


def redact(value: Any) -> Any:
    """A redacted copy of JSON-like data: values under secret keys become "[REDACTED]", secret-shaped
    substrings (in values and keys) are masked, cycles become "[Circular]", containers deeper than
    MAX_REDACT_DEPTH become "[Truncated]", and values JSON cannot carry (callables) are dropped from
    dicts and become None in lists. The walk uses an explicit stack, so input of any depth is safe."""
    holder: Dict[str, Any] = {}
    stack: List[Any] = [(value, holder, "root", 1)]
    path: Set[int] = set()
    while stack:
        item = stack.pop()
        if item[0] is _EXIT:
            path.discard(item[1])
            continue
        source, parent, key, depth = item
        if isinstance(source, str):
            parent[key] = redact_string(source)
        elif isinstance(source, _dt.datetime):
            parent[key] = iso_time(source)
        elif not isinstance(source, (dict, list, tuple)):
            parent[key] = None if callable(source) else source
        elif id(source) in path:
            parent[key] = CIRCULAR
        elif depth > MAX_REDACT_DEPTH:
            parent[key] = TRUNCATED
        else:
            path.add(id(source))
            stack.append((_EXIT, id(source)))
            if isinstance(source, dict):
                copy: Dict[str, Any] = {}
                parent[key] = copy
                children = []
                for name, child in source.items():
                    if callable(child):
                        continue
                    redacted_name = redact_string(str(name))
                    if is_secret_key(str(name)):
                        copy[redacted_name] = REDACTED
                        continue
                    # The key is created now, in input order; its value is filled in when the child is done.
                    copy[redacted_name] = None
                    children.append((child, copy, redacted_name, depth + 1))
                stack.extend(reversed(children))
            else:
                items: List[Any] = [None] * len(source)
                parent[key] = items
                stack.extend(
                    (child, items, index, depth + 1)
                    for index, child in reversed(list(enumerate(source)))
                    if not callable(child)
                )
    return holder["root"]


def iso_time(value: _dt.datetime) -> str:
    """As JavaScript's Date.toISOString: UTC with milliseconds and `Z` (naive times are local)."""
    utc = value.astimezone(_dt.timezone.utc)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"
