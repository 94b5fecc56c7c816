"""Explanations: one analysed trace, projected from its tags into ThinkHive's explainability shape.

An Explanation is built in the worker when a ThinkHive-family run completes, stored per trace
(workers/explanation_store.py) and served by the Explainer v1 and Analyzer v2 routes. Every number is
derived from the tags and metrics of the analysis, as follows (README "ThinkHive API"):

- faithfulness: share of the answer's checked claims supported by the context (LLM tiers), else
  1 - unsupported_fact_ratio (checkable numbers, names and quotes found in the context);
- groundedness: mean of faithfulness and context coverage, where covering 60% of the answer's content
  words counts as fully covered;
- citationAccuracy: share of the answer's sentences attributable to one retrieved document (half or
  more of their content words in it);
- contextRelevance: query_context_overlap; answerRelevance: share of the question's content words the
  answer addresses, lowered by an incomplete-answer failure;
- overallScore: (1 - worst failure weight) x (0.5 + 0.5 x groundedness) with context, else
  1 - worst failure weight; a failure weighs severity/5 x (0.5 + 0.5 x confidence);
- hallucinationReport: fails of the hallucination_grounding bucket, one entry per piece of evidence,
  the claim being the sentence of the answer it comes from;
- businessImpact: severity band of the worst failure, risk figures from its weight, and a keyword
  category of the question (heuristic).
"""

from __future__ import annotations

import re
from typing import Any

import msgspec

from taxonomy.text import content_words, sentences, stems
from workers.contract import EvidenceItem, InputRecord, Tag
from workers.pricing import TIER_CREDITS

HALLUCINATION_BUCKET = "hallucination_grounding"
COVERAGE_FULL = 0.6
NOT_HALLUCINATION_EVIDENCE = frozenset({"claim_supported", "judge_quote"})
CATEGORIES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("billing_inquiry", ("refund", "invoice", "billing", "bill", "charge", "payment", "price", "pricing", "plan")),
    ("technical_support", ("error", "configure", "install", "sso", "api", "bug", "crash", "setup", "integration")),
    ("account_management", ("account", "password", "login", "profile", "upgrade", "cancel", "subscription")),
    ("shipping_and_orders", ("ship", "shipping", "delivery", "order", "track", "return")),
)


