"""Intake normalises tool calls from the shapes clients send and enforces limits by field name."""

from __future__ import annotations

import msgspec
import pytest

from workers.contract import DatasetItem
from workers.intake import IntakeError, detect_feature_kind, normalize_tool_call, to_item
from workers.settings import Settings


@pytest.mark.parametrize(
    ("raw", "name", "arguments", "status", "error"),
    [
        ({"name": "search", "arguments": {"q": "x"}, "output": "ok"}, "search", {"q": "x"}, None, None),
        (
            {"type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Oslo"}'}},
            "get_weather",
            '{"city": "Oslo"}',
            None,
            None,
        ),
        (
            {"tool": "sql", "tool_input": "SELECT 1", "observation": "1", "status": "error"},
            "sql",
            "SELECT 1",
            None,
            "status: error",
        ),
        (
            {"name": "api", "status_code": "503", "error": {"message": "down"}},
            "api",
            None,
            503,
            '{"message": "down"}',
        ),
    ],
    ids=["misstep", "openai", "langchain", "status-and-error-object"],
)
def test_tool_calls_are_normalised_from_common_shapes(raw, name, arguments, status, error) -> None:
    call = normalize_tool_call(raw)
    assert (call.name, call.arguments, call.status_code, call.error) == (name, arguments, status, error)


def test_limits_name_the_offending_field() -> None:
    settings = Settings(max_field_chars=100, max_context_docs=2, max_tool_calls=1)
    with pytest.raises(IntakeError, match=r"dataset\[4\]\.output"):
        to_item(DatasetItem(output="x" * 101), 4, settings)
    with pytest.raises(IntakeError, match=r"dataset\[0\]\.context"):
        to_item(DatasetItem(output="x", context=["a", "b", "c"]), 0, settings)
    with pytest.raises(IntakeError, match=r"dataset\[0\]\.tool_calls"):
        to_item(DatasetItem(output="x", tool_calls=[{}, {}]), 0, settings)
    with pytest.raises(IntakeError, match=r"dataset\[1\]\.context\[0\]"):
        to_item(DatasetItem(output="x", context=["y" * 101]), 1, settings)


def test_context_given_as_a_string_becomes_one_document() -> None:
    item = to_item(msgspec.convert({"output": "x", "context": "one doc"}, DatasetItem), 0, Settings())
    assert item.context == ("one doc",)


@pytest.mark.parametrize(
    ("items", "kind"),
    [
        ([{"output": "x", "context": ["doc"]}], "rag"),
        ([{"output": "x", "tool_calls": [{"name": "t"}]}], "agent"),
        ([{"output": "x", "context": ["d"]}, {"output": "y", "tool_calls": [{"name": "t"}]}], "agentic_rag"),
        ([{"output": "x"}], "generic_llm"),
    ],
)
def test_feature_kind_detection(items, kind) -> None:
    parsed = [to_item(msgspec.convert(raw, DatasetItem), i, Settings()) for i, raw in enumerate(items)]
    assert detect_feature_kind(parsed) == kind
