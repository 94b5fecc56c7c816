"""Far more tool calls than the task needs: query thrashing, unbatched look-ups, endless paging.

Signals (thresholds are the module constants below):
  * query thrashing (fail, low severity): at least NEAR_DUPLICATE_MIN calls of one tool whose arguments are
    near-duplicates of another call of that tool (word-set Jaccard >= SIMILARITY, not identical: identical
    repeats are redundant_tool_calls' business; arguments longer than MAX_THRASH_ARGUMENT_CHARS, such as
    code, are left out) — the agent keeps rephrasing the same search;
  * unbatched look-ups (fail): at least UNBATCHED_RUN_MIN consecutive calls of one tool with the same
    argument keys where exactly one key changes each time, to another identifier-like value (a number or
    a short string: get_user(id=1), get_user(id=2), ...; not free-text queries or code). Higher
    confidence when the tool's schema in item.metadata["tools"] has an array parameter, i.e. it could batch;
  * paging (unsure): PAGING_RUN_MIN or more consecutive identical calls with changing results (page_down ...);
  * volume (unsure): more than HIGH_CALL_COUNT calls in one item.
Severity stays low (default impact 2). Blind spots: whether the task *needed* the calls (a judge has to
compare with the goal); token/latency cost is not read.
"""

from __future__ import annotations

from typing import Any

from taxonomy.detectors.tool_usage._tool_args import (
    call_preview,
    canonical_arguments,
    name_key,
    output_fingerprint,
    parse_arguments,
    tool_specs,
)
from taxonomy.model import Evidence, Finding, Item, ToolCall
from taxonomy.registry import detector
from taxonomy.text import words

DEFAULT_IMPACT = 2
NEAR_DUPLICATE_MIN = 5
SIMILARITY = 0.5
UNBATCHED_RUN_MIN = 5
PAGING_RUN_MIN = 10
HIGH_CALL_COUNT = 40
MAX_CALLS_PER_TOOL = 150  # cap on the pairwise comparison per tool
MAX_THRASH_ARGUMENT_CHARS = 400  # longer arguments (code, documents) share words without being rephrasings
FAIL_CONFIDENCE = 0.6


def _string_values(value: Any, depth: int = 0) -> list[str]:
    if isinstance(value, str):
        return [value]
    if depth > 4:
        return []
    if isinstance(value, dict):
        return [s for v in value.values() for s in _string_values(v, depth + 1)]
    if isinstance(value, (list, tuple)):
        return [s for v in value for s in _string_values(v, depth + 1)]
    return [str(value)] if value is not None else []


def _thrashing(calls: tuple[ToolCall, ...]) -> list[Evidence]:
    by_tool: dict[str, list[int]] = {}
    for i, call in enumerate(calls):
        by_tool.setdefault(name_key(call.name), []).append(i)
    found = []
    for indices in by_tool.values():
        if len(indices) < NEAR_DUPLICATE_MIN:
            continue
        indices = indices[:MAX_CALLS_PER_TOOL]
        texts = [" ".join(_string_values(parse_arguments(calls[i].arguments)[0])) for i in indices]
        bags = [set(words(t)) if len(t) <= MAX_THRASH_ARGUMENT_CHARS else set() for t in texts]
        canon = [canonical_arguments(calls[i].arguments) for i in indices]
        similar: set[int] = set()
        for a in range(len(indices)):
            for b in range(a + 1, len(indices)):
                union = bags[a] | bags[b]
                if union and canon[a] != canon[b] and len(bags[a] & bags[b]) / len(union) >= SIMILARITY:
                    similar.update((a, b))
        if len(similar) >= NEAR_DUPLICATE_MIN:
            shown = sorted(similar)
            found.append(
                Evidence(
                    evidence_type="query_thrashing",
                    description=f"{calls[indices[0]].name}: {len(similar)} calls with near-identical arguments",
                    source=f"tool_calls[{indices[shown[1]]}]",
                    content_snippet=" | ".join(call_preview(calls[indices[k]], 100) for k in shown[:4]),
                    confidence=0.65 + min(0.2, 0.02 * (len(similar) - NEAR_DUPLICATE_MIN)),
                    metadata={"count": len(similar), "indices": [indices[k] for k in shown]},
                )
            )
    return found


