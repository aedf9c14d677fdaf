"""The redactor of protocol/redact.ts, ported rule for rule.

The package runs it before an event leaves the process; the emitter runs the TypeScript one again
before an event is stored or sent. Both read protocol/test-vectors/redaction.json in their tests, so
they agree on every vector. The walk is iterative and refuses nesting deeper than
MAX_METADATA_DEPTH, so no input can exhaust the stack.
"""

from __future__ import annotations

import re
from typing import Any, Dict, List, Tuple

REDACTED = "[REDACTED]"
CIRCULAR = "[Circular]"

#: Metadata nested deeper than this is refused (protocol/limits.ts).
MAX_METADATA_DEPTH = 32

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


class MetadataTooDeepError(ValueError):
    """Nesting deeper than MAX_METADATA_DEPTH."""


_EXIT = object()


def redact(value: Any, max_depth: int = MAX_METADATA_DEPTH) -> Any:
    """A redacted copy of JSON-like data: values under secret keys become "[REDACTED]", secret-shaped
    substrings are masked, cycles become "[Circular]". Containers nested more than `max_depth` deep
    (the outermost counts as 1) raise MetadataTooDeepError."""
    holder: Dict[str, Any] = {}
    stack: List[Any] = [(value, holder, "root", 1)]
    ancestors: set = set()
    while stack:
        item = stack.pop()
        if item[0] is _EXIT:
            ancestors.discard(item[1])
            continue
        source, parent, key, depth = item
        if isinstance(source, str):
            parent[key] = redact_string(source)
        elif isinstance(source, (dict, list, tuple)):
            if id(source) in ancestors:
                parent[key] = CIRCULAR
                continue
            if depth > max_depth:
                raise MetadataTooDeepError(f"metadata is nested more than {max_depth} levels deep")
            ancestors.add(id(source))
            stack.append((_EXIT, id(source)))
            if isinstance(source, dict):
                copy: Dict[str, Any] = {}
                parent[key] = copy
                children = []
                for name, child in source.items():
                    if callable(child):
                        continue
                    if is_secret_key(str(name)):
                        copy[name] = REDACTED
                    else:
                        copy[name] = None  # keeps key order; filled below
                        children.append((child, copy, name, depth + 1))
                stack.extend(reversed(children))
            else:
                items: List[Any] = [None] * len(source)
                parent[key] = items
                stack.extend((child, items, index, depth + 1) for index, child in reversed(list(enumerate(source))))
        else:
            parent[key] = source
    return holder["root"]
