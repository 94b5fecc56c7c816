"""Irrelevant or noisy retrieval: most retrieved chunks are off-topic for the question, or duplicates of
each other; and search tool calls whose query shares nothing with the user's question.

How: each chunk is scored by the share of the question's key terms it contains (stem or 5-letter
prefix; see _query). A chunk is off-topic when it holds none of them, or under a quarter of them and
none of the question's names/numbers. A chunk is a duplicate when its word 3-grams overlap an earlier
chunk's by 80% or more (Jaccard). Search-like tool calls (name matching search/retrieve/query/lookup)
are off-target when their query argument shares no key term with the question.
fail: two or more chunks and more than half of them off-topic or duplicate. unsure: a single off-topic
chunk, a third or more noisy, or an off-target search query alone. Metric `query_context_overlap`:
mean per-chunk share of key terms.

Blind spots: relevance is lexical, so a chunk answering with synonyms reads as off-topic and one that
repeats the question's words without helping reads as relevant. Near-duplicates below the 3-gram
threshold (paraphrased copies) are not caught.
"""

from __future__ import annotations

import json
import re
from typing import Any

from taxonomy.detectors.hallucination_grounding._facts import as_text
from taxonomy.detectors.retrieval_quality._lookup import TermLookup, lookup_for
from taxonomy.detectors.retrieval_quality._query import lookup_share, query_terms
from taxonomy.model import Evidence, Finding, Item
from taxonomy.registry import detector
from taxonomy.text import truncate, word_list

SEARCH_TOOL_RE = re.compile(r"search|retriev|query|lookup|look_up|find|fetch_doc|knowledge|rag|vector", re.I)
QUERY_KEYS = ("query", "q", "search", "search_query", "keywords", "question", "text", "input", "term", "terms")
DUPLICATE_JACCARD = 0.8
WEAK_CHUNK_OVERLAP = 0.25
MAX_SHINGLES = 5000
MAX_COMPARED_CHUNKS = 64  # near-duplicate search is pairwise; beyond this only exact repeats are found


def _shingles(text: str) -> set[tuple[str, str, str]]:
    tokens = word_list(text.casefold())[: MAX_SHINGLES + 2]
    return set(zip(tokens, tokens[1:], tokens[2:], strict=False))


class _Repeats:
    """Finds the earlier chunk a chunk repeats: same text up to spacing and case, or 3-gram Jaccard >= 0.8
    with one of the first MAX_COMPARED_CHUNKS chunks."""

    def __init__(self) -> None:
        self.seen_shingles: list[tuple[int, set[tuple[str, str, str]]]] = []
        self.seen_texts: dict[str, int] = {}

    def twin_of(self, index: int, doc: str) -> int | None:
        twin: int | None = self.seen_texts.setdefault(" ".join(doc.split()).casefold(), index)
        twin = None if twin == index else twin
        if twin is None and len(self.seen_shingles) < MAX_COMPARED_CHUNKS:
            shingles = _shingles(doc)
            twin = next(
                (
                    j
                    for j, other in self.seen_shingles
                    if shingles and other and len(shingles & other) / len(shingles | other) >= DUPLICATE_JACCARD
                ),
                None,
            )
            self.seen_shingles.append((index, shingles))
        return twin


def _search_query(arguments: Any) -> str | None:
    if isinstance(arguments, str):
        try:
            arguments = json.loads(arguments)
        except ValueError:
            return arguments
    if isinstance(arguments, dict):
        for key in QUERY_KEYS:
            value = arguments.get(key)
            if isinstance(value, str) and value.strip():
                return value
            if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
                return " ".join(value)
    return None


@detector("irrelevant_retrieval", needs=("input", "context"))
def detect(item: Item) -> Finding:
    query = query_terms(as_text(item.input))
    docs = [(i, doc) for i, doc in enumerate(item.context or ()) if isinstance(doc, str) and doc.strip()]
    evidence: list[Evidence] = []
    off_topic = duplicates = 0
    shares: list[float] = []
    repeats = _Repeats() if len(docs) > 1 else None  # a lone chunk has nothing to repeat
    for index, doc in docs:
        twin = repeats.twin_of(index, doc) if repeats is not None else None
        if twin is not None:
            duplicates += 1
            evidence.append(
                Evidence(
                    evidence_type="duplicate_chunk",
                    description=f"Repeats context[{twin}]",
                    source=f"context[{index}]",
                    content_snippet=truncate(" ".join(doc.split()), 200),
                    confidence=0.9,
                    metadata={"duplicate_of": twin},
                )
            )
            continue
        if len(query.terms) < 2:
            continue
        lookup = lookup_for((doc,))
        share = lookup_share(query, lookup)
        shares.append(share)
        anchor_hit = any(map(lookup.has, query.anchors))
        if share == 0.0 or (share < WEAK_CHUNK_OVERLAP and query.anchors and not anchor_hit):
            off_topic += 1
            evidence.append(
                Evidence(
                    evidence_type="off_topic_chunk",
                    description=f"Holds {share:.0%} of the question's key terms",
                    source=f"context[{index}]",
                    content_snippet=truncate(" ".join(doc.split()), 200),
                    confidence=0.7,
                    metadata={"term_share": round(share, 3)},
                )
            )

    bad_queries = 0
    for index, call in enumerate(item.tool_calls or ()):
        if len(query.terms) < 2 or not SEARCH_TOOL_RE.search(call.name or ""):
            continue
        text = _search_query(call.arguments)
        if text is None:
            continue
        if lookup_share(query, TermLookup(text)) == 0.0:
            bad_queries += 1
            evidence.append(
                Evidence(
                    evidence_type="off_target_query",
                    description="Search query shares no key term with the user's question",
                    source=f"tool_calls[{index}]",
                    content_snippet=truncate(text, 200),
                    confidence=0.6,
                    metadata={"tool": call.name},
                )
            )

    metrics = {"query_context_overlap": round(sum(shares) / len(shares), 4)} if shares else {}
    total = len(docs)
    noisy = off_topic + duplicates
    if total >= 2 and noisy * 2 > total:
        return Finding(
            decision="fail",
            severity=3.0 + (0.5 if noisy == total else 0.0),
            confidence=0.75,
            evidence=tuple(evidence[:10]),
            metrics=metrics,
            rationale=f"{off_topic} off-topic and {duplicates} duplicate chunk(s) out of {total}; "
            "the context is dominated by material that does not help the question.",
        )
    if noisy or bad_queries:
        parts = [f"{off_topic} off-topic", f"{duplicates} duplicate chunk(s) of {total}"]
        if bad_queries:
            parts.append(f"{bad_queries} off-target search quer(y/ies)")
        return Finding(
            decision="unsure",
            severity=2.0,
            confidence=0.4,
            evidence=tuple(evidence[:10]),
            metrics=metrics,
            rationale="Some noise: " + ", ".join(parts) + "; not a majority.",
        )
    if len(query.terms) < 2:
        return Finding.passed(
            "No duplicate chunks; the question has too few key terms to judge topicality.", confidence=0.3, **metrics
        )
    return Finding.passed(
        f"All {total} chunk(s) share key terms with the question and none repeats another.", confidence=0.7, **metrics
    )
