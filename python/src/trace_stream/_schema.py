"""A validator for the subset of JSON Schema (draft 2020-12) that schema/trace-event.schema.json uses.

The schema is generated from the zod schema in protocol/ and shipped inside this package, so Python
producers refuse exactly what the emitter would dead-letter. Only the keywords listed below are
understood; loading a schema with any other keyword raises, so a schema change that needs more
support fails the package's tests instead of being silently ignored.
"""

from __future__ import annotations

import json
import math
import re
from functools import lru_cache
from importlib import resources
from typing import Any, Dict, List, Mapping, Optional, Tuple

#: Keywords that only describe (they never fail an instance).
_ANNOTATIONS = frozenset(
    {"$id", "$schema", "$comment", "title", "description", "default", "examples", "deprecated",
     "readOnly", "writeOnly", "format", "$defs", "definitions", "id"}
)
_ASSERTIONS = frozenset(
    {"$ref", "type", "enum", "const", "oneOf", "anyOf", "allOf", "not", "properties", "required",
     "additionalProperties", "propertyNames", "patternProperties", "minProperties", "maxProperties",
     "items", "prefixItems", "minItems", "maxItems", "minimum", "maximum", "exclusiveMinimum",
     "exclusiveMaximum", "multipleOf", "pattern", "minLength", "maxLength"}
)

Path = Tuple[Any, ...]


class SchemaError(Exception):
    """The shipped schema uses something this validator does not understand."""


def _ecma_pattern(pattern: str) -> "re.Pattern[str]":
    """Compiles an ECMAScript pattern with its meaning kept: ASCII classes, `$` only at the very end."""
    out: List[str] = []
    in_class = False
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\" and i + 1 < len(pattern):
            out.append(pattern[i : i + 2])
            i += 2
            continue
        if in_class:
            if char == "]":
                in_class = False
        elif char == "[":
            in_class = True
        elif char == "$":
            char = r"\Z"
        out.append(char)
        i += 1
    return re.compile("".join(out), re.ASCII)


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "integer" if value.is_integer() else "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def _json_equal(left: Any, right: Any) -> bool:
    left_type, right_type = _json_type(left), _json_type(right)
    numeric = {"integer", "number"}
    if left_type in numeric and right_type in numeric:
        return bool(left == right)
    if left_type != right_type:
        return False
    if isinstance(left, list):
        return len(left) == len(right) and all(_json_equal(a, b) for a, b in zip(left, right))
    if isinstance(left, dict):
        return left.keys() == right.keys() and all(_json_equal(left[k], right[k]) for k in left)
    return bool(left == right)