def _is_lookup_value(value: Any) -> bool:
    """An identifier-like value: a number or a short string (<= 3 words, <= 40 chars), not a query or code."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return True
    return isinstance(value, str) and 0 < len(value) <= 40 and len(value.split()) <= 3 and "\n" not in value


def _changed_key(before: Any, after: Any) -> str | None:
    """The single key whose identifier-like value differs between two argument dicts with the same keys."""
    if not (isinstance(before, dict) and isinstance(after, dict)) or before.keys() != after.keys():
        return None
    changed = [k for k in before if before[k] != after[k]]
    if len(changed) != 1 or not (_is_lookup_value(before[changed[0]]) and _is_lookup_value(after[changed[0]])):
        return None
    return str(changed[0])


def _can_batch(schema: dict[str, Any] | None) -> bool:
    props = schema.get("properties") if isinstance(schema, dict) else None
    return isinstance(props, dict) and any(isinstance(p, dict) and p.get("type") == "array" for p in props.values())


def _runs(item: Item) -> list[Evidence]:
    calls = item.tool_calls
    specs = tool_specs(item.metadata) or {}
    parsed = [parse_arguments(c.arguments)[0] for c in calls]
    found: list[Evidence] = []
    start, key, paging_start = 0, None, 0
    for i in range(1, len(calls) + 1):
        same_tool = i < len(calls) and name_key(calls[i].name) == name_key(calls[i - 1].name)
        step_key = _changed_key(parsed[i - 1], parsed[i]) if same_tool else None
        if step_key is None or (key is not None and step_key != key):
            if i - start >= UNBATCHED_RUN_MIN and key is not None:
                batchable = _can_batch(specs.get(calls[start].name))
                found.append(_run_evidence(calls, start, i, "unbatched_lookups", 0.8 if batchable else 0.65, key))
            start, key = (i - 1, step_key) if step_key is not None else (i, None)
        else:
            key = step_key
        same_call = same_tool and canonical_arguments(calls[i].arguments) == canonical_arguments(calls[i - 1].arguments)
        if not (same_call and output_fingerprint(calls[i]) != output_fingerprint(calls[i - 1])):
            if i - paging_start >= PAGING_RUN_MIN:
                found.append(_run_evidence(calls, paging_start, i, "repeated_paging", 0.45, None))
            paging_start = i
    return found


def _run_evidence(
    calls: tuple[ToolCall, ...], start: int, end: int, kind: str, confidence: float, key: str | None
) -> Evidence:
    what = f"one call per '{key}' value" if key else "the same call repeated to page through results"
    return Evidence(
        evidence_type=kind,
        description=f"{calls[start].name}: {end - start} consecutive calls, {what}",
        source=f"tool_calls[{start}]",
        content_snippet=" | ".join(call_preview(calls[k], 100) for k in range(start, min(end, start + 4))),
        confidence=confidence,
        metadata={"start": start, "end": end - 1, "count": end - start, "varying_key": key},
    )


@detector("inefficient_execution", needs=("tool_calls",))
def detect(item: Item) -> Finding:
    calls = item.tool_calls
    evidence = _thrashing(calls) + _runs(item)
    if len(calls) > HIGH_CALL_COUNT:
        evidence.append(
            Evidence(
                evidence_type="high_call_volume",
                description=f"{len(calls)} tool calls in one run (threshold {HIGH_CALL_COUNT})",
                source="tool_calls[0]",
                content_snippet=call_preview(calls[0], 100),
                confidence=0.4,
                metadata={"count": len(calls)},
            )
        )
    if not evidence:
        return Finding.passed(f"No thrashing, unbatched or paging pattern in {len(calls)} tool calls.", confidence=0.7)
    confidence = max(e.confidence for e in evidence)
    excess = max(e.metadata["count"] for e in evidence)
    return Finding(
        decision="fail" if confidence >= FAIL_CONFIDENCE else "unsure",
        severity=min(3.0, 1.5 + (0.5 if excess >= 8 else 0.0) + (0.5 if len(evidence) >= 2 else 0.0)),
        confidence=confidence,
        evidence=tuple(evidence),
        rationale="More tool calls than the task likely needs: " + "; ".join(e.description for e in evidence) + ".",
    )
