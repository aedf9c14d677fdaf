"""The JSON Schema shipped in the package: identical to the repository's, fully understood."""

from __future__ import annotations

import json
from importlib import resources

import pytest

from trace_stream import event_names
from trace_stream._schema import SchemaError, Validator, _ecma_pattern, load_schema

from conftest import REPO


def test_the_packaged_schema_is_the_one_generated_from_protocol() -> None:
    packaged = resources.files("trace_stream").joinpath("trace-event.schema.json").read_text(encoding="utf-8")
    generated = (REPO / "schema" / "trace-event.schema.json").read_text(encoding="utf-8")
    assert packaged == generated, "run `npm run schema`: it writes both copies"


def test_the_validator_understands_every_keyword_of_the_schema() -> None:
    Validator(load_schema())  # raises SchemaError on any keyword it would otherwise ignore
    with pytest.raises(SchemaError, match="unsupported JSON Schema keyword 'dependentSchemas'"):
        Validator({"dependentSchemas": {}})


def test_the_event_names_are_the_protocol_s() -> None:
    names = event_names()
    for name in ("plan_created", "tool_call_start", "approval_received", "plan_completed", "plan_failed"):
        assert name in names
    assert len(set(names)) == len(names)


def test_patterns_keep_their_ecmascript_meaning() -> None:
    anchored = _ecma_pattern("^[a-z]{1,3}$")
    assert anchored.search("abc")
    assert not anchored.search("abc\n")  # Python's `$` would accept a trailing newline
    assert not _ecma_pattern(r"^\d+$").search("١٢")  # \d is ASCII-only in JavaScript
    assert _ecma_pattern("^[$]$").search("$")


def test_a_sample_event_of_each_kind_validates() -> None:
    validator = Validator(load_schema())
    base = {
        "event_id": "0b7f1c2e-8d7a-4c1e-9f3a-2b6c4d5e6f70",
        "trace_id": "t-1",
        "seq": 0,
        "timestamp": "2026-01-01T00:00:00.000Z",
        "status": "success",
        "schema_version": 1,
    }
    for name in event_names():
        metadata = {"name": "x"} if name == "custom" else {}
        assert validator.issues({**base, "event": name, "metadata": metadata}) == [], name
    bad = {**base, "event": "plan_created", "timestamp": "2026-02-30T00:00:00Z", "seq": -1, "metadata": []}
    messages = {str(issue) for issue in validator.issues(bad)}
    assert any(message.startswith("timestamp:") for message in messages)
    assert "seq: must be >= 0, got -1" in messages
    assert any(message.startswith("metadata: expected object") for message in messages)
    assert json.dumps(load_schema())  # plain JSON data
