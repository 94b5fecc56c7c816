"""Degenerate or leaky output: loops, truncation, leaked special tokens/placeholders/scaffolding, garbage.

Signals (see _degeneration.py and _leaks.py): (1) loops, found in one pass over word 3-grams (a stretch where each
3-gram recurs at the same distance is text repeating itself), run-on tokens that repeat a short unit, and
the same 6+-word sentence three or more times (unsure: refrains are legitimate); (2) truncation: a
finish_reason of "length"/"max_tokens" in item.metadata, an unclosed code fence, JSON with unclosed
brackets, or a prose answer whose last line stops on a comma or a function word (unsure when a long last
line merely lacks final punctuation); (3) leaks outside code blocks: chat-template/special tokens (<|im_end|>, [INST],
</s>), unfilled placeholders ({{name}}, [insert ... here], [ORDER_ID], {customer_name}, Lorem ipsum, TODO),
ReAct scaffolding (Thought:/Action:/Observation:), tool-call markup or a bare function-call JSON object
(unless JSON was requested), and visible <think> tags (unsure); (4) garbled text: U+FFFD, control
characters, mojibake (Ã©, â€™). Anything the user's input itself contains is not flagged as a leak, and
placeholders are only unsure when the user asked for a template, letter or sample.
"As an AI language model" is not degenerate and is not flagged.
Metric `output_repetition`: share of the answer's word 3-grams that repeat an earlier 3-gram,
1 - distinct/total over the first 100k whitespace tokens (0 for answers under three words; mean 0.013 on
the 1,810 dev answers, about 0.0-0.05 for ordinary prose, near 1 for a loop).
Blind spots: fluent nonsense, loops with small variations, template fill-ins like "[Your Name]" (left to
the user in letter templates, so not flagged), truncation right after a full stop.
"""

from __future__ import annotations

from taxonomy.detectors.conversation_quality._degeneration import (
    Signal,
    find_loops,
    find_truncation,
    repetition_metrics,
    tokens_of,
)
from taxonomy.detectors.conversation_quality._leaks import find_garbage, find_leaks
from taxonomy.detectors.instruction_compliance._format_requests import (
    metadata_requests,
    request_sources,
    text_requests,
)
from taxonomy.model import Evidence, Finding, Item
from taxonomy.registry import detector
from taxonomy.text import snippet


def _json_requested(item: Item) -> bool:
    if metadata_requests(item.metadata):
        return True
    return any(r.kind == "json" for name, text in request_sources(item) for r in text_requests(name, text))


@detector("degenerate_output", needs=("output",))
def detect(item: Item) -> Finding:
    output = item.output if isinstance(item.output, str) else str(item.output)
    user_input = item.input if isinstance(item.input, str) else ""
    tokens = tokens_of(output)
    repetition, run, period, end = repetition_metrics(tokens)
    metrics = {"output_repetition": round(repetition, 4)}
    signals: list[Signal] = []
    signals += find_loops(output, run, period, end)
    signals += find_truncation(output, item.metadata)
    signals += find_leaks(output, user_input, _json_requested(item))
    signals += find_garbage(output)
    if not signals:
        return Finding.passed(
            "No loop, truncation, leaked token/placeholder/scaffolding or garbled text found.",
            confidence=0.8,
            **metrics,
        )
    evidence = tuple(
        Evidence(
            evidence_type=s.kind,
            description=s.description,
            source="output",
            content_snippet=snippet(output, s.span[0], min(s.span[1], len(output))),
            confidence=s.confidence,
            metadata={"start": s.span[0], "end": min(s.span[1], len(output))},
        )
        for s in signals
    )
    failures = [s for s in signals if s.status == "fail"]
    shown = failures or signals
    rationale = " ".join(s.description for s in shown)
    if not failures:
        return Finding(
            decision="unsure",
            severity=max(s.severity for s in signals),
            confidence=0.45,
            evidence=evidence,
            rationale=rationale,
            metrics=metrics,
        )
    return Finding(
        decision="fail",
        severity=max(s.severity for s in failures),
        confidence=max(s.confidence for s in failures),
        evidence=evidence,
        rationale=rationale,
        metrics=metrics,
    )
