"""Projections of misstep's explanations and runs onto the ThinkHive wire shapes (Explainer v1, Analyzer v2)."""

from __future__ import annotations

from typing import Any

import msgspec

from workers.contract import ExplainOptions, RunRecord
from workers.explanations import Explanation


def _plain(value: Any) -> Any:
    return msgspec.to_builtins(value)


def explainer_analysis(e: Explanation, options: ExplainOptions) -> dict[str, Any]:
    """`results[].analysis` of POST /api/v1/explainer/analyze."""
    analysis: dict[str, Any] = {"overallScore": e.overall_score, "outcome": e.outcome}
    if options.include_rag and e.rag_evaluation is not None:
        analysis["ragEvaluation"] = _plain(e.rag_evaluation)
    if options.include_hallucination:
        analysis["hallucinationReport"] = _plain(e.hallucination_report)
    if options.include_business_impact:
        analysis["businessImpact"] = _plain(e.business_impact)
    if options.include_counterfactuals:
        analysis["counterfactuals"] = e.counterfactuals
    analysis["insights"] = e.insights
    analysis["failures"] = _plain(e.failures)
    return analysis


def stored_explanation(e: Explanation) -> dict[str, Any]:
    """GET /api/v1/explainer/trace/{traceId}."""
    rag = _plain(e.rag_evaluation) if e.rag_evaluation is not None else None
    return {
        "traceId": e.trace_id,
        "explanation": {
            "summary": e.summary,
            "qualityScore": e.overall_score,
            "tier": e.tier,
            "outcome": e.outcome,
            "ragMetrics": rag,
            "hallucinationReport": _plain(e.hallucination_report),
            "businessImpact": _plain(e.business_impact),
            "insights": e.insights,
            "counterfactuals": e.counterfactuals,
            "failures": _plain(e.failures),
            "analysisId": e.run_id,
            "generatedAt": e.generated_at,
            "expiresAt": e.expires_at,
        },
    }


def list_entry(e: Explanation) -> dict[str, Any]:
    """One row of GET /api/v1/explainer/list."""
    return {
        "traceId": e.trace_id,
        "agentId": e.agent_id,
        "outcome": e.outcome,
        "qualityScore": e.overall_score,
        "tier": e.tier,
        "userMessage": e.user_message[:200],
        "agentResponse": e.agent_response[:200],
        "hallucinationDetected": e.hallucination_report.detected,
        "createdAt": e.generated_at,
    }


DEFAULT_MODULES = ("rag_evaluation", "hallucination_detection", "business_impact")


def analyzer_result(e: Explanation, modules: tuple[str, ...], *, root_cause: bool = False) -> dict[str, Any]:
    """One of `results` of Analyzer v2 (analyze, results/{id}, {traceId})."""
    chosen = modules or DEFAULT_MODULES
    parts: dict[str, Any] = {}
    if "rag_evaluation" in chosen and e.rag_evaluation is not None:
        parts["ragEvaluation"] = _plain(e.rag_evaluation)
    if "hallucination_detection" in chosen:
        parts["hallucinationDetection"] = _plain(e.hallucination_report)
    if "business_impact" in chosen:
        parts["businessImpact"] = _plain(e.business_impact)
    if "counterfactuals" in chosen:
        parts["counterfactuals"] = e.counterfactuals
    result: dict[str, Any] = {
        "traceId": e.trace_id,
        "overallScore": e.overall_score,
        "outcome": e.outcome,
        "modules": parts,
        "insights": e.insights,
    }
    if root_cause:
        failures = sorted(e.failures, key=lambda f: f.severity * f.confidence, reverse=True)
        result["rootCause"] = (
            {"category": failures[0].subcategory_id, "name": failures[0].subcategory_name, "summary": e.insights[0]}
            if failures and failures[0].decision == "fail"
            else None
        )
    return result


def progress(record: RunRecord, done_chunks: int) -> dict[str, int]:
    if record.status == "completed":
        completed = record.total_items
    else:
        completed = min(record.total_items, done_chunks * record.chunk_size)
    failed = record.total_items - completed if record.status in ("failed", "cancelled") else 0
    return {"completed": completed, "failed": failed, "pending": record.total_items - completed - failed}
