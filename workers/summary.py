"""Run summary: each chunk's tags fold into a small SummaryPart; parts merge into the run's header.

Finalising a run therefore reads only the parts (O(chunks) memory, whatever the number of items);
the tags and inputs stay in their chunks. Thresholds come from Settings (README "Scoring"):
- should_alert: a fail with severity >= ALERT_SEVERITY and confidence >= ALERT_CONFIDENCE, or any
  fail carrying a critical security override;
- should_gate_ci: a fail with severity >= GATE_SEVERITY and confidence >= GATE_CONFIDENCE;
- needs_human_review: an unsure tag with severity >= GATE_SEVERITY, or a fail whose confidence is
  below REVIEW_CONFIDENCE.
"""

from __future__ import annotations

from collections import Counter, defaultdict

import msgspec

from taxonomy.catalogue import Catalogue
from workers.contract import ChunkResult, RunRecord, RunResult, Summary, Tag
from workers.pricing import run_cost, tier_credits
from workers.settings import Settings


class SummaryPart(msgspec.Struct, frozen=True, kw_only=True):
    """Everything the run summary needs from one chunk, without its tags."""

    items: int = 0
    fails: int = 0
    passes: int = 0
    unsure: int = 0
    items_with_failures: int = 0
    items_all_passed: int = 0
    buckets: list[str] = []
    max_fail_severity: float = 0.0
    fail_confidence_sum: float = 0.0
    fails_by_sub: dict[str, int] = {}
    best_by_sub: dict[str, float] = {}  # highest severity x confidence among a subcategory's fails
    names: dict[str, str] = {}
    should_alert: bool = False
    should_gate: bool = False
    needs_review: bool = False
    security: dict[str, str] = {}  # S-category -> "safe" / "unsafe"
    detectors_run: list[str] = []
    metric_sums: dict[str, float] = {}
    metric_counts: dict[str, int] = {}
    tokens_used: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    judge_calls: int = 0
    cache_hits: int = 0


_COUNTERS = ("tokens_used", "input_tokens", "output_tokens", "judge_calls", "cache_hits")


def _security(tags: list[Tag], catalogue: Catalogue) -> dict[str, str]:
    """A fail flags the category named in its evidence ("security_category"), else all related ones."""
    flags: dict[str, str] = {}
    for tag in tags:
        related = catalogue.subcategories[tag.subcategory_id].related_security_categories
        if not related:
            continue
        for category in related:
            flags.setdefault(category, "safe")
        if tag.decision == "fail":
            named = [ev.metadata.get("security_category") for ev in tag.evidence_items]
            for category in [c for c in named if isinstance(c, str) and c in related] or related:
                flags[category] = "unsafe"
    return flags


def summarize_part(
    chunk: ChunkResult, settings: Settings, catalogue: Catalogue, *, items: int | None = None
) -> SummaryPart:
    """Fold one chunk's tags into its SummaryPart (`items` defaults to the chunk's input count)."""
    tags = chunk.tags
    fails = [t for t in tags if t.decision == "fail"]
    by_item: dict[int, Counter[str]] = defaultdict(Counter)
    for tag in tags:
        by_item[tag.item_index][tag.decision] += 1
    best: dict[str, float] = {}
    for t in fails:
        best[t.subcategory_id] = max(best.get(t.subcategory_id, 0.0), t.severity * t.confidence)
    n_items = len(chunk.inputs) if items is None else items
    return SummaryPart(
        items=n_items,
        fails=len(fails),
        passes=sum(t.decision == "pass" for t in tags),
        unsure=sum(t.decision == "unsure" for t in tags),
        items_with_failures=sum(1 for c in by_item.values() if c["fail"]),
        items_all_passed=n_items - sum(1 for c in by_item.values() if c["fail"] or c["unsure"]),
        buckets=sorted({t.bucket_id for t in fails}),
        max_fail_severity=max((t.severity for t in fails), default=0.0),
        fail_confidence_sum=sum(t.confidence for t in fails),
        fails_by_sub=dict(Counter(t.subcategory_id for t in fails)),
        best_by_sub=best,
        names={t.subcategory_id: t.subcategory_name for t in fails},
        should_alert=any(
            (t.severity >= settings.alert_severity and t.confidence >= settings.alert_confidence)
            or t.scoring_breakdown.security_override == "critical"
            for t in fails
        ),
        should_gate=any(
            t.severity >= settings.gate_severity and t.confidence >= settings.gate_confidence for t in fails
        ),
        needs_review=any(t.decision == "unsure" and t.severity >= settings.gate_severity for t in tags)
        or any(t.confidence < settings.review_confidence for t in fails),
        security=_security(tags, catalogue),
        detectors_run=chunk.detectors_run,
        metric_sums=chunk.metric_sums,
        metric_counts=chunk.metric_counts,
        **{name: getattr(chunk, name) for name in _COUNTERS},
    )


