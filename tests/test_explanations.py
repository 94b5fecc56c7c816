"""Explanations: the ThinkHive projection of one analysed trace, from real rule_based tags."""

from __future__ import annotations

from workers.contract import DatasetItem, RunResult
from workers.explanations import Explanation, explain
from workers.inprocess import analyze_dataset
from workers.settings import Settings

DOC = (
    "Enterprise Refund Policy: All enterprise subscriptions are eligible for a full refund within 30 calendar days "
    "of the billing date. Refund requests must be submitted through your designated account manager."
)
QUESTION = "What is the refund policy for enterprise plans?"


def _explained(answer: str, context: list[str] | None = None, question: str = QUESTION) -> Explanation:
    result: RunResult = analyze_dataset(
        [DatasetItem(input=question, output=answer, context=[DOC] if context is None else context, trace_id="tr_1")],
        settings=Settings(),
    )
    return explain(
        result.inputs[0],
        result.failure_tags,
        run_id="run_1",
        agent_id="agent",
        tier="rule_based",
        outcome=None,
        generated_at="2026-01-01T00:00:00Z",
        expires_at="2026-01-08T00:00:00Z",
    )


def test_a_grounded_answer_scores_high_with_no_hallucination() -> None:
    e = _explained("Enterprise plans have a 30-day refund policy. Contact your account manager to request it.")
    assert e.rag_evaluation is not None
    assert e.rag_evaluation.groundedness >= 0.8 and e.rag_evaluation.faithfulness == 1.0
    assert e.rag_evaluation.citation_accuracy > 0.5 and e.rag_evaluation.answer_relevance > 0.5
    assert e.hallucination_report.detected is False and e.hallucination_report.hallucinations == []
    assert e.overall_score >= 0.8 and e.outcome == "success"
    assert e.business_impact.category == "billing_inquiry" and e.business_impact.revenue_risk == 0
    assert e.credits_used == 0 and e.trace_id == "tr_1"


def test_an_invented_number_is_a_hallucination_named_by_its_sentence() -> None:
    e = _explained("Enterprise plans have a 60-day refund policy. Contact your account manager to request it.")
    assert e.hallucination_report.detected is True
    [first, *_] = e.hallucination_report.hallucinations
    assert first.claim == "Enterprise plans have a 60-day refund policy."
    assert first.subcategory == "unsupported_claim" and first.source == "output"
    assert e.rag_evaluation is not None and e.rag_evaluation.faithfulness < 1.0
    assert e.overall_score < 0.8 and e.business_impact.revenue_risk > 0
    assert e.insights[0].startswith("Claim not supported by provided context:") and "60" in e.insights[0]


def test_without_documents_there_is_no_rag_evaluation_and_the_category_follows_the_question() -> None:
    e = _explained("Restart the router and try again.", context=[], question="My API integration shows an error")
    assert e.rag_evaluation is None
    assert e.business_impact.category == "technical_support"
    assert 0 <= e.overall_score <= 1
