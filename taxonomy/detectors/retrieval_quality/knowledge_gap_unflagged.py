"""Knowledge gap not acknowledged: the context does not hold what the question asks about, yet the answer
asserts something instead of saying it does not know.

How: (1) gap: the question's key terms (see _query) are looked up in the union of the chunks; a gap is
at most a third of three or more terms found, or every name/number of the question missing with less
than half found. (2) abstention: the answer says it does not know / cannot find it / that the documents
do not cover it (shared abstention phrases). (3) grounding: share of the answer's content words that
occur in the context (`context_coverage`). fail: gap, no abstention, and the answer is mostly not made
of context words (it brings its own content). unsure: a gap with an answer built from context words
(it may still answer from the context), or a borderline gap with a weakly grounded answer. pass: the
answer abstains, or the context covers the question.

Blind spots: lexical coverage only; a context that mentions the question's terms without containing
the answer reads as covered (pass), and an honest hedge phrased unusually ("that's beyond what I was
given") is not recognised as an abstention.
"""

from __future__ import annotations

from taxonomy.detectors.hallucination_grounding._abstain import abstention
from taxonomy.detectors.hallucination_grounding._facts import as_text, content_stems
from taxonomy.detectors.retrieval_quality._lookup import lookup_for
from taxonomy.detectors.retrieval_quality._query import lookup_share, query_terms
from taxonomy.model import Evidence, Finding, Item
from taxonomy.registry import detector
from taxonomy.text import snippet, truncate

GAP_OVERLAP = 0.34
ANCHORLESS_OVERLAP = 0.5
COVERED_OVERLAP = 0.6
GROUNDED_ANSWER = 0.75
WEAK_ANSWER = 0.5
MAX_OUTPUT_CHARS = 100_000


@detector("knowledge_gap_unflagged", needs=("input", "context", "output"))
def detect(item: Item) -> Finding:
    output = as_text(item.output)
    question = as_text(item.input)
    query = query_terms(question)
    lookup = lookup_for(tuple(doc for doc in item.context or () if isinstance(doc, str) and doc.strip()))
    answer_stems = content_stems(output[:MAX_OUTPUT_CHARS])
    lookup.prepare(len(answer_stems) + len(query.terms))
    coverage = lookup.count(answer_stems) / len(answer_stems) if answer_stems else 1.0
    share = lookup_share(query, lookup)
    metrics = {"query_context_overlap": round(share, 4), "context_coverage": round(coverage, 4)}

    declined = abstention(output[:MAX_OUTPUT_CHARS])
    if declined is not None:
        return Finding.passed(f"The answer acknowledges the gap: {declined.group()!r}.", confidence=0.8, **metrics)
    if len(query.terms) < 2:
        return Finding.passed(
            "The question has too few key terms to judge coverage lexically.", confidence=0.3, **metrics
        )

    missing = [t for t in query.terms if not lookup.has(t)]
    anchors_missing = [t for t in missing if t in query.anchors]
    all_anchors_missing = bool(query.anchors) and len(anchors_missing) == len(query.anchors)
    gap = (len(query.terms) >= 3 and share < GAP_OVERLAP) or (all_anchors_missing and share < ANCHORLESS_OVERLAP)
    if share >= COVERED_OVERLAP and not anchors_missing:
        return Finding.passed(f"The context covers {share:.0%} of the question's key terms.", confidence=0.7, **metrics)
    missing_words = query.words_for(missing)
    evidence = (
        Evidence(
            evidence_type="question_not_covered",
            description=f"Key terms absent from every chunk: {', '.join(missing_words)}",
            source="input",
            content_snippet=snippet(question, query.offset, query.offset + len(query.question)),
            confidence=0.7,
            metadata={"missing_terms": missing_words},
        ),
        Evidence(
            evidence_type="unflagged_answer",
            description=f"The answer asserts without acknowledging the gap; {coverage:.0%} of its content "
            "words occur in the context",
            source="output",
            content_snippet=truncate(" ".join(output.split()), 200),
            confidence=0.7,
            metadata={"context_coverage": round(coverage, 4)},
        ),
    )
    if gap and coverage < GROUNDED_ANSWER:
        confidence = 0.8 if share == 0.0 or coverage < WEAK_ANSWER else 0.65
        return Finding(
            decision="fail",
            severity=4.0 if coverage < WEAK_ANSWER else 3.5,
            confidence=confidence,
            evidence=evidence,
            metrics=metrics,
            rationale=f"The context holds {share:.0%} of the question's key terms, yet the answer "
            f"asserts content ({1 - coverage:.0%} of it not from the context) without saying so.",
        )
    if gap or coverage < WEAK_ANSWER:
        return Finding(
            decision="unsure",
            severity=2.5,
            confidence=0.4,
            evidence=evidence,
            metrics=metrics,
            rationale=f"Context covers {share:.0%} of the question's key terms and the answer is "
            f"{coverage:.0%} context words; a judge should check whether the answer is in the context.",
        )
    return Finding.passed(
        f"The context covers {share:.0%} of the question's key terms and the answer is mostly context words.",
        confidence=0.5,
        **metrics,
    )
