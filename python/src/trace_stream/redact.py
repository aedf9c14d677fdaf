"""The redactor of protocol/redact.ts, ported rule for rule.

The package runs it before an event leaves the process; the emitter runs the TypeScript one again
before an event is stored or sent. Both suites read protocol/test-vectors/redaction.json, so they
agree on every vector. The regexes are the TypeScript sources, which keep to what JavaScript and
Python's `re` (with re.ASCII) read alike. The walk is iterative, so no input can exhaust the stack.
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
#: redact_string repeats its pass while the text changes, at most this many times.
MAX_REDACT_PASSES = 4

#: Nouns that name a secret wherever they stand in a key (`db_password`, `clientSecrets`).
SECRET_WORDS = frozenset(
    {
        "password", "passwd", "passphrase", "passcode", "secret", "authorization", "credential",
        "cookie", "apikey", "privatekey", "accesskey", "secretkey", "bearer",
    }
)

#: Nouns that name a secret only as the last word of a key (`db_pass`, not `pass_rate`).
SECRET_LAST_WORDS = frozenset(
    {
        "token", "session", "sessionid", "jwt", "auth", "pass", "pwd", "pin", "otp", "dsn",
    }
)

#: Keys that are a secret on their own (`sig` of an Azure SAS URL, `Signature` of a signed URL).
SECRET_KEYS = frozenset(
    {
        "sig", "signature",
    }
)

#: Trailing words that still name the secret itself: `token_value`, `auth_header`, `pin_code`.
VALUE_WORDS = frozenset(
    {
        "value", "val", "header", "headers", "hdr", "string", "str", "raw", "text", "data", "hash",
        "hex", "b64", "base64", "encoded", "plain", "plaintext", "code",
    }
)

#: Last words that make the key about a secret (its size, time, rule) rather than the secret.
MEASURE_WORDS = frozenset(
    {
        "count", "counts", "length", "len", "size", "total", "num", "number", "limit", "used",
        "remaining", "type", "expires", "expiry", "ttl", "at", "age", "strength", "policy", "enabled",
        "required", "min", "max", "arn", "name",
    }
)

#: Adjacent words (singular) that name a secret: `api_keys`, `AccountKey`, `refresh_tokens`.
SECRET_PAIRS = frozenset(
    {
        "api key", "private key", "access key", "secret key", "session id", "session key",
        "signing key", "encryption key", "account key", "master key", "client key", "app key",
        "auth key", "ssh key", "deploy key", "license key", "access token", "refresh token",
        "id token", "auth token", "api token", "bot token", "oauth token", "session token",
        "csrf token", "amz signature", "goog signature", "connection string",
    }
)

#: Plurals read as their singular for SECRET_WORDS and SECRET_PAIRS (`passwords`, `api_keys`).
PLURALS = SECRET_WORDS | {"key", "token", "string"}

_CAMEL = re.compile(r"([a-z0-9])([A-Z])")
_ACRONYM = re.compile(r"([A-Z]+)([A-Z][a-z])")
_SEPARATORS = re.compile(r"[^a-z0-9]+")


def _singular(word: str) -> str:
    return word[:-1] if word.endswith("s") and word[:-1] in PLURALS else word


def _ascii_lower(text: str) -> str:
    # Only ASCII letters survive the split into words, and JavaScript lower-cases those alike.
    return text.lower()


def key_words(key: str) -> List[str]:
    """Splits `clientSecret`, `api-key`, `X_API_KEY`, `privateKey2` into lower-case words."""
    spaced = _ACRONYM.sub(r"\1 \2", _CAMEL.sub(r"\1 \2", key))
    return [word for word in _SEPARATORS.split(_ascii_lower(spaced)) if word]


def is_secret_key(key: str) -> bool:
    """True when a metadata key names a secret; harmless neighbours (`max_tokens`, `author`) are kept."""
    raw = key_words(key)
    if not raw or raw[-1] in MEASURE_WORDS:
        return False
    if len(raw) == 1 and raw[0] in SECRET_KEYS:
        return True
    words = [_singular(word) for word in raw]
    if any(word in SECRET_WORDS for word in words):
        return True
    if any(f"{first} {second}" in SECRET_PAIRS for first, second in zip(words, words[1:])):
        return True
    end = len(raw)
    while end > 1 and raw[end - 1] in VALUE_WORDS:
        end -= 1
    return raw[end - 1] in SECRET_LAST_WORDS


#: Secret-shaped values, masked wherever they appear inside a string, in this order. Group 1 is
#: kept (a header name, a URL's user, the character before a token); the rest of the match goes.
#: Generated from SECRET_VALUE_PATTERNS in protocol/redact.ts (same sources, same order).
SECRET_VALUE_PATTERNS: Tuple[Tuple[str, "re.Pattern[str]"], ...] = (
    ("pem-private-key", re.compile(r"""(-----BEGIN[ A-Z0-9]{0,40}PRIVATE KEY(?: BLOCK)?-----)(?:[\s\S]{0,8192}?-----END[ A-Z0-9]{0,40}PRIVATE KEY(?: BLOCK)?-----|(?!\[REDACTED\])[\s\S]{1,8192})""", re.ASCII)),
    ("url-password", re.compile(r"""(\b[A-Za-z][A-Za-z0-9+.-]{0,30}:\/\/[^:/?#@ \t\r\n"']{0,256}:)[^@/?# \t\r\n"']{1,256}(?=@)""", re.ASCII)),
    ("authorization-header-quoted", re.compile(r"""(\b(?:proxy-)?authorization["']?[ \t]*[:=][ \t]*\\?["'])(?:\\["']|[^"'\r\n])+""", re.ASCII | re.IGNORECASE)),
    ("authorization-header", re.compile(r"""(\b(?:proxy-)?authorization["']?[ \t]*[:=][ \t]*)(?!\\?["'])(?:\\["']|[^"'\r\n]|"[^"\r\n]*"|'[^'\r\n]*')+""", re.ASCII | re.IGNORECASE)),
    ("bearer", re.compile(r"""()\bbearer[ \t\r\n]+[A-Za-z0-9._~+/-]+=*""", re.ASCII | re.IGNORECASE)),
    ("basic", re.compile(r"""()\b[Bb][Aa][Ss][Ii][Cc][ \t]+(?=[A-Za-z0-9+/]{8})[A-Za-z0-9+/][a-z]*[A-Z0-9+/][A-Za-z0-9+/]*=*""", re.ASCII)),
    ("jwt", re.compile(r"""(^|[^A-Za-z0-9_-])e[yw][A-Za-z0-9_-]{8,}\.e[yw][A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*""", re.ASCII)),
    ("aws-access-key-id", re.compile(r"""(^|[^A-Za-z0-9])(?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA|A3T[A-Z0-9])[A-Z0-9]{16}(?![A-Za-z0-9])""", re.ASCII)),
    ("aws-session-token", re.compile(r"""(^|[^A-Za-z0-9/+=%])(?:FwoGZXIvYXdzE|IQoJb3JpZ2luX)[A-Za-z0-9/+=%]{20,}""", re.ASCII)),
    ("github", re.compile(r"""(^|[^A-Za-z0-9_])(?:gh[pousr]_[A-Za-z0-9]{20,255}|github_pat_[A-Za-z0-9_]{20,255})""", re.ASCII)),
    ("gitlab", re.compile(r"""(^|[^A-Za-z0-9_-])gl(?:pat|ptt|rt)-[A-Za-z0-9_-]{20,}""", re.ASCII)),
    ("slack-token", re.compile(r"""(^|[^A-Za-z0-9_-])(?:xox[abposre]-[A-Za-z0-9-]{10,}|xapp-[0-9]-[A-Za-z0-9-]{10,})""", re.ASCII)),
    ("slack-webhook", re.compile(r"""(hooks\.slack\.com\/(?:services|workflows|triggers)\/)[A-Za-z0-9/_+-]{10,}""", re.ASCII)),
    ("sk-dash-key", re.compile(r"""(^|[^A-Za-z0-9_-])sk-[A-Za-z0-9_-]{20,}""", re.ASCII)),
    ("stripe", re.compile(r"""(^|[^A-Za-z0-9_])(?:(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{10,}|whsec_[A-Za-z0-9+/=]{20,})""", re.ASCII)),
    ("google-api-key", re.compile(r"""(^|[^A-Za-z0-9_-])AIza[A-Za-z0-9_-]{35}(?![A-Za-z0-9_-])""", re.ASCII)),
    ("npm", re.compile(r"""(^|[^A-Za-z0-9_])npm_[A-Za-z0-9]{36}(?![A-Za-z0-9])""", re.ASCII)),
    ("hugging-face", re.compile(r"""(^|[^A-Za-z0-9_])hf_[A-Za-z0-9]{30,}""", re.ASCII)),
    ("sendgrid", re.compile(r"""(^|[^A-Za-z0-9_-])SG\.[A-Za-z0-9_-]{16,32}\.[A-Za-z0-9_-]{16,64}""", re.ASCII)),
    ("pypi", re.compile(r"""(^|[^A-Za-z0-9_-])pypi-AgEIcHlwaS5vcmc[A-Za-z0-9_-]{16,}""", re.ASCII)),
    ("age-secret-key", re.compile(r"""(^|[^A-Za-z0-9-])AGE-SECRET-KEY-1[0-9A-Z]{58}""", re.ASCII)),
    ("aws-secret-access-key", re.compile(r"""(^|[^A-Za-z0-9/+=])(?=[A-Za-z0-9/+]{0,39}[A-Z])(?=[A-Za-z0-9/+]{0,39}[a-z])(?=[A-Za-z0-9/+]{0,39}[0-9])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])""", re.ASCII)),
)

#: `name=value`, `name: value`, `"name": "value"` inside a string: the value goes when
#: is_secret_key(name), unless it already starts with the marker. Groups: 1 the character before
#: the name, 2 the name, 3 the separator, 4 the value.
SECRET_ASSIGNMENT = re.compile(
    r"""(^|[^A-Za-z0-9_.-])([A-Za-z_][A-Za-z0-9_.-]{0,63})([\\"']{0,2}[ \t]*(?::=|=>|[:=])[ \t]*)(\\?"[^"\r\n]*"?|\\?'[^'\r\n]*'?|[^ \t\r\n"'&;,]+)""",
    re.ASCII,
)
_OPENING_QUOTE = re.compile(r"""^\\?["']""")


def _keep_group_one(match: "re.Match[str]") -> str:
    return (match.group(1) or "") + REDACTED


def _mask_assignment(match: "re.Match[str]") -> str:
    before, name, separator, secret = match.group(1, 2, 3, 4)
    if is_secret_key(name) and not _OPENING_QUOTE.sub("", secret, count=1).startswith(REDACTED):
        return f"{before}{name}{separator}{REDACTED}"
    return match.group(0)


def _redact_pass(value: str) -> str:
    result = value
    for _name, pattern in SECRET_VALUE_PATTERNS:
        result = pattern.sub(_keep_group_one, result)
    return SECRET_ASSIGNMENT.sub(_mask_assignment, result)


def redact_string(value: str) -> str:
    """Masks every secret-shaped part of `value`: the value patterns in order, then assignments, and
    again while that changes the text (at most MAX_REDACT_PASSES passes)."""
    result = value
    for _ in range(MAX_REDACT_PASSES):
        following = _redact_pass(result)
        if following == result:
            break
        result = following
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