def _describe(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 60 else text[:57] + "..."


def _path_text(path: Path) -> str:
    return ".".join(str(part) for part in path) if path else "(root)"


class Issue:
    __slots__ = ("path", "message")

    def __init__(self, path: Path, message: str) -> None:
        self.path = path
        self.message = message

    def __str__(self) -> str:
        return f"{_path_text(self.path)}: {self.message}"


class Validator:
    """Validates JSON-like Python data (dict, list, str, int, float, bool, None) against one schema."""

    def __init__(self, schema: Mapping[str, Any]) -> None:
        self._root = schema
        self._patterns: Dict[str, "re.Pattern[str]"] = {}
        # Keyed by the id of a oneOf list inside the schema, which lives as long as the validator.
        self._discriminators: Dict[int, Optional[Tuple[str, Dict[str, Any]]]] = {}
        self._check_schema(schema)

    # -- schema loading --------------------------------------------------------------------------

    def _check_schema(self, root: Any) -> None:
        stack: List[Tuple[Any, str]] = [(root, "#")]
        seen = 0
        while stack:
            node, where = stack.pop()
            seen += 1
            if seen > 100_000:
                raise SchemaError("schema is unreasonably large")
            if isinstance(node, bool):
                continue
            if not isinstance(node, dict):
                raise SchemaError(f"{where}: a schema must be an object or a boolean")
            for key, value in node.items():
                if key not in _ANNOTATIONS and key not in _ASSERTIONS:
                    raise SchemaError(f"{where}: unsupported JSON Schema keyword {key!r}")
                if key == "$ref" and not (isinstance(value, str) and value.startswith("#")):
                    raise SchemaError(f"{where}: only local $ref is supported, got {value!r}")
                if key == "pattern":
                    self._patterns[value] = _ecma_pattern(value)
                if key in ("properties", "patternProperties", "$defs", "definitions"):
                    for name, sub in value.items():
                        if key == "patternProperties":
                            self._patterns[name] = _ecma_pattern(name)
                        stack.append((sub, f"{where}/{key}/{name}"))
                elif key in ("oneOf", "anyOf", "allOf", "prefixItems"):
                    for index, sub in enumerate(value):
                        stack.append((sub, f"{where}/{key}/{index}"))
                elif key in ("additionalProperties", "propertyNames", "items", "not"):
                    stack.append((value, f"{where}/{key}"))

    def _resolve(self, ref: str) -> Any:
        node: Any = self._root
        for part in ref[2:].split("/") if ref != "#" else []:
            part = part.replace("~1", "/").replace("~0", "~")
            if not isinstance(node, dict) or part not in node:
                raise SchemaError(f"unresolvable $ref {ref!r}")
            node = node[part]
        return node

    # -- validation ------------------------------------------------------------------------------

    def issues(self, instance: Any) -> List[Issue]:
        found: List[Issue] = []
        self._validate(self._root, instance, (), found, 0)
        return found

    def _validate(self, schema: Any, value: Any, path: Path, out: List[Issue], refs: int) -> None:
        if schema is True or schema == {}:
            return
        if schema is False:
            out.append(Issue(path, "no value is allowed here"))
            return
        if "$ref" in schema:
            if refs > 64:
                raise SchemaError("$ref chain too deep")
            self._validate(self._resolve(schema["$ref"]), value, path, out, refs + 1)
        kind = _json_type(value)
        if "type" in schema:
            allowed = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
            ok = kind in allowed or (kind == "integer" and "number" in allowed)
            if kind == "number" and isinstance(value, float) and not math.isfinite(value):
                ok = False
            if not ok:
                out.append(Issue(path, f"expected {' or '.join(allowed)}, got {_describe(value)}"))
                return
        if "const" in schema and not _json_equal(value, schema["const"]):
            out.append(Issue(path, f"expected {_describe(schema['const'])}, got {_describe(value)}"))
        if "enum" in schema and not any(_json_equal(value, option) for option in schema["enum"]):
            options = " | ".join(_describe(option) for option in schema["enum"])
            out.append(Issue(path, f"expected one of {options}, got {_describe(value)}"))
        if kind in ("integer", "number"):
            self._numeric(schema, value, path, out)
        elif kind == "string":
            self._string(schema, value, path, out)
        elif kind == "array":
            self._array(schema, value, path, out, refs)
        elif kind == "object":
            self._object(schema, value, path, out, refs)
        if "allOf" in schema:
            for sub in schema["allOf"]:
                self._validate(sub, value, path, out, refs)
        if "anyOf" in schema:
            self._any_of(schema["anyOf"], value, path, out, refs)
        if "oneOf" in schema:
            self._one_of(schema["oneOf"], value, path, out, refs)
        if "not" in schema:
            trial: List[Issue] = []
            self._validate(schema["not"], value, path, trial, refs)
            if not trial:
                out.append(Issue(path, "value matches a schema it must not match"))

    def _numeric(self, schema: Mapping[str, Any], value: Any, path: Path, out: List[Issue]) -> None:
        if "minimum" in schema and value < schema["minimum"]:
            out.append(Issue(path, f"must be >= {schema['minimum']}, got {value}"))
        if "maximum" in schema and value > schema["maximum"]:
            out.append(Issue(path, f"must be <= {schema['maximum']}, got {value}"))
        if "exclusiveMinimum" in schema and value <= schema["exclusiveMinimum"]:
            out.append(Issue(path, f"must be > {schema['exclusiveMinimum']}, got {value}"))
        if "exclusiveMaximum" in schema and value >= schema["exclusiveMaximum"]:
            out.append(Issue(path, f"must be < {schema['exclusiveMaximum']}, got {value}"))
        if "multipleOf" in schema and (value / schema["multipleOf"]) % 1 != 0:
            out.append(Issue(path, f"must be a multiple of {schema['multipleOf']}"))

    def _string(self, schema: Mapping[str, Any], value: str, path: Path, out: List[Issue]) -> None:
        if "minLength" in schema and len(value) < schema["minLength"]:
            out.append(Issue(path, f"must be at least {schema['minLength']} characters"))
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            out.append(Issue(path, f"must be at most {schema['maxLength']} characters"))
        pattern = schema.get("pattern")
        if pattern is not None and not self._patterns[pattern].search(value):
            out.append(Issue(path, f"{_describe(value)} does not match {pattern}"))

    def _array(self, schema: Mapping[str, Any], value: List[Any], path: Path, out: List[Issue], refs: int) -> None:
        if "minItems" in schema and len(value) < schema["minItems"]:
            out.append(Issue(path, f"must have at least {schema['minItems']} items"))
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            out.append(Issue(path, f"must have at most {schema['maxItems']} items"))
        prefix = schema.get("prefixItems", [])
        for index, item in enumerate(value):
            if index < len(prefix):
                self._validate(prefix[index], item, path + (index,), out, refs)
            elif "items" in schema:
                self._validate(schema["items"], item, path + (index,), out, refs)

    def _object(self, schema: Mapping[str, Any], value: Dict[str, Any], path: Path, out: List[Issue], refs: int) -> None:
        for name in schema.get("required", []):
            if name not in value:
                out.append(Issue(path + (name,), "required"))
        if "minProperties" in schema and len(value) < schema["minProperties"]:
            out.append(Issue(path, f"must have at least {schema['minProperties']} properties"))
        if "maxProperties" in schema and len(value) > schema["maxProperties"]:
            out.append(Issue(path, f"must have at most {schema['maxProperties']} properties"))
        properties = schema.get("properties", {})
        patterns = schema.get("patternProperties", {})
        names = schema.get("propertyNames")
        for key, item in value.items():
            if names is not None:
                self._validate(names, key, path + (key,), out, refs)
            matched = False
            if key in properties:
                matched = True
                self._validate(properties[key], item, path + (key,), out, refs)
            for pattern, sub in patterns.items():
                if self._patterns[pattern].search(key):
                    matched = True
                    self._validate(sub, item, path + (key,), out, refs)
            if not matched and "additionalProperties" in schema:
                extra = schema["additionalProperties"]
                if extra is False:
                    out.append(Issue(path + (key,), "unknown property"))
                else:
                    self._validate(extra, item, path + (key,), out, refs)

    def _any_of(self, options: List[Any], value: Any, path: Path, out: List[Issue], refs: int) -> None:
        attempts: List[List[Issue]] = []
        for option in options:
            trial: List[Issue] = []
            self._validate(option, value, path, trial, refs)
            if not trial:
                return
            attempts.append(trial)
        out.extend(_fewest(attempts) if attempts else [Issue(path, "no option matches")])

    def _one_of(self, options: List[Any], value: Any, path: Path, out: List[Issue], refs: int) -> None:
        key = id(options)
        if key not in self._discriminators:
            self._discriminators[key] = _discriminator(options)
        discriminator = self._discriminators[key]
        if discriminator is not None and isinstance(value, dict):
            name, by_value = discriminator
            tag = value.get(name)
            if isinstance(tag, str) and tag in by_value:
                self._validate(by_value[tag], value, path, out, refs)
                return
            known = ", ".join(sorted(by_value))
            got = "missing" if name not in value else f"unknown {name} name {_describe(tag)}"
            out.append(Issue(path + (name,), f"{got}; expected one of: {known}"))
            return
        matches = 0
        attempts: List[List[Issue]] = []
        for option in options:
            trial: List[Issue] = []
            self._validate(option, value, path, trial, refs)
            if trial:
                attempts.append(trial)
            else:
                matches += 1
        if matches == 1:
            return
        if matches > 1:
            out.append(Issue(path, "matches more than one alternative"))
        else:
            out.extend(_fewest(attempts) if attempts else [Issue(path, "no alternative matches")])


def _fewest(attempts: List[List[Issue]]) -> List[Issue]:
    """The issues of the alternative that came closest, the likeliest intended one."""
    best = attempts[0]
    for issues in attempts[1:]:
        if len(issues) < len(best):
            best = issues
    return best


def _discriminator(options: List[Any]) -> Optional[Tuple[str, Dict[str, Any]]]:
    """The property whose `const` tells the alternatives of a oneOf apart (zod's discriminated union)."""
    found: Optional[Tuple[str, Dict[str, Any]]] = None
    if options and all(isinstance(option, dict) for option in options):
        first = options[0].get("properties", {})
        for name in first:
            by_value: Dict[str, Any] = {}
            for option in options:
                prop = option.get("properties", {}).get(name)
                if not (isinstance(prop, dict) and isinstance(prop.get("const"), str)) or name not in option.get(
                    "required", []
                ):
                    break
                by_value[prop["const"]] = option
            else:
                if len(by_value) == len(options):
                    found = (name, by_value)
                    break
    return found


SCHEMA_RESOURCE = "trace-event.schema.json"


@lru_cache(maxsize=1)
def load_schema() -> Dict[str, Any]:
    """The TraceEvent JSON Schema shipped inside the package."""
    text = resources.files("trace_stream").joinpath(SCHEMA_RESOURCE).read_text(encoding="utf-8")
    schema: Dict[str, Any] = json.loads(text)
    return schema


@lru_cache(maxsize=1)
def trace_event_validator() -> Validator:
    return Validator(load_schema())


def event_names() -> Tuple[str, ...]:
    """Every event name the shipped schema accepts, in schema order."""
    root = load_schema()
    validator = trace_event_validator()
    node: Any = root
    while isinstance(node, dict) and "$ref" in node and "oneOf" not in node:
        node = validator._resolve(node["$ref"])
    names: List[str] = []
    for option in node.get("oneOf", []):
        const = option.get("properties", {}).get("event", {}).get("const")
        if isinstance(const, str):
            names.append(const)
    return tuple(names)


def describe_issues(issues: List[Issue]) -> str:
    """One `path: message` per problem, joined with `; `, as protocol/validate.ts reports them."""
    return "; ".join(str(issue) for issue in issues)
