"""The same tool called again with the same (or trivially different) arguments without a reason to retry.

Arguments are compared in canonical form (_tool_args.canonical_arguments: JSON parsed, keys sorted and
casefolded, strings casefolded with whitespace collapsed), so whitespace, case and key-order variants count
as the same call. A repeat is *not* redundant when:
  * the earlier identical call failed transiently (upstream error, timeout, rate limit; via the shared
    classifier) — up to MAX_JUSTIFIED_RETRIES such retries in a row;
  * the repeat's outcome differs: the earlier call failed and this one succeeded, or both succeeded with
    clearly different outputs (word-set Jaccard < SAME_OUTPUT_SIMILARITY: stateful tools such as
    page_down/scroll, or a resource that changed). Near-identical outputs (a re-run web search) count as
    unchanged.
Repeating a call that failed for a deterministic reason (bad arguments, 404, auth, setup) with the same
result is redundant, and so is calling the same tool again with merely *reworded* arguments when it fails
with the very same error message as before (the agent retried without fixing the cause). Repeats of
poll-like tools (status/poll/wait/check) are reported at low confidence (unsure). Severity grows with the
number of duplicates. Metric `tool_call_redundancy` = duplicate calls / calls (emitted on every item).
Blind spots: "far more calls than needed" with *different* arguments is inefficient_execution's job;
repeats whose outputs were not recorded (None) are taken as unchanged.
"""

from __future__ import annotations

import re

from taxonomy.detectors.system_execution._tool_errors import ToolError, classify_calls
from taxonomy.detectors.tool_usage._tool_args import (
    call_preview,
    canonical_arguments,
    name_key,
    output_fingerprint,
)
from taxonomy.model import Evidence, Finding, Item, ToolCall
from taxonomy.registry import detector
from taxonomy.text import words

DEFAULT_IMPACT = 2
MAX_JUSTIFIED_RETRIES = 3
MAX_EVIDENCE = 8
TRANSIENT_KINDS = frozenset({"upstream", "quota"})
SAME_OUTPUT_SIMILARITY = 0.8
OUTPUT_WORDS_CHARS = 4_000
POLL_NAME_RE = re.compile(r"status|poll|wait|sleep|progress|check|heartbeat|ping|get_job|job_result", re.I)


class _Outputs:
    """Lazy per-call output digests and word sets, for 'did the repeat return something new' checks."""

    def __init__(self, calls: tuple[ToolCall, ...]) -> None:
        self.calls = calls
        self.prints = [output_fingerprint(call) for call in calls]
        self._bags: dict[int, set[str]] = {}

    def _bag(self, i: int) -> set[str]:
        if i not in self._bags:
            value = self.calls[i].output
            text = value if isinstance(value, str) else str(value)
            self._bags[i] = set(words(text[:OUTPUT_WORDS_CHARS]))
        return self._bags[i]

    def changed(self, a: int, b: int) -> bool:
        if not self.prints[a] or not self.prints[b] or self.prints[a] == self.prints[b]:
            return False
        bag_a, bag_b = self._bag(a), self._bag(b)
        union = bag_a | bag_b
        return not union or len(bag_a & bag_b) / len(union) < SAME_OUTPUT_SIMILARITY


def _is_redundant(
    earlier: int, later: int, errors: tuple[ToolError | None, ...], outputs: _Outputs, transient_run: int
) -> bool:
    """Whether call `later` repeats call `earlier` (same name and arguments) without justification."""
    before, after = errors[earlier], errors[later]
    if before is not None:
        if before.kind in TRANSIENT_KINDS and transient_run < MAX_JUSTIFIED_RETRIES:
            return False
        return after is not None  # a retry that then succeeded was worth it
    if after is not None:
        return False  # the earlier one succeeded, the repeat failed: a different outcome
    return not outputs.changed(earlier, later)


