"""Negation flips: an answer sentence that negates what a closely matching context sentence states
plainly ("Roy Disney did not guide the merger" against "Walt and Roy Disney guided the merger").

Only the answer-negated direction is checked: long context sentences often carry an unrelated negation,
which makes the reverse direction noisy. Questions and abstentions are skipped.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from taxonomy.detectors.hallucination_grounding._abstain import abstention
from taxonomy.detectors.hallucination_grounding._facts import content_stems
from taxonomy.text import sentences

NEGATION_RE = re.compile(
    r"\b(?:not|no|never|none|neither|nor|without|cannot|unable|lacks?|failed to)\b|n['’]t\b", re.IGNORECASE
)
MIN_CONTENT = 4
MATCH_SHARE = 0.75
MAX_CONTEXT_SENTENCES = 5000
MAX_CHECKED = 50


def negation_flips(output: str, context: Iterable[str]) -> list[tuple[int, int, str]]:
    """(start, end, matched context sentence) for answer sentences that negate a plain context sentence."""
    negated = [
        (start, sentence)
        for start, sentence in sentences(output)
        if NEGATION_RE.search(sentence) and not sentence.rstrip().endswith("?") and abstention(sentence) is None
    ][:MAX_CHECKED]
    if not negated:
        return []
    pool: list[tuple[str, set[str]]] = []
    for doc in context:
        for _, sentence in sentences(doc):
            pool.append((sentence, content_stems(sentence)))
            if len(pool) >= MAX_CONTEXT_SENTENCES:
                break
    flips = []
    for start, sentence in negated:
        own = content_stems(sentence)
        if len(own) < MIN_CONTENT:
            continue
        best, best_share = None, 0.0
        for candidate, candidate_stems in pool:
            share = len(own & candidate_stems) / len(own)
            if share > best_share:
                best, best_share = candidate, share
        if best is not None and best_share >= MATCH_SHARE and not NEGATION_RE.search(best):
            flips.append((start, start + len(sentence), best))
    return flips
