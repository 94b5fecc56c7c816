"""MAX_FIELD_CHARS at intake: every text a detector reads (and `expected` and `metadata`, stored with the run)
is refused past the limit, naming the field.

This is the limit that keeps detector time bounded: tests/bench/adversarial.py times every detector on
1 MB hostile texts, so the default limit must stay at or below what that benchmark covers.
"""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from tests.bench.adversarial import MB
from workers.contract import DatasetItem
from workers.intake import IntakeError, to_item
from workers.settings import Settings

LIMIT = 100  # the smallest MAX_FIELD_CHARS Settings accepts
SETTINGS = Settings(max_field_chars=LIMIT)


def item(**fields: Any) -> DatasetItem:
    return msgspec.convert({"output": "ok", **fields}, DatasetItem)


def sized(n: int) -> str:
    return "x" * n


# (field named in the error, the item with that field at `n` characters)
FIELDS = {
    "dataset[0].input": lambda n: item(input=sized(n)),
    "dataset[0].output": lambda n: item(output=sized(n)),
    "dataset[0].context[0]": lambda n: item(context=sized(n)),
    "dataset[0].context[2]": lambda n: item(context=["a", "b", sized(n)]),
    "dataset[0].system_prompt": lambda n: item(system_prompt=sized(n)),
    "dataset[0].messages[1].content": lambda n: item(messages=[{"content": "hi"}, {"content": sized(n)}]),
    # structured content is read as JSON: {"text": "..."} is 12 characters around the text
    "dataset[0].messages[0].content": lambda n: item(messages=[{"content": {"text": sized(n - 12)}}]),
    "dataset[0].tool_calls[0].name": lambda n: item(tool_calls=[{"name": sized(n)}]),
    "dataset[0].tool_calls[0].arguments": lambda n: item(tool_calls=[{"name": "t", "arguments": sized(n)}]),
    # {"q": "..."} is 9 characters around the text: arguments are read serialised
    "dataset[0].tool_calls[1].arguments": lambda n: item(
        tool_calls=[{"name": "t"}, {"function": {"name": "t", "arguments": {"q": sized(n - 9)}}}]
    ),
    "dataset[0].tool_calls[0].output": lambda n: item(tool_calls=[{"tool": "t", "observation": sized(n)}]),
    "dataset[0].tool_calls[0].error": lambda n: item(tool_calls=[{"name": "t", "error": sized(n)}]),
    "dataset[0].expected": lambda n: item(expected=sized(n)),
    # metadata is counted as JSON: {"note": "..."} is 12 characters around the text
    "dataset[0].metadata": lambda n: item(metadata={"note": sized(n - 12)}),
}


@pytest.mark.parametrize("field", FIELDS)
def test_a_field_over_the_limit_is_refused_naming_it(field: str) -> None:
    with pytest.raises(IntakeError) as refused:
        to_item(FIELDS[field](LIMIT + 1), 0, SETTINGS)
    assert refused.value.field == field
    assert f"{LIMIT + 1} characters" in refused.value.message
    assert "MAX_FIELD_CHARS" in refused.value.message


@pytest.mark.parametrize("field", FIELDS)
def test_a_field_at_the_limit_is_accepted(field: str) -> None:
    analysed = to_item(FIELDS[field](LIMIT), 0, SETTINGS)
    assert analysed.output


def test_the_limit_is_counted_in_characters_not_bytes() -> None:
    assert to_item(item(output="é" * LIMIT), 0, SETTINGS).output == "é" * LIMIT
    with pytest.raises(IntakeError):
        to_item(item(output="é" * (LIMIT + 1)), 0, SETTINGS)


def test_the_default_limit_is_within_what_the_adversarial_benchmark_covers() -> None:
    """Detectors are benchmarked on 1 MB hostile texts; a default above that would be unmeasured."""
    assert Settings().max_field_chars <= MB
