"""Context assembly loss: evidence that was retrieved but never reached the prompt (dropped by reranking
or packing, or cut short), detected by comparing the retrieval record with item.context.

Metadata keys read (all optional):
- the retrieval record, the first present of "retrieved_documents", "retrieved_docs",
  "retrieved_contexts", "retrieved_chunks", "retrieval_results": a list of strings, or of dicts with the
  text under "content" / "text" / "page_content" / "document" / "chunk" / "snippet", and optionally
  "rank" / "position" (lower is better) or "score" / "relevance_score" / "similarity" (higher is better);
  without those the list order is the rank;
- a hard chunk limit, the first present of "chunk_char_limit", "max_chunk_chars", "context_char_limit".
How: each retrieved document is matched to the context by word 3-gram containment (>= 90% kept,
>= 20% partly kept = truncated, else dropped). fail: the top-ranked document was dropped, a document was
dropped while a lower-ranked one was kept, a retrieved document reached the prompt cut short, a dropped
document matches more of the question's key terms than a kept one, or context entries carry explicit
truncation markers ("[truncated]", "[...]") or sit exactly at a hard length limit and end mid-word.
unsure: only a trailing ellipsis, or only lower-ranked documents dropped that matter lexically.
pass: nothing lost; with no retrieval record, pass with low confidence (it cannot be checked).

Blind spots: without a retrieval record only truncation marks are visible; a summarised (rewritten)
document counts as truncated or dropped; which dropped document held the answer is not known.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from typing import Any

from taxonomy.detectors.hallucination_grounding._facts import as_text
from taxonomy.detectors.retrieval_quality._query import chunk_vocabulary, overlap, query_terms
from taxonomy.model import Evidence, Finding, Item
from taxonomy.registry import detector
from taxonomy.text import WORD_RE, truncate

RECORD_KEYS = ("retrieved_documents", "retrieved_docs", "retrieved_contexts", "retrieved_chunks", "retrieval_results")
TEXT_KEYS = ("content", "text", "page_content", "document", "chunk", "snippet")
LIMIT_KEYS = ("chunk_char_limit", "max_chunk_chars", "context_char_limit")
EXPLICIT_CUT_RE = re.compile(r"(?:\[(?:truncated|cut|…|\.\.\.)\]|\((?:truncated|cut)\)|<truncated>)\s*$", re.I)
ELLIPSIS_END_RE = re.compile(r"(?:\.\.\.|…)\s*$")
KEPT, PARTIAL = 0.9, 0.2
MAX_DOCS = 200
MAX_WORDS = 20000


@dataclass(frozen=True, slots=True)
class Retrieved:
    position: int
    text: str
    rank: float


def _doc_text(entry: Any) -> str | None:
    if isinstance(entry, str):
        return entry
    if isinstance(entry, dict):
        for key in TEXT_KEYS:
            if isinstance(entry.get(key), str):
                return entry[key]
    return None


def _rank(entry: Any, position: int) -> float:
    if isinstance(entry, dict):
        for key in ("rank", "position"):
            if isinstance(entry.get(key), int | float) and not isinstance(entry.get(key), bool):
                return float(entry[key])
        for key in ("score", "relevance_score", "similarity"):
            if isinstance(entry.get(key), int | float) and not isinstance(entry.get(key), bool):
                return -float(entry[key])
    return float(position)


def _retrieved(metadata: dict[str, Any]) -> tuple[str, list[Retrieved]] | None:
    """The metadata key of the retrieval record and its documents, best-ranked first."""
    key = next((k for k in RECORD_KEYS if isinstance(metadata.get(k), list | tuple)), None)
    if key is None:
        return None
    docs = [
        Retrieved(i, text, _rank(entry, i))
        for i, entry in enumerate(metadata[key][:MAX_DOCS])
        if (text := _doc_text(entry)) is not None and text.strip()
    ]
    return key, sorted(docs, key=lambda d: (d.rank, d.position))


def _shingles(text: str) -> set[tuple[str, ...]]:
    tokens = WORD_RE.findall(text.casefold())[:MAX_WORDS]
    if len(tokens) < 3:
        return {tuple(tokens)} if tokens else set()
    return set(zip(tokens, tokens[1:], tokens[2:], strict=False))


def _cut_marks(item: Item, limit: Any) -> tuple[list[Evidence], bool]:
    """Evidence of truncated context entries, and whether any of it is conclusive."""
    found: list[Evidence] = []
    conclusive = False
    docs = [(i, d) for i, d in enumerate(item.context or ()) if isinstance(d, str) and d.strip()]
    lengths = Counter(len(d) for _, d in docs)
    for index, doc in docs:
        tail = doc.rstrip()[-200:]
        mid_word = tail[-1:].isalnum()
        at_limit = isinstance(limit, int) and not isinstance(limit, bool) and limit > 0 and len(doc) >= limit
        same_cut = len(doc) >= 100 and lengths[len(doc)] >= 2 and mid_word
        if EXPLICIT_CUT_RE.search(tail) or (at_limit and mid_word) or same_cut:
            reason = "explicit truncation marker" if EXPLICIT_CUT_RE.search(tail) else "cut at a hard length limit"
            conclusive = True
        elif ELLIPSIS_END_RE.search(tail):
            reason = "ends with an ellipsis"
        else:
            continue
        found.append(
            Evidence(
                evidence_type="truncated_chunk",
                description=f"Context entry {reason}",
                source=f"context[{index}]",
                content_snippet="…" + " ".join(tail[-160:].split()),
                confidence=0.8 if reason != "ends with an ellipsis" else 0.4,
                metadata={"chars": len(doc)},
            )
        )
    return found, conclusive


def _compare(item: Item, record_key: str, retrieved: list[Retrieved]) -> tuple[list[Evidence], int, int, bool]:
    """Evidence about lost documents, the number of harmful losses, of soft ones, and if the top one is lost."""
    context_shingles: set[tuple[str, ...]] = set()
    for doc in item.context or ():
        if isinstance(doc, str):
            context_shingles |= _shingles(doc)
    shares = []
    for doc in retrieved:
        shingles = _shingles(doc.text)
        shares.append(len(shingles & context_shingles) / len(shingles) if shingles else 1.0)
    kept = [order for order, share in enumerate(shares) if share >= KEPT]
    question = as_text(item.input)
    query = query_terms(question) if question.strip() else None

    def relevance(text: str) -> float:
        if query is None or len(query.terms) < 2:
            return 0.0
        return overlap(query, *chunk_vocabulary(text))

    least_relevant_kept = min((relevance(retrieved[order].text) for order in kept), default=0.0)
    evidence: list[Evidence] = []
    harmful = soft = 0
    for order, (doc, share) in enumerate(zip(retrieved, shares, strict=True)):
        if share >= KEPT:
            continue
        more_relevant = bool(kept) and query is not None and relevance(doc.text) > least_relevant_kept
        if share >= PARTIAL:
            kind, bad = "truncated_document", True
            description = f"Retrieved document #{order + 1} reached the prompt only in part ({share:.0%} of it)"
        else:
            kind, bad = "dropped_document", order == 0 or order < max(kept, default=-1) or more_relevant
            description = f"Retrieved document #{order + 1} is absent from the context"
        harmful += bad
        soft += not bad and more_relevant
        if bad or more_relevant:
            evidence.append(
                Evidence(
                    evidence_type=kind,
                    description=description,
                    source=f"metadata.{record_key}[{doc.position}]",
                    content_snippet=truncate(" ".join(doc.text.split()), 200),
                    confidence=0.8 if bad else 0.4,
                    metadata={"rank": order + 1, "kept_share": round(share, 3)},
                )
            )
    return evidence, harmful, soft, bool(shares) and shares[0] < PARTIAL


@detector("context_assembly_loss", needs=("context",))
def detect(item: Item) -> Finding:
    metadata = item.metadata if isinstance(item.metadata, dict) else {}
    limit = next((metadata[k] for k in LIMIT_KEYS if k in metadata), None)
    evidence, conclusive = _cut_marks(item, limit)
    record = _retrieved(metadata)
    harmful = soft = 0
    top_dropped = False
    if record is not None:
        lost, harmful, soft, top_dropped = _compare(item, *record)
        evidence = lost + evidence
    if harmful or conclusive:
        what = []
        if harmful:
            what.append(
                f"{harmful} retrieved document(s) were dropped ahead of kept ones, cut short, or left out "
                "while matching the question better than a kept one"
                + (" (including the top-ranked one)" if top_dropped else "")
            )
        if conclusive:
            what.append("context entries were cut (truncation markers or a hard length limit)")
        return Finding(
            decision="fail",
            severity=4.0 if top_dropped else 3.0,
            confidence=0.8 if harmful else 0.7,
            evidence=tuple(evidence[:10]),
            rationale="; ".join(what) + ".",
        )
    if soft or evidence:
        return Finding(
            decision="unsure",
            severity=2.0,
            confidence=0.4 if record else 0.3,
            evidence=tuple(evidence[:10]),
            rationale="Lower-ranked documents that match the question were left out (maybe a deliberate "
            "top-k cut), or context entries end with an ellipsis.",
        )
    if record is None or not record[1]:
        return Finding.passed(
            "Cannot be checked without a retrieval record in metadata (e.g. "
            "metadata['retrieved_documents']); no truncation marks in the context.",
            confidence=0.2,
        )
    return Finding.passed(
        f"The top-ranked retrieved documents reached the context intact ({len(record[1])} "
        "in the record; any left out ranked below every kept one).",
        confidence=0.8,
    )
