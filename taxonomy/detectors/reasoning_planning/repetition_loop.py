"""Loops without progress: the same step, or the same cycle of steps, repeated with nothing changing.

Two step sequences are scanned for cycles (A,A,A or A,B,A,B,...):
  * tool calls, where a step is (tool, canonical arguments, fingerprint of the result). Including the
    result means paging through a document (page_down, page_down, ... with new content each time) is
    progress, not a loop; repeating a call that keeps returning the same thing (or the same error) is not.
  * agent messages in item.messages (any role but user/human/system/tool: "assistant", "Orchestrator
    (thought)", ...; whitespace/case-normalised), which catches agents re-sending the same plan or reply
    across turns even when other roles speak in between; a cycle must contain a message of at least
    MIN_MESSAGE_WORDS words, and an identical such message appearing MIN_MESSAGE_REPEATS times anywhere
    also counts.
A period-1 run needs MIN_REPEATS repetitions, a longer cycle (period up to MAX_PERIOD) needs two full
passes; three or more passes make a confident fail, exactly two an unsure. This differs from
redundant_tool_calls, which counts any unjustified duplicate call: here the trace must cycle.
Blind spots: loops whose steps vary slightly (new timestamps, reworded plans), semantic loops (re-asking
the same question in other words), progress that the recorded outputs do not show.
"""

from __future__ import annotations

import hashlib
from collections import Counter

from taxonomy.detectors.tool_usage._tool_args import call_preview, canonical_arguments, name_key, output_fingerprint
from taxonomy.model import Evidence, Finding, Item
from taxonomy.registry import detector
from taxonomy.text import truncate

DEFAULT_IMPACT = 3
MAX_PERIOD = 4
MIN_REPEATS = 3
MIN_MESSAGE_WORDS = 5
MIN_MESSAGE_REPEATS = 3
NON_AGENT_ROLES = frozenset({"user", "human", "system", "developer", "tool", "function", "ipython", "observation"})
MESSAGE_KEY_CHARS = 4_000


def _is_loop(period: int, repeats: int) -> bool:
    return repeats >= MIN_REPEATS if period == 1 else repeats >= 2


def best_cycle(sequence: list[str]) -> tuple[int, int, int] | None:
    """(start, period, repetitions) of the strongest loop: one block repeated back to back, preferring three
    or more passes, then the longest stretch; None when nothing repeats enough to count as a loop."""
    best: tuple[int, int, int] | None = None
    best_score = (False, 0)
    for period in range(1, MAX_PERIOD + 1):
        run = 0
        for j in range(len(sequence) - period):
            run = run + 1 if sequence[j] == sequence[j + period] else 0
            repeats = (run + period) // period
            if run < period or not _is_loop(period, repeats):
                continue
            start = j - run + 1
            if period > 1 and len(set(sequence[start : start + period])) == 1:
                continue  # a single repeated step is reported with period 1
            score = (repeats >= MIN_REPEATS, repeats * period)
            if score > best_score:
                best, best_score = (start, period, repeats), score
    return best


def _tool_loop(item: Item) -> Evidence | None:
    calls = item.tool_calls
    steps = [f"{name_key(c.name)}|{canonical_arguments(c.arguments)}|{output_fingerprint(c)}" for c in calls]
    found = best_cycle(steps)
    if found is None:
        return None
    start, period, repeats = found
    block = " → ".join(call_preview(calls[start + k], 120) for k in range(period))
    return Evidence(
        evidence_type="tool_call_cycle",
        description=f"the same {period}-step tool sequence ran {repeats} times in a row with unchanged results "
        f"(calls {start}-{start + period * repeats - 1})",
        source=f"tool_calls[{start + period}]",
        content_snippet=truncate(block, 300),
        confidence=0.9 if repeats >= 3 else 0.6,
        metadata={"start": start, "period": period, "repeats": repeats},
    )


def _message_loop(item: Item) -> Evidence | None:
    positions = [i for i, m in enumerate(item.messages) if m.role.strip().casefold() not in NON_AGENT_ROLES]
    texts = [" ".join((item.messages[i].content or "")[:MESSAGE_KEY_CHARS].split()).casefold() for i in positions]
    keys = [hashlib.blake2b(t.encode(), digest_size=8).hexdigest() for t in texts]
    substantial = {k for k, t in zip(keys, texts, strict=True) if len(t.split()) >= MIN_MESSAGE_WORDS}
    found = best_cycle(keys)
    counts = Counter(k for k in keys if k in substantial)
    if found is not None and substantial & set(keys[found[0] : found[0] + found[1]]):
        start, period, repeats = found
        first = positions[start]
        what = f"the same {period} assistant message(s) repeated {repeats} times in a row"
        confidence = 0.85 if repeats >= 3 else 0.6
    elif counts and counts.most_common(1)[0][1] >= MIN_MESSAGE_REPEATS:
        key, repeats = counts.most_common(1)[0]
        first = positions[keys.index(key)]
        what, period, confidence = f"the same assistant message sent {repeats} times", 1, 0.75
    else:
        return None
    return Evidence(
        evidence_type="repeated_assistant_message",
        description=what,
        source=f"messages[{first}]",
        content_snippet=truncate(" ".join((item.messages[first].content or "")[:600].split()), 240),
        confidence=confidence,
        metadata={"period": period, "repeats": repeats, "speaker": item.messages[first].name},
    )


@detector("repetition_loop", needs=("transcript",))
def detect(item: Item) -> Finding:
    evidence = [e for e in (_tool_loop(item), _message_loop(item)) if e is not None]
    if not evidence:
        return Finding.passed(
            f"No repeated cycle among {len(item.tool_calls)} tool calls and {len(item.messages)} messages.",
            confidence=0.75,
        )
    repeats = max(e.metadata["repeats"] for e in evidence)
    confidence = max(e.confidence for e in evidence)
    severity = DEFAULT_IMPACT + (0.5 if repeats >= 4 else 0.0) + (0.5 if repeats >= 6 else 0.0)
    return Finding(
        decision="fail" if confidence >= 0.7 else "unsure",
        severity=min(5.0, severity) if confidence >= 0.7 else 2.0,
        confidence=confidence,
        evidence=tuple(evidence),
        rationale="The run loops without progress: " + "; ".join(e.description for e in evidence) + ".",
    )
