"""Decoding judge answers: free local clean-up, then strict msgspec decoding and range validation.

Clean-up costs no call: ``` fences and prose around the outermost JSON object are stripped and trailing commas
removed. What still does not decode, or holds out-of-range values (severity outside 0-5, confidence outside
0-1), raises JudgeOutputInvalid; the judge then asks once for a repair (workers/llm/judge.py). The reason of
that error is short and never quotes the raw answer; it carries a short hash of it for logs.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Collection, Iterator
from typing import Any

import msgspec

from workers.llm.verdicts import ClaimChecks, ItemVerdicts

MAX_REASON_CHARS = 200
_BLANKS = re.compile(r"\s*")


class JudgeOutputInvalid(Exception):
    """The judge's answer is not valid JSON of the asked schema."""

    def __init__(self, reason: str, raw: str = "") -> None:
        self.reason = reason[:MAX_REASON_CHARS]
        self.raw_hash = hashlib.blake2b(raw.encode(errors="replace"), digest_size=6).hexdigest()
        super().__init__(f"{self.reason} [raw {self.raw_hash}]")


def _scan(text: str, start: int = 0) -> Iterator[tuple[int, str, bool]]:
    """Yield (position, char, outside a JSON string) for text[start:]."""
    in_string = escaped = False
    for pos in range(start, len(text)):
        char = text[pos]
        outside = not in_string
        if escaped:
            escaped = False
        elif in_string and char == "\\":
            escaped = True
        elif char == '"':
            in_string = not in_string
        yield pos, char, outside


def _outermost_object(text: str) -> str:
    """The first balanced {...} of `text` (string-aware), or from its first "{" to the end when unbalanced."""
    start = text.find("{")
    if start < 0:
        return text.strip()
    depth = 0
    for pos, char, outside in _scan(text, start):
        if outside and char in "{[":
            depth += 1
        elif outside and char in "}]":
            depth -= 1
            if depth == 0:
                return text[start : pos + 1]
    return text[start:]


def _closes_next(text: str, pos: int) -> bool:
    """Whether the next non-blank char after `pos` closes an object or array."""
    nxt = _BLANKS.match(text, pos + 1).end()  # type: ignore[union-attr]
    return text[nxt : nxt + 1] in ("}", "]")


def _drop_trailing_commas(text: str) -> str:
    """Remove commas directly before a closing } or ] (outside strings)."""
    return "".join(
        char for pos, char, outside in _scan(text) if not (outside and char == "," and _closes_next(text, pos))
    )


def _load(text: str) -> Any:
    """Parse the JSON object in `text`, after the free clean-up."""
    candidate = _outermost_object(text)
    try:
        return msgspec.json.decode(candidate)
    except msgspec.DecodeError:
        pass
    try:
        return msgspec.json.decode(_drop_trailing_commas(candidate))
    except msgspec.DecodeError as exc:
        raise JudgeOutputInvalid(f"not valid JSON: {exc}", text) from None


def _bare_id(value: Any) -> Any:
    return value.rsplit(".", 1)[-1] if isinstance(value, str) else value


def _asked_only(raw: Any, asked: Collection[str]) -> Any:
    """Keep the first verdict of each asked id (accepting "bucket.subcategory" ids)."""
    if not isinstance(raw, dict) or not isinstance(raw.get("verdicts"), list):
        return raw  # let msgspec name what is wrong
    kept: list[Any] = []
    seen: set[str] = set()
    for entry in raw["verdicts"]:
        sub_id = _bare_id(entry.get("subcategory")) if isinstance(entry, dict) else None
        if sub_id in asked and sub_id not in seen:
            seen.add(sub_id)
            kept.append({**entry, "subcategory": sub_id})
    return {**raw, "verdicts": kept}


def decode_verdicts(text: str, asked_ids: Collection[str]) -> ItemVerdicts:
    """Decode a judge answer; verdicts for ids not asked are dropped, duplicates keep the first.

    Raises:
        JudgeOutputInvalid: the answer is not JSON of the verdicts schema, or a value is out of range.
    """
    raw = _asked_only(_load(text), set(asked_ids))
    try:
        return msgspec.convert(raw, ItemVerdicts)
    except msgspec.ValidationError as exc:
        raise JudgeOutputInvalid(f"does not match the verdicts schema: {exc}", text) from None


def decode_claims(text: str) -> ClaimChecks:
    """Decode a claims answer.

    Raises:
        JudgeOutputInvalid: the answer is not JSON of the claims schema.
    """
    try:
        return msgspec.convert(_load(text), ClaimChecks)
    except msgspec.ValidationError as exc:
        raise JudgeOutputInvalid(f"does not match the claims schema: {exc}", text) from None
