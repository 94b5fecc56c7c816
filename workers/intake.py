"""Intake: turns submitted dataset items into domain Items, enforcing size limits and naming bad fields.

Tool calls arrive in many shapes (misstep's {name, arguments, output}, OpenAI's {"function": {...}},
LangChain-style {tool, tool_input, observation}, with status/error fields or not); they are normalised
here once, so detectors read one ToolCall shape.
"""

from __future__ import annotations

import json
from typing import Any

from taxonomy.model import FeatureKind, Item, Message, ToolCall
from workers.contract import DatasetItem
from workers.settings import Settings

_NAME_KEYS = ("name", "tool", "tool_name", "function_name")
_ARGUMENT_KEYS = ("arguments", "args", "input", "tool_input", "parameters", "params")
_OUTPUT_KEYS = ("output", "result", "response", "observation", "content", "return_value")
_STATUS_KEYS = ("status_code", "http_status", "status")
_ERROR_KEYS = ("error", "exception", "error_message")


class IntakeError(ValueError):
    """A submitted item is invalid; `field` is the JSON path of the offending value."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def _first(raw: dict[str, Any], keys: tuple[str, ...]) -> Any:
    for key in keys:
        if key in raw and raw[key] is not None:
            return raw[key]
    return None


def _status_code(raw: dict[str, Any]) -> int | None:
    value = _first(raw, _STATUS_KEYS)
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def _error_text(raw: dict[str, Any]) -> str | None:
    value = _first(raw, _ERROR_KEYS)
    if value is None:
        status = raw.get("status")
        if isinstance(status, str) and status.lower() in ("error", "failed", "failure"):
            return f"status: {status}"
        return None
    if isinstance(value, str):
        return value
    return json.dumps(value, default=str)[:2000]


def normalize_tool_call(raw: dict[str, Any]) -> ToolCall:
    """One ToolCall from any of the common tool-call dict shapes."""
    function = raw.get("function")
    name = _first(raw, _NAME_KEYS)
    arguments = _first(raw, _ARGUMENT_KEYS)
    if isinstance(function, dict):
        name = name or function.get("name")
        arguments = arguments if arguments is not None else function.get("arguments")
    elif isinstance(function, str) and not name:
        name = function
    return ToolCall(
        name=str(name or ""),
        arguments=arguments,
        output=_first(raw, _OUTPUT_KEYS),
        status_code=_status_code(raw),
        error=_error_text(raw),
        id=str(raw["id"]) if raw.get("id") is not None else None,
    )


def _message(raw: dict[str, Any]) -> Message:
    content = raw.get("content")
    if not isinstance(content, str):
        content = "" if content is None else json.dumps(content, default=str)
    return Message(role=str(raw.get("role") or "user"), content=content, name=raw.get("name"))


def _check_length(field: str, value: str, limit: int) -> None:
    if len(value) > limit:
        raise IntakeError(field, f"is {len(value)} characters; the limit is {limit} (MAX_FIELD_CHARS)")


def _serialized(value: Any) -> str:
    """A tool-call payload as detectors read it: a string as is, anything else as JSON."""
    if value is None or isinstance(value, str):
        return value or ""
    return json.dumps(value, default=str, ensure_ascii=False)


def _check_tool_call(field: str, call: ToolCall, limit: int) -> None:
    for name, value in (("name", call.name), ("arguments", call.arguments), ("output", call.output)):
        _check_length(f"{field}.{name}", _serialized(value), limit)
    _check_length(f"{field}.error", call.error or "", limit)


def to_item(raw: DatasetItem, index: int, settings: Settings, *, path: str = "dataset") -> Item:
    """Validate one submitted item against the limits and normalise it.

    Raises:
        IntakeError: naming the offending field, e.g. "dataset[3].output".
    """
    here = f"{path}[{index}]"
    context = [raw.context] if isinstance(raw.context, str) else list(raw.context or [])
    if len(context) > settings.max_context_docs:
        raise IntakeError(f"{here}.context", f"has {len(context)} documents; the limit is {settings.max_context_docs}")
    tool_calls = raw.tool_calls or []
    if len(tool_calls) > settings.max_tool_calls:
        raise IntakeError(f"{here}.tool_calls", f"has {len(tool_calls)} calls; the limit is {settings.max_tool_calls}")
    _check_length(f"{here}.input", raw.input, settings.max_field_chars)
    _check_length(f"{here}.output", raw.output, settings.max_field_chars)
    for i, doc in enumerate(context):
        _check_length(f"{here}.context[{i}]", doc, settings.max_field_chars)
    if raw.system_prompt is not None:
        _check_length(f"{here}.system_prompt", raw.system_prompt, settings.max_field_chars)
    calls = tuple(normalize_tool_call(call) for call in tool_calls)
    for i, call in enumerate(calls):
        _check_tool_call(f"{here}.tool_calls[{i}]", call, settings.max_field_chars)
    messages = tuple(_message(m) for m in raw.messages or ())
    for i, message in enumerate(messages):
        _check_length(f"{here}.messages[{i}].content", message.content, settings.max_field_chars)
    expected = None if raw.expected is None else str(raw.expected)
    if expected is not None:
        _check_length(f"{here}.expected", expected, settings.max_field_chars)
    if raw.metadata:
        _check_length(f"{here}.metadata", _serialized(raw.metadata), settings.max_field_chars)
    return Item(
        index=index,
        input=raw.input,
        output=raw.output,
        context=tuple(context),
        tool_calls=calls,
        system_prompt=raw.system_prompt,
        messages=messages,
        expected=expected,
        trace_id=raw.trace_id,
        metadata=raw.metadata or {},
    )


def detect_feature_kind(items: list[Item]) -> FeatureKind:
    """rag when context is present, agent when tool calls are, agentic_rag when both, else generic_llm."""
    has_context = any(item.has("context") for item in items)
    has_tools = any(item.tool_calls for item in items)
    if has_context and has_tools:
        return "agentic_rag"
    if has_tools:
        return "agent"
    if has_context:
        return "rag"
    return "generic_llm"
