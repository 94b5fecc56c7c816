"""JSON in a model answer: parse it strictly or find it inside prose/fences, and check a JSON Schema subset.

The schema check is deliberately small (no dependency): `type` (single or list), `enum`, `const`,
`required`, `properties`, `additionalProperties: false`, `items` (a single schema), `minItems`/`maxItems`.
`$ref`, `anyOf`/`oneOf`/`allOf`, formats and patterns are not checked (they never produce a violation).
"""

from __future__ import annotations

import json
from typing import Any, NamedTuple

from taxonomy.detectors.instruction_compliance._markdown import code_blocks

JSON_FENCE_LANGUAGES = frozenset({"", "json", "jsonc", "json5", "javascript", "js"})
MAX_SCHEMA_ERRORS = 8
MAX_FENCED_CANDIDATES = 20
MAX_SCHEMA_DEPTH = 32


class JsonParse(NamedTuple):
    """Outcome of looking for JSON in an answer."""

    value: Any
    ok: bool
    how: str  # "raw", "fenced", "fenced_with_prose", "embedded", "none"
    error: str | None  # decoder message when not ok
    error_offset: int | None  # offset in the answer of the decode error
    span: tuple[int, int] | None  # where the parsed JSON sits in the answer


def _loads(text: str) -> tuple[Any, str | None, int | None]:
    try:
        return json.loads(text), None, None
    except json.JSONDecodeError as exc:
        return None, f"{exc.msg} (line {exc.lineno}, column {exc.colno})", exc.pos
    except (ValueError, RecursionError) as exc:
        return None, f"{type(exc).__name__}: {exc}", None


def find_json(answer: str) -> JsonParse:
    """Parse `answer` as JSON: whole, else a fenced JSON block, else the first embedded object/array."""
    stripped = answer.strip()
    lead = len(answer) - len(answer.lstrip())
    value, error, pos = _loads(stripped)
    if error is None:
        return JsonParse(value, True, "raw", None, None, (lead, lead + len(stripped)))
    first_error = (error, None if pos is None else lead + pos)
    fenced = [b for b in code_blocks(answer) if b.language in JSON_FENCE_LANGUAGES][:MAX_FENCED_CANDIDATES]
    for block in fenced:
        body = answer[block.body_start : block.body_end]
        value, error, pos = _loads(body)
        if error is None:
            outside = (answer[: block.start] + answer[block.end :]).strip()
            how = "fenced" if not outside and len(fenced) == 1 else "fenced_with_prose"
            return JsonParse(value, True, how, None, None, (block.body_start, block.body_end))
        if block.language.startswith("json"):
            first_error = (error, None if pos is None else block.body_start + pos)
    start = _first_bracket(answer)
    if start is not None:
        try:
            value, end = json.JSONDecoder().raw_decode(answer, start)
        except (ValueError, RecursionError):
            pass
        else:
            if isinstance(value, (dict, list)) and value:
                return JsonParse(value, True, "embedded", None, None, (start, end))
    return JsonParse(None, False, "none", first_error[0], first_error[1], None)


def _first_bracket(text: str) -> int | None:
    positions = [p for p in (text.find("{"), text.find("[")) if p != -1]
    return min(positions) if positions else None


_TYPE_CHECKS = {
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: (isinstance(v, int) and not isinstance(v, bool)) or (isinstance(v, float) and v.is_integer()),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "null": lambda v: v is None,
}


def json_type(value: Any) -> str:
    """The JSON type name of a decoded value."""
    for name in ("null", "boolean", "integer", "number", "string", "array", "object"):
        if _TYPE_CHECKS[name](value):
            return name
    return type(value).__name__


def unwrap_schema(raw: Any) -> dict[str, Any] | None:
    """The schema itself from a raw schema, an OpenAI `json_schema` wrapper or a JSON string of either."""
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except (ValueError, RecursionError):
            return None
    if not isinstance(raw, dict):
        return None
    if isinstance(raw.get("json_schema"), dict):
        raw = raw["json_schema"]
    if isinstance(raw.get("schema"), dict) and "type" not in raw and "properties" not in raw:
        raw = raw["schema"]
    return raw if any(key in raw for key in ("type", "properties", "required", "items", "enum")) else None


def validate(value: Any, schema: dict[str, Any]) -> list[tuple[str, str]]:
    """Schema violations of `value` as (json path, message) pairs, at most MAX_SCHEMA_ERRORS."""
    errors: list[tuple[str, str]] = []
    _validate(value, schema, "$", errors, 0)
    return errors


def _validate(value: Any, schema: Any, path: str, errors: list[tuple[str, str]], depth: int) -> None:
    if not isinstance(schema, dict) or depth > MAX_SCHEMA_DEPTH or len(errors) >= MAX_SCHEMA_ERRORS:
        return
    expected = schema.get("type")
    names = [expected] if isinstance(expected, str) else expected if isinstance(expected, list) else []
    known = [n for n in names if n in _TYPE_CHECKS]
    if known and not any(_TYPE_CHECKS[n](value) for n in known):
        errors.append((path, f"expected {' or '.join(known)}, got {json_type(value)}"))
        return
    if isinstance(schema.get("enum"), list) and value not in schema["enum"]:
        errors.append((path, f"{_short(value)} is not one of {_short(schema['enum'])}"))
    if "const" in schema and value != schema["const"]:
        errors.append((path, f"{_short(value)} is not the constant {_short(schema['const'])}"))
    if isinstance(value, dict):
        _validate_object(value, schema, path, errors, depth)
    elif isinstance(value, list):
        bounds = (schema.get("minItems"), schema.get("maxItems"))
        if isinstance(bounds[0], int) and len(value) < bounds[0]:
            errors.append((path, f"has {len(value)} items, fewer than minItems {bounds[0]}"))
        if isinstance(bounds[1], int) and len(value) > bounds[1]:
            errors.append((path, f"has {len(value)} items, more than maxItems {bounds[1]}"))
        if isinstance(schema.get("items"), dict):
            for index, element in enumerate(value):
                _validate(element, schema["items"], f"{path}[{index}]", errors, depth + 1)


def _validate_object(
    value: dict[str, Any], schema: dict[str, Any], path: str, errors: list[tuple[str, str]], depth: int
) -> None:
    required = schema.get("required")
    if isinstance(required, list):
        for key in required:
            if isinstance(key, str) and key not in value:
                errors.append((f"{path}.{key}", "required key is missing"))
    properties = schema.get("properties") if isinstance(schema.get("properties"), dict) else {}
    if schema.get("additionalProperties") is False:
        for key in value:
            if key not in properties:
                errors.append((f"{path}.{key}", "key is not allowed (additionalProperties: false)"))
    for key, sub_schema in properties.items():
        if key in value:
            _validate(value[key], sub_schema, f"{path}.{key}", errors, depth + 1)


def _short(value: Any, limit: int = 60) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"