def _group_evidence(calls: tuple[ToolCall, ...], first: int, repeats: list[int], same_failure: bool) -> Evidence:
    call = calls[first]
    exact = all(calls[i].arguments == call.arguments and calls[i].name == call.name for i in repeats)
    poll = bool(POLL_NAME_RE.search(call.name))
    if same_failure:
        how, confidence = "reworded arguments and got the very same error each time", 0.75
    else:
        how = "identical arguments" if exact else "trivially different arguments (case/whitespace/key order)"
        confidence = 0.9 if exact else 0.8
    return Evidence(
        evidence_type="repeated_failing_call" if same_failure else "duplicate_tool_call",
        description=f"{call.name or '<unnamed>'} called {len(repeats) + 1} times with {how} "
        f"(calls {', '.join(str(i) for i in [first, *repeats][:12])})",
        source=f"tool_calls[{repeats[0]}]",
        content_snippet=call_preview(calls[repeats[0]]),
        confidence=0.5 if poll else confidence,
        metadata={"tool": call.name, "first_index": first, "repeat_indices": repeats, "count": len(repeats)},
    )


def _severity(duplicates: int, total: int) -> float:
    severity = DEFAULT_IMPACT + (0.5 if duplicates >= 2 else 0.0) + (0.5 if duplicates >= 4 else 0.0)
    severity += 0.5 if duplicates >= 8 else 0.0
    severity += 0.5 if duplicates * 2 >= total else 0.0
    return min(4.5, severity)


def _duplicate_groups(calls: tuple[ToolCall, ...]) -> dict[int, list[int]]:
    """{first call index: [indices of its unjustified repeats]} for calls with the same canonical arguments."""
    errors = classify_calls(calls)
    outputs = _Outputs(calls)
    last_index: dict[tuple[str, str], int] = {}
    first_index: dict[tuple[str, str], int] = {}
    transient_runs: dict[tuple[str, str], int] = {}
    groups: dict[int, list[int]] = {}
    for index, call in enumerate(calls):
        key = (name_key(call.name), canonical_arguments(call.arguments))
        earlier = last_index.get(key)
        if earlier is not None:
            run = transient_runs.get(key, 0)
            if _is_redundant(earlier, index, errors, outputs, run):
                groups.setdefault(first_index[key], []).append(index)
            prior = errors[earlier]
            transient_runs[key] = run + 1 if prior is not None and prior.kind in TRANSIENT_KINDS else 0
        else:
            first_index[key] = index
        last_index[key] = index
    return groups


def _same_failure_groups(calls: tuple[ToolCall, ...], counted: set[int]) -> dict[int, list[int]]:
    """Calls of one tool with different arguments that fail with exactly the same deterministic error."""
    errors = classify_calls(calls)
    first_failure: dict[tuple[str, str], int] = {}
    groups: dict[int, list[int]] = {}
    for index, err in enumerate(errors):
        if err is None or err.kind in TRANSIENT_KINDS or index in counted:
            continue
        key = (name_key(calls[index].name), output_fingerprint(calls[index]))
        if key in first_failure:
            groups.setdefault(first_failure[key], []).append(index)
        else:
            first_failure[key] = index
    return groups


@detector("redundant_tool_calls", needs=("tool_calls",))
def detect(item: Item) -> Finding:
    calls = item.tool_calls
    groups = _duplicate_groups(calls)
    counted = {i for first, repeats in groups.items() for i in (first, *repeats)}
    same_failure = _same_failure_groups(calls, counted)
    duplicates = sum(len(r) for r in groups.values()) + sum(len(r) for r in same_failure.values())
    redundancy = duplicates / len(calls) if calls else 0.0
    if not duplicates:
        return Finding.passed(
            f"No unjustified repeat among {len(calls)} tool calls.", confidence=0.85, tool_call_redundancy=0.0
        )
    evidence = [_group_evidence(calls, first, repeats, False) for first, repeats in groups.items()]
    evidence += [_group_evidence(calls, first, repeats, True) for first, repeats in same_failure.items()]
    evidence.sort(key=lambda e: (-e.confidence, -e.metadata["count"]))
    confidence = max(e.confidence for e in evidence)
    return Finding(
        decision="fail" if confidence >= 0.7 else "unsure",
        severity=_severity(duplicates, len(calls)),
        confidence=confidence,
        evidence=tuple(evidence[:MAX_EVIDENCE]),
        rationale=f"{duplicates} of {len(calls)} tool calls repeat an earlier call without new justification "
        f"(same arguments and result, or the same failure again; {redundancy:.0%} redundant)"
        + ("; the repeated tools look like status polling, which may be intended." if confidence < 0.7 else "."),
        metrics={"tool_call_redundancy": redundancy},
    )
