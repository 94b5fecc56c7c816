"""The analysis engine: decides which detectors and judges apply to a run and runs detectors over items.

Pure and synchronous: the arq chunk job, the `misstep analyze` CLI and `misstep eval` all call
`analyze_items` for the rule_based tier; the LLM tiers add judge calls around the same deterministic
step (workers/judged_engine.py). A detector that raises never fails the run; its tag becomes `unsure`.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import get_args

import msgspec
import structlog

from taxonomy.catalogue import Catalogue
from taxonomy.model import Finding, InputName, Item, Subcategory
from taxonomy.registry import Detector
from workers.contract import ChunkResult, InputRecord, RunOptions, Tag
from workers.scoring import make_tag

log = structlog.get_logger("misstep.engine")
PREVIEW_CHARS = 200
DETECTOR_BLOCK = 8  # items checked detector by detector at a time (see analyze_items)


JUDGED_DETECTION = frozenset({"llm_judge", "hybrid"})
MAX_SHAPES_KEPT = 256  # item shapes a plan remembers (kinds x inputs present: a few dozen at most in practice)
ALL_INPUTS: tuple[InputName, ...] = get_args(InputName)


class Plan(msgspec.Struct, frozen=True, kw_only=True):
    """Which subcategories a run checks deterministically, which an LLM judge covers, and what it skips."""

    feature_kind: str
    tier: str = "rule_based"
    checks: tuple[tuple[Subcategory, Detector], ...]
    judged: tuple[Subcategory, ...] = ()  # LLM tiers: the llm_judge and hybrid subcategories
    skipped: dict[str, str]
    # A memo, not data: the positions in `checks` that apply to an item, by item shape (see applicable_checks).
    shapes: dict[tuple[frozenset[str], tuple[bool, ...]], tuple[int, ...]] = msgspec.field(default_factory=dict)

    def applicable_checks(self, item: Item) -> tuple[int, ...]:
        """The positions in `checks` (ascending) that apply to `item`. Whether a check applies depends only on
        the item's kinds and on which inputs it carries, and items come in few such shapes, so this is worked
        out once per shape for as long as the plan lives (a process keeps the plans it uses often)."""
        kinds = item.kinds(self.feature_kind)
        shape = (kinds, tuple(item.has(name) for name in ALL_INPUTS))
        found = self.shapes.get(shape)
        if found is None:
            if len(self.shapes) >= MAX_SHAPES_KEPT:
                self.shapes.clear()
            found = self.shapes[shape] = tuple(
                position for position, check in enumerate(self.checks) if _applies(*check, item, self.feature_kind)
            )
        return found


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
    """Run every applicable check of `plan` on `items` and score the findings into tags.

    Items that share a context are checked one after another (see context_order), DETECTOR_BLOCK at a time, and
    each detector runs over the whole block before the next one starts (one detector's code and data stay hot in
    the CPU caches, and what a detector memoises about a context is still there for the next item); tags are
    then built item by item, in item and plan order, exactly as if each item had been checked on its own."""
    items = list(items)
    findings: list[list[tuple[Subcategory, Finding]]] = [[] for _ in items]
    order = context_order(items)
    for start in range(0, len(order), DETECTOR_BLOCK):
        block = order[start : start + DETECTOR_BLOCK]
        for at, scored in zip(block, _run_block([items[at] for at in block], plan, budget_ms), strict=True):
            findings[at] = scored
    totals = _Totals()
    for item, scored in zip(items, findings, strict=True):
        totals.record(item, scored, run_id)
    return ChunkResult(
        chunk_index=chunk_index,
        inputs=totals.inputs,
        tags=totals.tags,
        detectors_run=sorted(totals.ran),
        metric_sums=totals.metric_sums,
        metric_counts=totals.metric_counts,
        worker_id=worker_id,
    )


def context_order(items: list[Item]) -> list[int]:
    """Positions of `items` with those sharing a context next to each other (groups in order of first
    appearance, items in order within a group), so that several answers to one source document, spread over
    a run, find its memoised analyses (taxonomy/text.py, the grounding support index) still cached."""
    groups: dict[tuple[str, ...], list[int]] = {}
    for position, item in enumerate(items):
        groups.setdefault(item.context, []).append(position)
    return [position for positions in groups.values() for position in positions]


class _Totals:
    """What analyze_items has recorded so far: item records, tags, detectors run and metric sums."""

    __slots__ = ("inputs", "metric_counts", "metric_sums", "ran", "tags")

    def __init__(self) -> None:
        self.inputs: list[InputRecord] = []
        self.tags: list[Tag] = []
        self.ran: set[str] = set()
        self.metric_sums: dict[str, float] = {}
        self.metric_counts: dict[str, int] = {}

    def record(self, item: Item, scored: list[tuple[Subcategory, Finding]], run_id: str) -> None:
        """Score one item's findings (in plan order) into tags and add them up."""
        item_tags: list[Tag] = []
        metric_sums, metric_counts = self.metric_sums, self.metric_counts
        for sub, finding in scored:
            self.ran.add(sub.id)
            item_tags.append(make_tag(sub, finding, run_id=run_id, item_index=item.index))
            for name, value in finding.metrics.items():
                metric_sums[name] = metric_sums.get(name, 0.0) + float(value)
                metric_counts[name] = metric_counts.get(name, 0) + 1
        self.inputs.append(input_record(item, item_tags))
        self.tags.extend(item_tags)


def _run_block(block: list[Item], plan: Plan, budget_ms: float) -> list[list[tuple[Subcategory, Finding]]]:
    """Check a block of items detector by detector; each item's findings, in plan order."""
    applicable = [plan.applicable_checks(item) for item in block]
    by_check: list[list[int]] = [[] for _ in plan.checks]  # check position -> block positions it applies to
    for at, positions in enumerate(applicable):
        for position in positions:
            by_check[position].append(at)
    findings: list[dict[int, Finding]] = [{} for _ in block]
    for position, ats in enumerate(by_check):
        found = plan.checks[position][1]
        for at in ats:
            findings[at][position] = _run_detector(found, block[at], budget_ms)
    return [
        [(plan.checks[position][0], item_findings[position]) for position in positions]
        for positions, item_findings in zip(applicable, findings, strict=True)
    ]
