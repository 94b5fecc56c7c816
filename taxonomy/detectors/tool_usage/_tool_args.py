"""Shared helpers for reading tool calls: argument parsing, canonical forms and the tool list in metadata.

`canonical_arguments` turns arguments into one comparable string: JSON strings are parsed, dict keys are
sorted and casefolded, string values are casefolded with whitespace collapsed, so that calls that differ only
by whitespace, case or key order compare equal. `tool_specs` reads item.metadata["tools"], accepting
OpenAI function specs ({"type": "function", "function": {"name", "parameters"}}), flat specs ({"name",
"parameters"}), Anthropic/MCP specs ({"name", "input_schema" | "inputSchema"}), bare names (["search", ...])
or a {name: spec} mapping.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from taxonomy.model import ToolCall
from taxonomy.text import truncate

MAX_CANONICAL_CHARS = 4_000
FINGERPRINT_CHARS = 4_000


def parse_arguments(arguments: Any) -> tuple[Any, bool]:
    """(value, parsed_ok): JSON strings are decoded; other strings come back unchanged with ok=False."""
    if isinstance(arguments, str):
        stripped = arguments.strip()
        if not stripped:
            return {}, True
        try:
            return json.loads(stripped), True
        except (ValueError, RecursionError):
            return arguments, False
    return arguments, True


def _normalise(value: Any, depth: int = 0) -> Any:
    if depth > 8:
        return str(value)
    if isinstance(value, str):
        return " ".join(value.split()).casefold()
    if isinstance(value, dict):
        return {str(k).strip().casefold(): _normalise(v, depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_normalise(v, depth + 1) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def canonical_arguments(arguments: Any) -> str:
    """Arguments as one canonical string: parsed, keys sorted and casefolded, strings casefolded, squeezed."""
    value, _ = parse_arguments(arguments)
    try:
        text = json.dumps(_normalise(value), sort_keys=True, default=str, ensure_ascii=False)
    except (TypeError, ValueError):
        text = str(value)
    if len(text) > MAX_CANONICAL_CHARS:
        digest = hashlib.blake2b(text.encode("utf-8", "replace"), digest_size=12).hexdigest()
        return text[:200] + "#" + digest
    return text


def arguments_preview(arguments: Any, limit: int = 160) -> str:
    """A short readable rendering of the arguments, for evidence snippets."""
    if isinstance(arguments, str):
        return truncate(" ".join(arguments.split()), limit)
    try:
        return truncate(json.dumps(arguments, default=str, ensure_ascii=False), limit)
    except (TypeError, ValueError):
        return truncate(str(arguments), limit)


def call_preview(call: ToolCall, limit: int = 200) -> str:
    """`name(arguments)` for evidence snippets."""
    return truncate(f"{call.name or '<unnamed>'}({arguments_preview(call.arguments, limit)})", limit)


def output_fingerprint(call: ToolCall) -> str:
    """A short digest of what the call returned (output, else error), for 'did anything change' checks."""
    value = call.output if call.output is not None else call.error
    if value is None:
        return ""
    if isinstance(value, str):
        text = " ".join(value[:FINGERPRINT_CHARS].split()).casefold() + f"|{len(value)}"
    else:
        try:
            text = json.dumps(value, sort_keys=True, default=str)[:FINGERPRINT_CHARS]
        except (TypeError, ValueError):
            text = str(value)[:FINGERPRINT_CHARS]
    return hashlib.blake2b(text.encode("utf-8", "replace"), digest_size=8).hexdigest()


def is_empty_output(output: Any) -> bool:
    """True for outputs that carry nothing: "", [], {}, "null" (None itself means "not recorded")."""
    if isinstance(output, str):
        return output.strip().casefold() in ("", "null", "none", "[]", "{}", '""')
    return isinstance(output, (list, dict, tuple)) and not output


def _spec_entry(raw: Any) -> tuple[str, dict[str, Any] | None] | None:
    if isinstance(raw, str):
        return (raw, None) if raw.strip() else None
    if not isinstance(raw, dict):
        return None
    function = raw.get("function")
    spec = function if isinstance(function, dict) else raw
    name = spec.get("name")
    if not isinstance(name, str) or not name.strip():
        return None
    for key in ("parameters", "input_schema", "inputSchema", "args_schema", "schema"):
        schema = spec.get(key)
        if isinstance(schema, dict):
            return name, schema
    return name, None


def tool_specs(metadata: dict[str, Any] | None) -> dict[str, dict[str, Any] | None] | None:
    """{tool name: parameters JSON schema or None} from metadata["tools"]; None without a tool list."""
    if not isinstance(metadata, dict):
        return None
    raw = metadata.get("tools")
    if isinstance(raw, dict):
        raw = [{"name": k, **v} if isinstance(v, dict) else {"name": k} for k, v in raw.items() if isinstance(k, str)]
    if not isinstance(raw, (list, tuple)) or not raw:
        return None
    specs: dict[str, dict[str, Any] | None] = {}
    for entry in raw:
        found = _spec_entry(entry)
        if found is not None:
            specs[found[0].strip()] = found[1]
    return specs or None


def name_key(name: str) -> str:
    """A tool name folded for tolerant comparison (case, surrounding space, '-' vs '_')."""
    return name.strip().casefold().replace("-", "_")