class RagEvaluation(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    groundedness: float
    faithfulness: float
    citation_accuracy: float
    context_relevance: float
    answer_relevance: float


class Hallucination(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    claim: str
    source: str
    severity: str  # low | medium | high | critical
    explanation: str
    subcategory: str


class HallucinationReport(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    detected: bool
    hallucinations: list[Hallucination]
    confidence: float


class BusinessImpact(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    severity: str
    revenue_risk: float
    customer_satisfaction_impact: float
    category: str


class FailureRef(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    subcategory_id: str
    subcategory_name: str
    bucket_id: str
    decision: str
    severity: float
    confidence: float


class Explanation(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """The stored explanation of one trace (camelCase on the wire and at rest)."""

    trace_id: str
    run_id: str
    agent_id: str
    tier: str
    outcome: str
    overall_score: float
    summary: str
    rag_evaluation: RagEvaluation | None
    hallucination_report: HallucinationReport
    business_impact: BusinessImpact
    insights: list[str]
    counterfactuals: list[str] = []
    failures: list[FailureRef] = []
    credits_used: float = 0.0
    user_message: str = ""
    agent_response: str = ""
    generated_at: str = ""
    expires_at: str = ""


def _band(severity: float) -> str:
    if severity < 2:
        return "low"
    if severity < 3.5:
        return "medium"
    return "high" if severity < 4.5 else "critical"


def _weight(tag: Tag) -> float:
    return tag.severity / 5 * (0.5 + 0.5 * tag.confidence)


def _sentence_at(text: str, offset: int | None, fallback: str) -> str:
    if offset is not None:
        for start, sentence in sentences(text):
            if start <= offset < start + len(sentence):
                return sentence
    return fallback.strip("… ")


def _claim_of(evidence: EvidenceItem, answer: str) -> str:
    start = evidence.metadata.get("start")
    if evidence.evidence_type.startswith("claim_"):
        return evidence.description
    if evidence.source == "output":
        return _sentence_at(answer, start if isinstance(start, int) else None, evidence.content_snippet or "")
    return evidence.content_snippet or evidence.description


def _hallucinations(fails: list[Tag], answer: str) -> list[Hallucination]:
    found: list[Hallucination] = []
    for tag in fails:
        pieces = [ev for ev in tag.evidence_items if ev.evidence_type not in NOT_HALLUCINATION_EVIDENCE]
        for ev in pieces or [None]:
            found.append(
                Hallucination(
                    claim=_claim_of(ev, answer) if ev else (tag.judge_rationale or tag.subcategory_name),
                    source=ev.source if ev else "output",
                    severity=_band(tag.severity),
                    explanation=ev.description if ev else (tag.judge_rationale or ""),
                    subcategory=tag.subcategory_id,
                )
            )
    return found


def _metric(tags: list[Tag], name: str) -> float | None:
    values = [t.eval_metric_values[name] for t in tags if name in t.eval_metric_values]
    return sum(values) / len(values) if values else None


def _citation_accuracy(answer: str, context: list[str]) -> float:
    docs = [stems(doc) for doc in context]
    claims = [stems(s) for _, s in sentences(answer)]
    claims = [c for c in claims if c]
    if not claims or not docs:
        return 0.0
    attributed = sum(1 for claim in claims if any(len(claim & doc) * 2 >= len(claim) for doc in docs))
    return attributed / len(claims)


def _answer_relevance(question: str, answer: str, tags: list[Tag]) -> float:
    asked = {w for w in content_words(question)}
    answered = stems(answer)
    relevance = 1.0 if not asked else sum(1 for w in asked if stems(w) & answered) / len(asked)
    incomplete = [t for t in tags if t.subcategory_id == "incomplete_answer" and t.decision == "fail"]
    if incomplete:
        relevance *= 1 - max(_weight(t) for t in incomplete)
    return relevance


def _rag(record: InputRecord, tags: list[Tag]) -> RagEvaluation | None:
    if not record.context:
        return None
    claim_ratio = _metric(tags, "claim_support_ratio")
    unsupported = _metric(tags, "unsupported_fact_ratio")
    faithfulness = claim_ratio if claim_ratio is not None else 1 - (unsupported or 0.0)
    coverage = _metric(tags, "context_coverage")
    covered = min(1.0, (coverage if coverage is not None else faithfulness) / COVERAGE_FULL)
    relevance = _metric(tags, "query_context_overlap")
    return RagEvaluation(
        groundedness=round((faithfulness + covered) / 2, 3),
        faithfulness=round(faithfulness, 3),
        citation_accuracy=round(_citation_accuracy(record.output_text, record.context), 3),
        context_relevance=round(relevance if relevance is not None else 0.0, 3),
        answer_relevance=round(_answer_relevance(record.input_text, record.output_text, tags), 3),
    )


def _category(question: str) -> str:
    found = set(re.findall(r"[a-z]+", question.lower()))
    for name, keywords in CATEGORIES:
        if found & set(keywords):
            return name
    return "general_inquiry"


def _insights(fails: list[Tag], rag: RagEvaluation | None, checks: int) -> list[str]:
    ranked = sorted(fails, key=_weight, reverse=True)
    insights = [f"{t.subcategory_name}: {t.judge_rationale or 'failed'}" for t in ranked[:5]]
    if not fails:
        insights.append(f"No failure found in {checks} checks")
    if rag is not None:
        if rag.groundedness >= 0.8:
            insights.append("Response is well grounded in the retrieved documents")
        if rag.context_relevance < 0.3:
            insights.append("The retrieved documents barely overlap the question: check retrieval")
    return insights


def _counterfactuals(tags: list[Tag]) -> list[str]:
    notes = []
    for tag in tags:
        rationale = tag.judge_rationale or ""
        if "Counterfactual:" in rationale:
            notes.append(f"{tag.subcategory_name}: {rationale.split('Counterfactual:', 1)[1].strip()}")
    return notes


def explain(
    record: InputRecord,
    tags: list[Tag],
    *,
    run_id: str,
    agent_id: str,
    tier: str,
    outcome: str | None,
    generated_at: str,
    expires_at: str,
) -> Explanation:
    """The explanation of one analysed item (a trace) from its tags."""
    fails = [t for t in tags if t.decision == "fail"]
    worst = max((_weight(t) for t in fails), default=0.0)
    rag = _rag(record, tags)
    score = (1 - worst) * (0.5 + 0.5 * rag.groundedness) if rag is not None else 1 - worst
    hallucination_fails = [t for t in fails if t.bucket_id == HALLUCINATION_BUCKET]
    checked = [t for t in tags if t.bucket_id == HALLUCINATION_BUCKET]
    confidence = max((t.confidence for t in hallucination_fails), default=None)
    if confidence is None:
        confidence = sum(t.confidence for t in checked) / len(checked) if checked else 0.0
    max_severity = max((t.severity for t in fails), default=0.0)
    verdict = outcome or ("failure" if max_severity >= 3 else "success")
    names = ", ".join(sorted({t.subcategory_name for t in fails})) or "none"
    return Explanation(
        trace_id=record.trace_id or f"item-{record.item_index}",
        run_id=run_id,
        agent_id=agent_id,
        tier=tier,
        outcome=verdict,
        overall_score=round(score, 3),
        summary=(
            f"Checked {len(tags)} failure modes in tier {tier}: {len(fails)} failed ({names}); "
            f"overall score {score:.2f}."
        ),
        rag_evaluation=rag,
        hallucination_report=HallucinationReport(
            detected=bool(hallucination_fails),
            hallucinations=_hallucinations(hallucination_fails, record.output_text),
            confidence=round(confidence, 3),
        ),
        business_impact=BusinessImpact(
            severity=_band(max_severity),
            revenue_risk=round(worst, 3),
            customer_satisfaction_impact=round(worst * 0.8, 3),
            category=_category(record.input_text),
        ),
        insights=_insights(fails, rag, len(tags)),
        counterfactuals=_counterfactuals(tags),
        failures=[
            FailureRef(
                subcategory_id=t.subcategory_id,
                subcategory_name=t.subcategory_name,
                bucket_id=t.bucket_id,
                decision=t.decision,
                severity=t.severity,
                confidence=t.confidence,
            )
            for t in tags
            if t.decision != "pass"
        ],
        credits_used=TIER_CREDITS[tier],
        user_message=record.input_text,
        agent_response=record.output_text,
        generated_at=generated_at,
        expires_at=expires_at,
    )


def to_builtins(explanation: Explanation) -> dict[str, Any]:
    return msgspec.to_builtins(explanation)
