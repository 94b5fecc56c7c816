"""Retrieval miss: the key terms of the question are absent from every retrieved chunk.

How: the live question of the input is reduced to key terms (content words without question and
instruction filler; names and numbers marked as anchors) and each is looked up, by stem or 5-letter
prefix, in the union of the retrieved chunks. Metric `query_context_overlap` is the share found.
fail: at most a third of three or more key terms is found, or every anchor (name/number) of the
question is missing while less than half of the terms are found. unsure: borderline overlap, or some
anchors missing. pass otherwise, with low confidence when the question has too few key terms.

Blind spots: lexical only. Synonyms and paraphrases ("car" vs "vehicle") read as misses, and a chunk
that repeats the question's words without answering it reads as a hit; whether the answer exists
elsewhere in the corpus is not knowable from the item.
"""

from __future__ import annotations

from taxonomy.detectors.hallucination_grounding._facts import as_text
from taxonomy.detectors.retrieval_quality._lookup import lookup_for
from taxonomy.detectors.retrieval_quality._query import lookup_share, query_terms
from taxonomy.model import Evidence, Finding, Item
from taxonomy.registry import detector
from taxonomy.text import snippet

FAIL_OVERLAP = 0.34
ANCHORLESS_OVERLAP = 0.5
UNSURE_OVERLAP = 0.6
MIN_TERMS = 2


@detector("retrieval_miss", needs=("input", "context"))
def detect(item: Item) -> Finding:
    question = as_text(item.input)
    query = query_terms(question)
    if len(query.terms) < MIN_TERMS:
        return Finding.passed("The question has too few key terms to judge retrieval lexically.", confidence=0.3)
    lookup = lookup_for(tuple(doc for doc in item.context or () if isinstance(doc, str) and doc.strip()))
    share = lookup_share(query, lookup)
    missing = [t for t in query.terms if not lookup.has(t)]
    missing_anchors = [t for t in missing if t in query.anchors]
    all_anchors_missing = bool(query.anchors) and len(missing_anchors) == len(query.anchors)
    metrics = {"query_context_overlap": round(share, 4)}
    missing_words = query.words_for(missing)

    def evidence(confidence: float) -> tuple[Evidence, ...]:
        return (
            Evidence(
                evidence_type="query_terms_not_retrieved",
                description=f"Key terms of the question found in no retrieved chunk: {', '.join(missing_words)}",
                source="input",
                content_snippet=snippet(question, query.offset, query.offset + len(query.question)),
                confidence=confidence,
                metadata={
                    "missing_terms": missing_words,
                    "anchors_missing": query.words_for(missing_anchors),
                    "chunks": len(item.context or ()),
                },
            ),
        )

    found = len(query.terms) - len(missing)
    summary = (
        f"{found} of {len(query.terms)} key terms of the question appear in the {len(item.context or ())} chunk(s)"
    )
    strong = len(query.terms) >= 3 and share < FAIL_OVERLAP
    if strong or (all_anchors_missing and share < ANCHORLESS_OVERLAP):
        confidence = 0.8 if share == 0.0 or all_anchors_missing else 0.65
        return Finding(
            decision="fail",
            severity=3.0 if share > 0 else 3.5,
            confidence=confidence,
            evidence=evidence(confidence),
            metrics=metrics,
            rationale=f"{summary}; the retrieved context does not cover the question.",
        )
    if share < UNSURE_OVERLAP or missing_anchors:
        return Finding(
            decision="unsure",
            severity=2.0,
            confidence=0.4,
            evidence=evidence(0.4),
            metrics=metrics,
            rationale=f"{summary}; partial lexical coverage, a judge should check relevance.",
        )
    return Finding.passed(f"{summary}.", confidence=0.7, **metrics)
