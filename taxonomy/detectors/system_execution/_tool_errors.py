"""Shared tool-error classifier: decides once per tool call whether it failed, and with which kind of error.

Whether a call failed and which texts carry its error comes from _error_signals.py. The error is then
classified into one kind, in this order of precedence: unknown tool (kind "other") > environment (missing
module/env var/API key, file permission, command not found, sandbox-forbidden import) > quota (429, rate
limit, quota, out of memory, disk full, context length, token limit) > HTTP status (field, then text) > auth
> not_found > upstream (5xx, timeouts, connection errors, crashed sandbox) > invalid arguments (400/422,
unexpected keyword argument) > other.

`classify_calls` keeps the result for the last tuple of calls it saw (checked by identity, with a strong
reference held so the id cannot be reused), so the detectors that run one after another on an item share one
classification; ToolCall itself is never hashed (its arguments may be a dict).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from taxonomy.detectors.system_execution._error_patterns import (
    AUTH_RE,
    ENVIRONMENT_RE,
    INTERNAL_ERROR_RE,
    INVALID_ARGUMENTS_RE,
    NO_RESULTS_RE,
    NOT_FOUND_RE,
    QUOTA_RE,
    STATUS_TEXT_RE,
    TRIGGERS,
    UNKNOWN_TOOL_RE,
    UPSTREAM_RE,
)
from taxonomy.detectors.system_execution._error_signals import error_signals
from taxonomy.model import Evidence, Finding, ToolCall
from taxonomy.text import snippet, truncate

ErrorKind = Literal["auth", "not_found", "upstream", "quota", "environment", "other"]
MAX_EVIDENCE = 8
ITEM_TEXT_BUDGET = 200_000  # error-text characters read per item before falling back to short prefixes
REDUCED_CHARS = 400

KIND_LABELS: dict[str, str] = {
    "auth": "authentication / permission failure",
    "not_found": "resource not found",
    "upstream": "upstream service error or timeout",
    "quota": "rate limit, quota or capacity exceeded",
    "environment": "environment / setup misconfiguration",
    "other": "tool error",
}


@dataclass(frozen=True, slots=True)
class ToolError:
    """How one tool call failed: kind, finer detail, where the signal was found and the quoted snippet."""

    index: int
    kind: ErrorKind
    detail: str  # e.g. "http_403", "quota_message", "unknown_tool", "invalid_arguments", "no_results"
    status_code: int | None
    field: str  # "status_code", "error" or "output"
    snippet: str
    matched: str
    confidence: float

    def evidence(self, call: ToolCall, evidence_type: str = "tool_error") -> Evidence:
        """The Evidence item quoting this error, sourced at tool_calls[index]."""
        code = f" (HTTP {self.status_code})" if self.status_code else ""
        return Evidence(
            evidence_type=evidence_type,
            description=f"{call.name or '<unnamed tool>'} failed: {KIND_LABELS[self.kind]}{code}",
            source=f"tool_calls[{self.index}]",
            content_snippet=self.snippet,
            confidence=self.confidence,
            metadata={
                "status_code": self.status_code,
                "tool": call.name,
                "error_class": self.kind,
                "detail": self.detail,
                "matched": self.matched,
                "field": self.field,
            },
        )


Found = tuple[str, str, re.Match[str]]  # (field, text, match)


def _search(pattern: re.Pattern[str], texts: list[tuple[str, str]]) -> Found | None:
    triggers = TRIGGERS.get(pattern, ())
    for field, text in texts:
        folded = text.casefold()
        if triggers and not any(t in folded for t in triggers):
            continue
        match = pattern.search(text)
        if match:
            return field, text, match
    return None


def _kind_for_status(code: int) -> tuple[ErrorKind, str] | None:
    if code in (401, 403, 407):
        return "auth", f"http_{code}"
    if code in (404, 410):
        return "not_found", f"http_{code}"
    if code in (429, 413, 507, 509):
        return "quota", f"http_{code}"
    if code == 408 or code >= 500:
        return "upstream", f"http_{code}"
    return None


def _text_status(texts: list[tuple[str, str]]) -> tuple[str, str, re.Match[str], int] | None:
    triggers = TRIGGERS[STATUS_TEXT_RE]
    for field, text in texts:
        folded = text.casefold()
        if not any(t in folded for t in triggers):
            continue
        for match in STATUS_TEXT_RE.finditer(text):
            code = int(next(g for g in match.groups() if g))
            if code >= 400:
                return field, text, match, code
    return None


_PATTERN_ORDER: tuple[tuple[re.Pattern[str], ErrorKind, str, float], ...] = (
    (AUTH_RE, "auth", "auth_message", 0.85),
    (NO_RESULTS_RE, "not_found", "no_results", 0.6),
    (NOT_FOUND_RE, "not_found", "not_found_message", 0.85),
    (UPSTREAM_RE, "upstream", "upstream_message", 0.85),
)


def _make(index: int, kind: ErrorKind, detail: str, status: int | None, found: Found, confidence: float) -> ToolError:
    field, text, match = found
    return ToolError(
        index=index,
        kind=kind,
        detail=detail,
        status_code=status,
        field=field,
        snippet=snippet(text, match.start(), match.end()),
        matched=match.group(0)[:120],
        confidence=confidence,
    )


def _status_error(
    index: int,
    kind: ErrorKind,
    detail: str,
    status: int,
    texts: list[tuple[str, str]],
    confidence: float = 0.95,
) -> ToolError:
    lead = " ".join(texts[0][1][:400].split()) if texts else ""
    return ToolError(
        index=index,
        kind=kind,
        detail=detail,
        status_code=status,
        field="status_code",
        snippet=truncate(f"status_code={status}" + (f": {lead}" if lead else ""), 240),
        matched=str(status),
        confidence=confidence,
    )


def _classify_texts(index: int, status: int | None, texts: list[tuple[str, str]]) -> ToolError | None:
    """The kind of a failed call from its status and texts (None when no rule names a kind)."""
    if found := _search(UNKNOWN_TOOL_RE, texts):
        return _make(index, "other", "unknown_tool", status, found, 0.9)
    if found := _search(ENVIRONMENT_RE, texts):
        return _make(index, "environment", "environment_message", status, found, 0.9)
    if found := _search(QUOTA_RE, texts):
        return _make(index, "quota", "quota_message", status, found, 0.9)
    if status is not None and (by_status := _kind_for_status(status)):
        return _status_error(index, by_status[0], by_status[1], status, texts)
    in_text = _text_status(texts)
    if in_text and (by_text := _kind_for_status(in_text[3])):
        return _make(index, by_text[0], by_text[1], in_text[3], in_text[:3], 0.9)
    for pattern, kind, detail, confidence in _PATTERN_ORDER:
        if found := _search(pattern, texts):
            return _make(index, kind, detail, status, found, confidence)
    if found := _search(INVALID_ARGUMENTS_RE, texts):
        return _make(index, "other", "invalid_arguments", status, found, 0.85)
    if in_text and in_text[3] in (400, 422):
        return _make(index, "other", "invalid_arguments", in_text[3], in_text[:3], 0.75)
    if status in (400, 422):
        return _status_error(index, "other", "invalid_arguments", status, texts, 0.75)
    if found := _search(INTERNAL_ERROR_RE, texts):
        return _make(index, "other", "internal_error", status, found, 0.7)
    return None


def _classify(call: ToolCall, index: int, limit: int | None) -> tuple[ToolError | None, int]:
    """(ToolError or None, characters of error text read); texts are cut to `limit` chars when given."""
    failed, status, texts = error_signals(call)
    if not failed:
        return None, 0
    if limit is not None:
        texts = [(field, text[:limit]) for field, text in texts]
    read = sum(len(text) for _, text in texts)
    found = _classify_texts(index, status, texts)
    if found is not None:
        return found, read
    field, lead = texts[0] if texts else ("status_code", f"status_code={status}")
    return ToolError(
        index=index,
        kind="other",
        detail="exception" if texts else "failed",
        status_code=status,
        field=field,
        snippet=truncate(" ".join(lead[:400].split()), 240),
        matched="",
        confidence=0.8,
    ), read


def classify_call(call: ToolCall, index: int = 0) -> ToolError | None:
    """The ToolError of `call`, or None when the call did not fail."""
    return _classify(call, index, None)[0]


_LAST: tuple[tuple[ToolCall, ...], tuple[ToolError | None, ...]] | None = None


def classify_calls(calls: tuple[ToolCall, ...]) -> tuple[ToolError | None, ...]:
    """One ToolError-or-None per call, memoised for the last tuple seen (identity check, strong reference).

    Once ITEM_TEXT_BUDGET characters of error text have been read for the item, the remaining calls are
    classified from the first REDUCED_CHARS characters of each text only, which bounds the cost of items
    with hundreds of huge failing calls.
    """
    global _LAST
    last = _LAST
    if last is not None and last[0] is calls:
        return last[1]
    budget = ITEM_TEXT_BUDGET
    result: list[ToolError | None] = []
    for i, call in enumerate(calls):
        found, read = _classify(call, i, None if budget > 0 else REDUCED_CHARS)
        budget -= read
        result.append(found)
    _LAST = (calls, tuple(result))
    return _LAST[1]


def errors_of_kind(calls: tuple[ToolCall, ...], kind: ErrorKind) -> list[ToolError]:
    """The classified errors of `calls` that have `kind`."""
    return [err for err in classify_calls(calls) if err is not None and err.kind == kind]


def _recovered(calls: tuple[ToolCall, ...], errors: tuple[ToolError | None, ...], err: ToolError) -> bool:
    """Whether a later call of the same tool succeeded after `err`."""
    name = calls[err.index].name
    return any(errors[j] is None and calls[j].name == name for j in range(err.index + 1, len(calls)))


def kind_finding(calls: tuple[ToolCall, ...], kind: ErrorKind, *, default_impact: int, what: str) -> Finding:
    """The Finding of a system_execution detector that reports every call classified as `kind`.

    Severity starts at the subcategory's default impact, +0.5 when the error is widespread (3+ calls or
    half of them), -1 when every such failure was followed by a successful call of the same tool, and -1
    when the only signal is weak (e.g. "no results found").
    """
    classified = classify_calls(calls)
    found = [err for err in classified if err is not None and err.kind == kind]
    if not found:
        return Finding.passed(f"None of the {len(calls)} tool calls failed with {what}.", confidence=0.9)
    severity = float(default_impact)
    if len(found) >= 3 or len(found) * 2 >= len(calls):
        severity += 0.5
    if all(_recovered(calls, classified, err) for err in found):
        severity -= 1.0
    if all(err.confidence < 0.7 for err in found):
        severity -= 1.0
    tools = sorted({calls[err.index].name or "<unnamed>" for err in found})
    codes = sorted({err.status_code for err in found if err.status_code})
    code_text = f" (HTTP {', '.join(map(str, codes))})" if codes else ""
    shown = found[:MAX_EVIDENCE]
    more = f"; {len(found) - len(shown)} more not shown" if len(found) > len(shown) else ""
    return Finding(
        decision="fail",
        severity=min(5.0, max(1.0, severity)),
        confidence=max(err.confidence for err in found),
        evidence=tuple(err.evidence(calls[err.index]) for err in shown),
        rationale=f"{len(found)} of {len(calls)} tool calls failed with {what}{code_text}: {', '.join(tools)}{more}.",
    )