def merge_parts(parts: list[SummaryPart]) -> SummaryPart:
    """One part for the whole run (a one-chunk run's own part: merging one part changes nothing)."""
    if len(parts) == 1:
        return parts[0]
    sums: dict[str, float] = defaultdict(float)
    counts: dict[str, int] = defaultdict(int)
    fails_by_sub: Counter[str] = Counter()
    best: dict[str, float] = {}
    security: dict[str, str] = {}
    for part in parts:
        for name, value in part.metric_sums.items():
            sums[name] += value
            counts[name] += part.metric_counts.get(name, 0)
        fails_by_sub.update(part.fails_by_sub)
        for sub, score in part.best_by_sub.items():
            best[sub] = max(best.get(sub, 0.0), score)
        for category, flag in part.security.items():
            security[category] = "unsafe" if "unsafe" in (flag, security.get(category)) else flag
    return SummaryPart(
        items=sum(p.items for p in parts),
        fails=sum(p.fails for p in parts),
        passes=sum(p.passes for p in parts),
        unsure=sum(p.unsure for p in parts),
        items_with_failures=sum(p.items_with_failures for p in parts),
        items_all_passed=sum(p.items_all_passed for p in parts),
        buckets=sorted({b for p in parts for b in p.buckets}),
        max_fail_severity=max((p.max_fail_severity for p in parts), default=0.0),
        fail_confidence_sum=sum(p.fail_confidence_sum for p in parts),
        fails_by_sub=dict(fails_by_sub),
        best_by_sub=best,
        names={k: v for p in parts for k, v in p.names.items()},
        should_alert=any(p.should_alert for p in parts),
        should_gate=any(p.should_gate for p in parts),
        needs_review=any(p.needs_review for p in parts),
        security=security,
        detectors_run=sorted({d for p in parts for d in p.detectors_run}),
        metric_sums=dict(sums),
        metric_counts=dict(counts),
        **{name: sum(getattr(p, name) for p in parts) for name in _COUNTERS},
    )


def to_summary(part: SummaryPart, total_items: int) -> Summary:
    """The FASummary of a run from its merged part."""
    primary = max(part.best_by_sub, key=lambda s: (part.best_by_sub[s], part.fails_by_sub[s]), default=None)
    return Summary(
        primary_failure=primary,
        primary_failure_name=part.names.get(primary) if primary else None,
        overall_severity=part.max_fail_severity,
        overall_confidence=round(part.fail_confidence_sum / part.fails, 3) if part.fails else 0.0,
        total_failures_detected=part.fails,
        total_passes=part.passes,
        total_uncertain=part.unsure,
        total_items=total_items,
        items_with_failures=part.items_with_failures,
        items_all_passed=part.items_all_passed,
        buckets_affected=part.buckets,
        should_alert=part.should_alert,
        should_gate_ci=part.should_gate,
        needs_human_review=part.needs_review,
    )


def _ordered_flags(flags: dict[str, str], requested: tuple[str, ...]) -> dict[str, str]:
    flags = dict(flags)
    for category in requested:
        flags.setdefault(category, "not_evaluated")
    return dict(sorted(flags.items(), key=lambda kv: int(kv[0][1:]) if kv[0][1:].isdigit() else 99))


def result_header(
    record: RunRecord,
    parts: list[SummaryPart],
    *,
    catalogue: Catalogue,
    skipped: dict[str, str],
    prices: dict[str, tuple[float, float]] | None = None,
) -> RunResult:
    """The run result without its tags and inputs (those stay in the chunks, in item order)."""
    merged = merge_parts(parts)
    options = record.options
    eval_metrics = (
        {name: round(merged.metric_sums[name] / n, 4) for name, n in sorted(merged.metric_counts.items()) if n}
        if options.run_eval
        else {}
    )
    not_run = dict(skipped)
    for sub_id in catalogue.subcategories:
        selected = options.selected is None or sub_id in options.selected
        if selected and sub_id not in merged.detectors_run and sub_id not in not_run:
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
        summary=to_summary(merged, record.total_items),
        eval_metrics=eval_metrics,
        security_flags=_ordered_flags(merged.security, options.mandatory_security_categories)
        if options.run_security
        else {},
        detectors_run=merged.detectors_run,
        detectors_skipped=[key for key in not_run if not key.startswith("metric:")],
        skipped_reasons=not_run,
        duration_ms=record.duration_ms,
        tokens_used=merged.tokens_used,
        created_at=record.created_at,
        project_name=record.project_name,
        tier=options.tier,
        error=record.error,
        judge_calls=merged.judge_calls,
        judge_cache_hits=merged.cache_hits,
        input_tokens=merged.input_tokens,
        output_tokens=merged.output_tokens,
        cost_usd=run_cost(options.llm_model, merged.input_tokens, merged.output_tokens, prices),
        credits_used=tier_credits(options.tier, record.total_items),
        llm_provider=options.llm_provider,
        llm_model=options.llm_model,
    )
