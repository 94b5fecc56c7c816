"""Run summary: folds chunk results into the run-level result (summary, eval metrics, security flags).

Thresholds come from Settings and are documented in README "Scoring":
- should_alert: a fail with severity >= ALERT_SEVERITY and confidence >= ALERT_CONFIDENCE, or any
  fail carrying a critical security override;
- should_gate_ci: a fail with severity >= GATE_SEVERITY and confidence >= GATE_CONFIDENCE;
- needs_human_review: an unsure tag with severity >= GATE_SEVERITY, or a fail whose confidence is
  below REVIEW_CONFIDENCE.
"""

from __future__ import annotations

from collections import Counter, defaultdict

from taxonomy.catalogue import Catalogue
from workers.contract import ChunkResult, RunRecord, RunResult, Summary, Tag
from workers.settings import Settings


def summarize(tags: list[Tag], total_items: int, settings: Settings) -> Summary:
    """The FASummary of a run from all of its tags."""
    fails = [t for t in tags if t.decision == "fail"]
    by_item: dict[int, Counter[str]] = defaultdict(Counter)
    for tag in tags:
        by_item[tag.item_index][tag.decision] += 1
    primary = max(
        fails,
        key=lambda t: (t.severity * t.confidence, sum(f.subcategory_id == t.subcategory_id for f in fails)),
        default=None,
    )
    should_alert = any(
        (t.severity >= settings.alert_severity and t.confidence >= settings.alert_confidence)
        or t.scoring_breakdown.security_override == "critical"
        for t in fails
    )
    should_gate = any(t.severity >= settings.gate_severity and t.confidence >= settings.gate_confidence for t in fails)
    needs_review = any(t.decision == "unsure" and t.severity >= settings.gate_severity for t in tags) or any(
        t.confidence < settings.review_confidence for t in fails
    )
    items_with_failures = sum(1 for counts in by_item.values() if counts["fail"])
    items_all_passed = total_items - sum(1 for c in by_item.values() if c["fail"] or c["unsure"])
    return Summary(
        primary_failure=primary.subcategory_id if primary else None,
        primary_failure_name=primary.subcategory_name if primary else None,
        overall_severity=max((t.severity for t in fails), default=0.0),
        overall_confidence=round(sum(t.confidence for t in fails) / len(fails), 3) if fails else 0.0,
        total_failures_detected=len(fails),
        total_passes=sum(t.decision == "pass" for t in tags),
        total_uncertain=sum(t.decision == "unsure" for t in tags),
        total_items=total_items,
        items_with_failures=items_with_failures,
        items_all_passed=items_all_passed,
        buckets_affected=sorted({t.bucket_id for t in fails}),
        should_alert=should_alert,
        should_gate_ci=should_gate,
        needs_human_review=needs_review,
    )


def security_flags(tags: list[Tag], catalogue: Catalogue, requested: tuple[str, ...]) -> dict[str, str]:
    """S-category -> "unsafe" / "safe" / "not_evaluated" from the safety tags of a run.

    A fail flags the category named in its evidence metadata ("security_category"), or else every
    category related to its subcategory; checked categories without a fail are "safe".
    """
    flags: dict[str, str] = {}
    for tag in tags:
        related = catalogue.subcategories[tag.subcategory_id].related_security_categories
        if not related:
            continue
        named = [ev.metadata.get("security_category") for ev in tag.evidence_items]
        hit = [c for c in named if isinstance(c, str) and c in related] or list(related)
        for category in related:
            flags.setdefault(category, "safe")
        if tag.decision == "fail":
            for category in hit:
                flags[category] = "unsafe"
    for category in requested:
        flags.setdefault(category, "not_evaluated")
    return dict(sorted(flags.items(), key=lambda kv: int(kv[0][1:]) if kv[0][1:].isdigit() else 99))


def assemble(
    record: RunRecord,
    chunks: list[ChunkResult],
    *,
    catalogue: Catalogue,
    skipped: dict[str, str],
    settings: Settings,
) -> RunResult:
    """The full run result from its record and every chunk's result, in item order."""
    chunks = sorted(chunks, key=lambda c: c.chunk_index)
    tags = [tag for chunk in chunks for tag in chunk.tags]
    inputs = [record_ for chunk in chunks for record_ in chunk.inputs]
    ran = sorted({name for chunk in chunks for name in chunk.detectors_run})
    sums: dict[str, float] = defaultdict(float)
    counts: dict[str, int] = defaultdict(int)
    for chunk in chunks:
        for name, value in chunk.metric_sums.items():
            sums[name] += value
            counts[name] += chunk.metric_counts.get(name, 0)
    options = record.options
    eval_metrics = (
        {name: round(sums[name] / counts[name], 4) for name in sorted(sums) if counts[name]} if options.run_eval else {}
    )
    not_run = {sub_id: reason for sub_id, reason in skipped.items()}
    for sub_id in catalogue.subcategories:
        selected = options.selected is None or sub_id in options.selected
        if selected and sub_id not in ran and sub_id not in not_run:
            not_run[sub_id] = f"not applicable: no item carried the inputs it needs ({options.feature_kind})"
    for metric in options.mandatory_eval_metrics:
        if metric not in eval_metrics:
            not_run[f"metric:{metric}"] = f"eval metric not computable in tier {options.tier}"
    return RunResult(
        run_id=record.run_id,
        status=record.status,
        mode=record.mode,
        input_type=record.input_type,
        feature_kind=options.feature_kind,
        summary=summarize(tags, record.total_items, settings),
        failure_tags=tags,
        inputs=inputs,
        eval_metrics=eval_metrics,
        security_flags=(
            security_flags(tags, catalogue, options.mandatory_security_categories) if options.run_security else {}
        ),
        detectors_run=ran,
        detectors_skipped=[key for key in not_run if not key.startswith("metric:")],
        skipped_reasons=not_run,
        duration_ms=record.duration_ms,
        tokens_used=sum(chunk.tokens_used for chunk in chunks),
        created_at=record.created_at,
        project_name=record.project_name,
        tier=options.tier,
        error=record.error,
    )
