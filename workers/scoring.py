"""Scoring of deterministic findings: a detector's Finding becomes a Tag with severity, confidence and breakdown.

Rule-based tier (`make_tag`): the deterministic signal carries all the weight (deterministic_weight 1.0,
judge_weight 0.0). Severity is the detector's graded severity for fails, capped to 0-5; unsure tags keep the
detector's provisional severity; passes are 0. Safety findings record their risk as security_override.
The LLM tiers combine these findings with judge verdicts in workers/judged_scoring.py.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache

from taxonomy.model import Decision, Finding, Subcategory
from workers.contract import DetectorType, EvidenceItem, ScoringBreakdown, Tag

RISK_SCORE = {"low": 1, "medium": 2, "high": 3, "critical": 4}
SECURITY_BUCKET = "safety_security"
SECURITY_KEEP_CONFIDENCE = 0.8  # a deterministic security fail this sure is never overturned by the judge
CLAIMS_CONFIDENCE = {"contradicted": 0.9, "unverifiable": 0.75, "supported": 0.85}
MAX_QUOTE_CHARS = 500


def tag_id(run_id: str, item_index: int, subcategory_id: str) -> str:
    """A stable id: the same run, item and subcategory always give the same tag id (idempotent writes)."""
    digest = hashlib.blake2b(f"{run_id}:{item_index}:{subcategory_id}".encode(), digest_size=10).hexdigest()
    return f"tag_{digest}"


@lru_cache(maxsize=4096, typed=True)  # typed: an int severity must round to an int, as round() does
def clamp_round(value: float, high: float, digits: int) -> float:
    """`round(min(high, max(0.0, value)), digits)`: how a tag's severity (0..5, 2 digits) and confidence (0..1,
    3 digits) are bounded in every tier. Memoised: `round` to a number of digits is slow, and detectors
    report few distinct severities and confidences."""
    return round(min(high, max(0.0, value)), digits)


def finding_severity(sub: Subcategory, finding: Finding) -> float:
    if finding.decision == "pass":
        return 0.0
    severity = finding.severity
    if finding.decision == "fail" and severity <= 0:
        severity = float(sub.default_impact)
    return clamp_round(severity, 5.0, 2)


def detector_evidence(finding: Finding, item_index: int) -> list[EvidenceItem]:
    return [
        EvidenceItem(
            item_id=str(item_index),
            evidence_type=ev.evidence_type,
            description=ev.description,
            source=ev.source,
            content_snippet=ev.content_snippet,
            confidence=ev.confidence,
            metadata=ev.metadata,
        )
        for ev in finding.evidence
    ]


def build_tag(
    sub: Subcategory,
    *,
    decision: Decision,
    severity: float,
    confidence: float,
    detector_type: DetectorType,
    run_id: str,
    item_index: int,
    rationale: str | None,
    metrics: dict[str, float],
    evidence: list[EvidenceItem],
    deterministic_weight: float = 1.0,
    judge_weight: float = 0.0,
    bonus: float = 0.0,
    penalty: float = 0.0,
) -> Tag:
    """The one place a Tag and its scoring breakdown are assembled (deterministic and judged tiers)."""
    is_security = sub.bucket_id == SECURITY_BUCKET
    breakdown = ScoringBreakdown(
        impact=sub.default_impact,
        risk=RISK_SCORE[sub.default_risk],
        final_severity=severity,
        final_confidence=confidence,
        deterministic_weight=deterministic_weight,
        judge_weight=judge_weight,
        security_weight=1.0 if is_security else 0.0,
        security_override=sub.default_risk if is_security and decision == "fail" else None,
        metric_agreement_bonus=bonus,
        disagreement_penalty=penalty,
    )
    return Tag(
        tag_id=tag_id(run_id, item_index, sub.id),
        bucket_id=sub.bucket_id,
        bucket_name=sub.bucket_name,
        subcategory_id=sub.id,
        subcategory_name=sub.name,
        decision=decision,
        severity=severity,
        confidence=confidence,
        detector_type_used=detector_type,
        scoring_breakdown=breakdown,
        item_index=item_index,
        judge_rationale=rationale,
        eval_metric_values=metrics,
        evidence_items=evidence,
    )


def make_tag(sub: Subcategory, finding: Finding, *, run_id: str, item_index: int) -> Tag:
    """Score one finding of the deterministic detector of `sub` on item `item_index`."""
    return build_tag(
        sub,
        decision=finding.decision,
        severity=finding_severity(sub, finding),
        confidence=clamp_round(finding.confidence, 1.0, 3),
        detector_type="deterministic",
        run_id=run_id,
        item_index=item_index,
        rationale=finding.rationale or None,
        metrics=dict(finding.metrics),
        evidence=detector_evidence(finding, item_index),
    )
