"""The analysis engine: decides which detectors and judges apply to a run and runs detectors over items.

Pure and synchronous: the arq chunk job, the `misstep analyze` CLI and `misstep eval` all call
`analyze_items` for the rule_based tier; the LLM tiers add judge calls around the same deterministic
step (workers/judged_engine.py). A detector that raises never fails the run; its tag becomes `unsure`.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

import msgspec
import structlog

from taxonomy.catalogue import Catalogue
from taxonomy.model import Finding, Item, Subcategory
from taxonomy.registry import Detector
from workers.contract import ChunkResult, InputRecord, RunOptions, Tag
from workers.scoring import make_tag

log = structlog.get_logger("misstep.engine")
PREVIEW_CHARS = 200


JUDGED_DETECTION = frozenset({"llm_judge", "hybrid"})


class Plan(msgspec.Struct, frozen=True, kw_only=True):
    """Which subcategories a run checks deterministically, which an LLM judge covers, and what it skips."""

    feature_kind: str
    tier: str = "rule_based"
    checks: tuple[tuple[Subcategory, Detector], ...]
    judged: tuple[Subcategory, ...] = ()  # LLM tiers: the llm_judge and hybrid subcategories
    skipped: dict[str, str]


def build_plan(catalogue: Catalogue, detectors: dict[str, Detector], options: RunOptions) -> Plan:
    """Select the subcategories to run for `options`; everything not run is explained in `skipped`."""
    checks: list[tuple[Subcategory, Detector]] = []
    judged: list[Subcategory] = []
    skipped: dict[str, str] = {}
    selected = set(options.selected) if options.selected is not None else None
    with_judge = options.tier != "rule_based"
    for sub in catalogue.subcategories.values():
        if selected is not None and sub.id not in selected:
            continue
        by_judge = with_judge and sub.detection in JUDGED_DETECTION
        if by_judge:
            judged.append(sub)
        found = detectors.get(sub.id)
        if found is not None:
            checks.append((sub, found))
        elif not by_judge:
            skipped[sub.id] = (
                f"{sub.detection}: needs an LLM judge; tier {options.tier} runs deterministic detectors only"
            )
    return Plan(
        feature_kind=options.feature_kind,
        tier=options.tier,
        checks=tuple(checks),
        judged=tuple(judged),
        skipped=skipped,
    )


def _applies(sub: Subcategory, found: Detector, item: Item, feature_kind: str) -> bool:
    if not set(sub.applies_to) & item.kinds(feature_kind):
        return False
    return all(item.has(name) for name in found.needs)


def judge_applies(sub: Subcategory, item: Item, feature_kind: str) -> bool:
    """Whether a judge should rule on `sub` for `item`: the app kind matches and the inputs it needs are there."""
    if not set(sub.applies_to) & item.kinds(feature_kind):
        return False
    return item.has("output") and all(item.has(name) for name in sub.required_inputs)


def deterministic_findings(item: Item, plan: Plan, budget_ms: float) -> dict[str, Finding]:
    """Every applicable deterministic detector's finding on `item`, by subcategory id."""
    return {
        sub.id: _run_detector(found, item, budget_ms)
        for sub, found in plan.checks
        if _applies(sub, found, item, plan.feature_kind)
    }


def _run_detector(found: Detector, item: Item, budget_ms: float) -> Finding:
    started = time.perf_counter()
    try:
        finding = found.detect(item)
    except Exception as exc:  # a detector bug must not fail the run
        log.warning(
            "detector.failed",
            subcategory=found.subcategory_id,
            item_index=item.index,
            error=f"{type(exc).__name__}: {exc}",
        )
        return Finding.unsure(f"detector error: {type(exc).__name__}: {exc}", confidence=0.0)
    elapsed_ms = (time.perf_counter() - started) * 1000
    if elapsed_ms > budget_ms:
        log.warning("detector.slow", subcategory=found.subcategory_id, item_index=item.index, ms=elapsed_ms)
    return finding


def input_record(item: Item, tags: list[Tag]) -> InputRecord:
    """The item echoed back with its per-item decision counts."""
    fails = [t for t in tags if t.decision == "fail"]
    return InputRecord(
        item_index=item.index,
        input_text=item.input,
        output_text=item.output,
        input_preview=item.input[:PREVIEW_CHARS],
        output_preview=item.output[:PREVIEW_CHARS],
        context=list(item.context),
        tool_calls=[msgspec.to_builtins(call) for call in item.tool_calls],
        trace_id=item.trace_id,
        failure_count=len(fails),
        pass_count=sum(t.decision == "pass" for t in tags),
        unsure_count=sum(t.decision == "unsure" for t in tags),
        max_severity=max((t.severity for t in fails), default=0.0),
    )


def analyze_items(
    items: Iterable[Item],
    plan: Plan,
    *,
    run_id: str,
    chunk_index: int = 0,
    budget_ms: float = 2_000.0,
    worker_id: str = "",
) -> ChunkResult:
    """Run every applicable check of `plan` on `items` and score the findings into tags."""
    inputs: list[InputRecord] = []
    all_tags: list[Tag] = []
    ran: set[str] = set()
    metric_sums: dict[str, float] = {}
    metric_counts: dict[str, int] = {}
    for item in items:
        item_tags: list[Tag] = []
        for sub, found in plan.checks:
            if not _applies(sub, found, item, plan.feature_kind):
                continue
            finding = _run_detector(found, item, budget_ms)
            ran.add(sub.id)
            item_tags.append(make_tag(sub, finding, run_id=run_id, item_index=item.index))
            for name, value in finding.metrics.items():
                metric_sums[name] = metric_sums.get(name, 0.0) + float(value)
                metric_counts[name] = metric_counts.get(name, 0) + 1
        inputs.append(input_record(item, item_tags))
        all_tags.extend(item_tags)
    return ChunkResult(
        chunk_index=chunk_index,
        inputs=inputs,
        tags=all_tags,
        detectors_run=sorted(ran),
        metric_sums=metric_sums,
        metric_counts=metric_counts,
        worker_id=worker_id,
    )
