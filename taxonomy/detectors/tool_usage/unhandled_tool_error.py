"""A tool failed (or returned nothing) and the run carried on as if it had worked: no later successful call
(retry or fallback) and no acknowledgement of the failure in the final output.

Failures come from the shared classifier (system_execution/_tool_errors.py): status >= 400, error fields,
error payloads, error-shaped outputs. Empty results ("", [], {}, "null") are a weaker signal. A failure
counts as handled when any later call (other than a terminal tool such as final_answer/submit) succeeded
with a non-empty result, or when the final output acknowledges trouble ("could not", "unable to", "error",
"not available", "timed out", "unfortunately", the HTTP code, ...). Unhandled failures fail; if the output
also claims success ("successfully", "has been booked") the severity rises. Unhandled empty results only
make an unsure. Metric `tool_success_rate` = calls without error / calls (emitted on every item).
Blind spots: a later successful call that is unrelated to the failed one still counts as a fallback; an
acknowledgement phrased without any failure word is missed (judge territory).
"""

from __future__ import annotations

import re

from taxonomy.detectors.system_execution._tool_errors import ToolError, classify_calls
from taxonomy.detectors.tool_usage._tool_args import call_preview, is_empty_output
from taxonomy.model import Evidence, Finding, Item, ToolCall
from taxonomy.registry import detector
from taxonomy.text import snippet, truncate

DEFAULT_IMPACT = 4
MAX_EVIDENCE = 8
OUTPUT_SCAN_CHARS = 10_000  # head and tail of the final output that are read
TERMINAL_TOOL_RE = re.compile(
    r"^(?:final_answer|final_result|finish|submit|done|respond|reply|answer|return_answer|complete_task"
    r"|task_complete|stop|end_turn)$",
    re.IGNORECASE,
)
ACKNOWLEDGE_RE = re.compile(
    r"\b(?:errors?|failed|failure|fails|unable|could(?: not|n't)|cannot|can't|wasn't able|was not able"
    r"|not (?:available|accessible|reachable|retrievable)|unavailable|inaccessible|no (?:results?|data|matches"
    r"|records)|did(?: not|n't) (?:return|work|succeed|respond)|timed? ?out|timeout|denied|forbidden"
    r"|unauthori[sz]ed|rate[- ]limit\w*|quota|blocked|apolog\w*|unfortunately|sorry|retry|try again"
    r"|not found|unverified|not (?:been )?verified|from (?:my )?memory|general knowledge)\b",
    re.IGNORECASE,
)
SUCCESS_CLAIM_RE = re.compile(
    r"\b(?:successfully|has been (?:sent|created|updated|booked|saved|completed|deleted|scheduled|submitted"
    r"|processed|cancel+ed|confirmed)|all set|(?:is|are) (?:now )?(?:confirmed|complete|done)|I (?:have|'ve) "
    r"(?:sent|created|updated|booked|saved|completed|deleted|scheduled|submitted|verified|confirmed))\b",
    re.IGNORECASE,
)


def _recovered(index: int, calls: tuple[ToolCall, ...], errors: tuple[ToolError | None, ...]) -> bool:
    """Whether some later, non-terminal call succeeded with a non-empty result."""
    return any(
        errors[j] is None and not is_empty_output(calls[j].output) and not TERMINAL_TOOL_RE.match(calls[j].name.strip())
        for j in range(index + 1, len(calls))
    )


def _read_part(output: str) -> str:
    """The part of the output that is read: all of it, or its head and tail when it is huge."""
    if len(output) <= 2 * OUTPUT_SCAN_CHARS:
        return output
    return output[:OUTPUT_SCAN_CHARS] + "\n…\n" + output[-OUTPUT_SCAN_CHARS:]


def _acknowledges(text: str, status_codes: set[str]) -> bool:
    """Whether the output mentions trouble (failure words, or the HTTP code of a failed call)."""
    if ACKNOWLEDGE_RE.search(text):
        return True
    return any(re.search(rf"\b{code}\b", text) for code in status_codes)


def _output_evidence(output: str) -> tuple[Evidence, bool]:
    claim = SUCCESS_CLAIM_RE.search(output)
    if claim:
        quoted = snippet(output, claim.start(), claim.end())
        return Evidence(
            evidence_type="success_claim",
            description="the final output reports success despite the failed call",
            source="output",
            content_snippet=quoted,
            metadata={"start": claim.start(), "end": claim.end()},
        ), True
    return Evidence(
        evidence_type="no_failure_acknowledged",
        description="the final output does not mention the failure",
        source="output",
        content_snippet=truncate(" ".join(output[:400].split()), 200),
        confidence=0.8,
    ), False


def _empty_evidence(index: int, call: ToolCall) -> Evidence:
    return Evidence(
        evidence_type="empty_tool_result",
        description=f"{call.name or '<unnamed tool>'} returned an empty result",
        source=f"tool_calls[{index}]",
        content_snippet=call_preview(call),
        confidence=0.55,
        metadata={"tool": call.name, "status_code": call.status_code},
    )


@detector("unhandled_tool_error", needs=("tool_calls", "output"))
def detect(item: Item) -> Finding:
    calls = item.tool_calls
    errors = classify_calls(calls)
    failed = [err for err in errors if err is not None]
    success_rate = (len(calls) - len(failed)) / len(calls) if calls else 1.0
    metrics = {"tool_success_rate": success_rate}
    empty = [i for i, call in enumerate(calls) if errors[i] is None and is_empty_output(call.output)]
    if not failed and not empty:
        return Finding(decision="pass", confidence=0.9, rationale="No tool call failed.", metrics=metrics)
    output = _read_part(item.output or "")
    codes = {str(err.status_code) for err in failed if err.status_code}
    if _acknowledges(output, codes):
        return Finding(
            decision="pass",
            confidence=0.7,
            rationale=f"{len(failed)} failed / {len(empty)} empty tool results; the final output acknowledges "
            "the problem.",
            metrics=metrics,
        )
    unhandled = [err for err in failed if not _recovered(err.index, calls, errors)]
    unhandled_empty = [i for i in empty if not _recovered(i, calls, errors)]
    if not unhandled and not unhandled_empty:
        return Finding(
            decision="pass",
            confidence=0.75,
            rationale=f"Every failed or empty tool result ({len(failed) + len(empty)}) was followed by a "
            "successful retry or fallback call.",
            metrics=metrics,
        )
    output_evidence, claims_success = _output_evidence(output)
    evidence = [err.evidence(calls[err.index], "unhandled_tool_error") for err in unhandled]
    evidence += [_empty_evidence(i, calls[i]) for i in unhandled_empty]
    evidence = [*evidence[: MAX_EVIDENCE - 1], output_evidence]
    names = ", ".join(sorted({calls[e.index].name or "<unnamed>" for e in unhandled}))
    if not unhandled:
        return Finding(
            decision="unsure",
            severity=3.0,
            confidence=0.5,
            evidence=tuple(evidence),
            rationale=f"{len(unhandled_empty)} tool call(s) returned an empty result with no retry or fallback, "
            "and the output does not mention it; it may still be a valid 'nothing found'.",
            metrics=metrics,
        )
    return Finding(
        decision="fail",
        severity=DEFAULT_IMPACT + (0.5 if claims_success else 0.0),
        confidence=0.9 if claims_success else 0.8,
        evidence=tuple(evidence),
        rationale=f"{len(unhandled)} failed tool call(s) ({names}) had no retry or fallback, and the final "
        + ("output reports success anyway." if claims_success else "output does not acknowledge the failure."),
        metrics=metrics,
    )
