"""The redactor agrees with protocol/redact.ts on the shared vectors, and stays iterative."""

from __future__ import annotations

import json
from typing import Any, Dict, List

import pytest

from trace_stream import REDACTED, is_secret_key, redact, redact_string
from trace_stream.redact import CIRCULAR, MAX_REDACT_DEPTH, TRUNCATED, key_words

from conftest import REPO

VECTORS_PATH = REPO / "protocol" / "test-vectors" / "redaction.json"
VECTORS: Dict[str, Any] = json.loads(VECTORS_PATH.read_text(encoding="utf-8"))


def test_the_vectors_use_the_marker_the_redactor_writes() -> None:
    assert VECTORS["marker"] == REDACTED


@pytest.mark.parametrize("key", VECTORS["secret_keys"])
def test_a_secret_key_is_recognised(key: str) -> None:
    assert is_secret_key(key), key_words(key)


@pytest.mark.parametrize("key", VECTORS["harmless_keys"])
def test_a_harmless_key_is_kept(key: str) -> None:
    assert not is_secret_key(key), key_words(key)


@pytest.mark.parametrize("vector", VECTORS["strings"], ids=lambda vector: str(vector["id"]))
def test_secret_shaped_text_is_masked(vector: Dict[str, Any]) -> None:
    output = redact_string(vector["input"])
    assert output == vector["output"]
    for secret in vector["secrets"]:
        assert secret not in output
    assert redact_string(output) == output  # idempotent


@pytest.mark.parametrize("text", VECTORS["harmless_strings"])
def test_harmless_text_is_left_alone(text: str) -> None:
    assert redact_string(text) == text


@pytest.mark.parametrize("vector", VECTORS["documents"], ids=lambda vector: str(vector["id"]))
def test_documents_are_redacted_as_the_typescript_redactor_does(vector: Dict[str, Any]) -> None:
    output = redact(vector["input"])
    assert output == vector["output"]
    assert _keys_in_order(output) == _keys_in_order(vector["output"])
    for secret in vector["secrets"]:
        assert secret not in json.dumps(output, ensure_ascii=False)


def _keys_in_order(value: Any) -> List[str]:
    keys: List[str] = []
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            keys.extend(item)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return keys


def test_input_of_any_depth_is_walked_without_recursion() -> None:
    deep: Dict[str, Any] = {}
    node = deep
    for _ in range(200_000):
        node["child"] = {}
        node = node["child"]
    result = redact(deep)
    for _ in range(MAX_REDACT_DEPTH - 1):
        result = result["child"]
    assert result == {"child": TRUNCATED}


def test_cycles_become_circular_markers() -> None:
    looped: Dict[str, Any] = {"note": "Bearer abcdef"}
    looped["self"] = looped
    assert redact(looped) == {"note": REDACTED, "self": CIRCULAR}
    shared = {"x": 1}
    assert redact({"a": shared, "b": shared}) == {"a": {"x": 1}, "b": {"x": 1}}  # shared, not cyclic


def test_secret_shaped_keys_are_masked_in_place() -> None:
    jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"
    result = redact({"z": 1, jwt: "value", "a": 2})
    assert list(result.items()) == [("z", 1), (REDACTED, "value"), ("a", 2)]
