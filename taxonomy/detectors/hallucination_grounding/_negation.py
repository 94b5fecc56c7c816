"""Negation flips: an answer sentence that negates what a closely matching context sentence states
plainly ("Roy Disney did not guide the merger" against "Walt and Roy Disney guided the merger").

Only the answer-negated direction is checked: long context sentences often carry an unrelated negation,
which makes the reverse direction noisy. Questions and abstentions are skipped.

A context sentence's content stems are a subset of its document's, so a document whose stems cover less
than MATCH_SHARE of an answer sentence cannot hold its match and is not split into sentences at all.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from taxonomy.detectors.hallucination_grounding._abstain import abstention
from taxonomy.detectors.hallucination_grounding._facts import content_stem_sets, content_stems
from taxonomy.text import sentences

NEGATION_RE = re.compile(
    r"\b(?:not|no|never|none|neither|nor|without|cannot|unable|lacks?|failed to)\b|n['’]t\b", re.IGNORECASE
)
# Whether NEGATION_RE matches, for lower-cased ASCII text: the first letter opens the pattern.
LOWER_NEGATION_RE = re.compile(
    r"[ncwulf](?:(?<!\w.)(?:(?<=n)(?:ot|o|ever|one|either|or)|(?<=c)annot|(?<=w)ithout|(?<=u)nable|(?<=l)acks?"
    r"|(?<=f)ailed to)\b|(?<=n)'t\b)"
)
MIN_CONTENT = 4
MATCH_SHARE = 0.75
MAX_CONTEXT_SENTENCES = 5000
MAX_CHECKED = 50


def negates(text: str) -> bool:
    """Whether `text` holds a negation word ("not", "never", "n't", ...)."""
    if text.isascii():
        return LOWER_NEGATION_RE.search(text.lower()) is not None
    return NEGATION_RE.search(text) is not None


def negation_flips(
    output_sentences: Sequence[tuple[int, str]],
    context: Sequence[str],
    stems_of: Callable[[str], set[str]] = content_stems,
    doc_stems_of: Callable[[str], set[str]] = content_stems,
) -> list[tuple[int, int, str]]:
    """(start, end, matched context sentence) for answer sentences (from `sentences(output)`) that negate a
    plain context sentence; `stems_of` gives an answer sentence's content stems, `doc_stems_of` a superset
    of a context document's."""
    negated = []
    for start, sentence in output_sentences:
        if negates(sentence) and not sentence.rstrip().endswith("?") and abstention(sentence) is None:
            negated.append((start, sentence))
            if len(negated) >= MAX_CHECKED:
                break
    checked = [(start, sentence, own) for start, sentence in negated if len(own := stems_of(sentence)) >= MIN_CONTENT]
    if not checked:
        return []
    pools = _candidate_pools(context, [own for _, _, own in checked], doc_stems_of)
    flips = []
    for start, sentence, own in checked:
        best, best_share = None, 0.0
        for doc_stems, pool in pools:
            if len(own & doc_stems) / len(own) < MATCH_SHARE:
                continue  # no sentence of this document can reach the share
            for candidate, candidate_stems in pool:
                share = len(own & candidate_stems) / len(own)
                if share > best_share:
                    best, best_share = candidate, share
        if best is not None and best_share >= MATCH_SHARE and not negates(best):
            flips.append((start, start + len(sentence), best))
    return flips


def _candidate_pools(
    context: Sequence[str], owns: list[set[str]], doc_stems_of: Callable[[str], set[str]]
) -> list[tuple[set[str], list[tuple[str, set[str]]]]]:
    """Per document that may match one of `owns`: (a superset of) its stems and its (sentence, stems)
    candidates, at most MAX_CONTEXT_SENTENCES in all (once reached, each further document adds its first
    sentence only)."""
    # Sentences end at one of .!?\n each, so while these counts stay under the cap, it cannot bind.
    bounded = sum(sum(map(doc.count, ".!?\n")) + 1 for doc in context) < MAX_CONTEXT_SENTENCES
    pools = []
    size = 0
    for doc in context:
        doc_stems = doc_stems_of(doc)
        relevant = any(len(own & doc_stems) / len(own) >= MATCH_SHARE for own in owns)
        if not relevant and bounded:
            continue
        doc_sentences = sentences(doc)
        taken = min(len(doc_sentences), max(1, MAX_CONTEXT_SENTENCES - size))
        size += taken
        if relevant:
            texts = [sentence for _, sentence in doc_sentences[:taken]]
            pools.append((doc_stems, list(zip(texts, content_stem_sets(texts), strict=True))))
    return pools
