"""A small JSON-schema checker for tool-call arguments: required, unknown properties, JSON types and enums.

Covers the subset that OpenAI / Anthropic / MCP tool specs use in practice (type, properties, required,
additionalProperties, enum, items), recursing into nested objects and arrays to a bounded depth. Anything
else in the schema ($ref, oneOf, patterns, formats, ranges) is ignored, so the checker can miss violations
but does not invent them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

MAX_DEPTH = 4
MAX_ARRAY_ITEMS = 20


@dataclass(frozen=True, slots=True)
class SchemaProblem:
    """One violation: kind is "missing_required", "unknown_property", "wrong_type" or "not_in_enum"."""

    kind: str
    path: str
    message: str
    confidence: float


def _json_type_ok(value: Any, expected: str) -> bool:
    if expected == "string":
        return isinstance(value, str)
    if expected == "integer":
        return (isinstance(value, int) and not isinstance(value, bool)) or (
            isinstance(value, float) and value.is_integer()
        )
    if expected == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if expected == "boolean":
        return isinstance(value, bool)
    if expected == "array":
        return isinstance(value, (list, tuple))
    if expected == "object":
        return isinstance(value, dict)
    if expected == "null":
        return value is None
    return True  # unknown type keyword: do not judge


def _type_name(value: Any) -> str:
    names = {bool: "boolean", int: "integer", float: "number", str: "string", list: "array", dict: "object"}
    return "null" if value is None else names.get(type(value), type(value).__name__)


def _allowed_types(schema: dict[str, Any]) -> list[str]:
    declared = schema.get("type")
    if isinstance(declared, str):
        return [declared]
    if isinstance(declared, list):
        return [t for t in declared if isinstance(t, str)]
    return []


def _check_object(value: dict[str, Any], schema: dict[str, Any], path: str, depth: int) -> list[SchemaProblem]:
    problems: list[SchemaProblem] = []
    properties = schema.get("properties") if isinstance(schema.get("properties"), dict) else {}
    required = schema.get("required") if isinstance(schema.get("required"), list) else []
    for name in required:
        if not isinstance(name, str):
            continue
        prop = properties.get(name) if isinstance(properties.get(name), dict) else {}
        if name not in value:
            problems.append(SchemaProblem("missing_required", f"{path}{name}", f"required '{name}' missing", 0.95))
        elif value[name] is None and "null" not in _allowed_types(prop):
            problems.append(SchemaProblem("missing_required", f"{path}{name}", f"required '{name}' is null", 0.9))
    extra_allowed = schema.get("additionalProperties")
    if properties and extra_allowed is not True and not isinstance(extra_allowed, dict):
        confidence = 0.9 if extra_allowed is False else 0.75
        for name in value:
            if name not in properties:
                message = f"'{name}' is not a declared parameter"
                problems.append(SchemaProblem("unknown_property", f"{path}{name}", message, confidence))
    for name, prop in properties.items():
        if name in value and isinstance(prop, dict) and value[name] is not None:
            problems.extend(check(value[name], prop, f"{path}{name}", depth + 1))
    return problems


def check(value: Any, schema: dict[str, Any], path: str = "", depth: int = 0) -> list[SchemaProblem]:
    """Violations of `schema` by `value`; `path` names where in the arguments each one is."""
    if depth > MAX_DEPTH or not isinstance(schema, dict):
        return []
    allowed = _allowed_types(schema)
    if allowed and not any(_json_type_ok(value, t) for t in allowed):
        where = path or "arguments"
        message = f"{where} should be {'/'.join(allowed)}, got {_type_name(value)}"
        return [SchemaProblem("wrong_type", where, message, 0.85)]
    enum = schema.get("enum")
    if isinstance(enum, list) and enum and value not in enum:
        where = path or "arguments"
        shown = ", ".join(repr(v) for v in enum[:8])
        return [SchemaProblem("not_in_enum", where, f"{where}={value!r} is not one of {shown}", 0.85)]
    if isinstance(value, dict):
        prefix = f"{path}." if path else ""
        return _check_object(value, schema, prefix, depth)
    items = schema.get("items")
    if isinstance(value, (list, tuple)) and isinstance(items, dict):
        problems: list[SchemaProblem] = []
        for i, element in enumerate(value[:MAX_ARRAY_ITEMS]):
            problems.extend(check(element, items, f"{path}[{i}]", depth + 1))
        return problems
    return []
