"""The LLM tiers' engine: deterministic detectors plus one judge call per item, combined into tags.

For each item the deterministic detectors run as in rule_based; the item's applicable judge and hybrid
subcategories go to the judge in one call (plus one claims call in full_llm and deep); judge calls of a
chunk run concurrently under the provider's per-process limit. A judge that fails or overruns the
deadline never fails the run: its subcategories fall back to the deterministic signal, or `unsure`
with the reason. Only ProviderUnusable (bad key, unknown model) propagates: retrying cannot help.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

import structlog

from taxonomy.model import Finding, Item, Subcategory
from workers.contract import ChunkResult, InputRecord, Tag
from workers.engine import Plan, deterministic_findings, input_record, judge_applies
from workers.judged_scoring import make_judged_tag
from workers.llm.judge import Judge, JudgeOutcome
from workers.scoring import make_tag
from workers.settings import Settings

log = structlog.get_logger("misstep.judged_engine")


def _timed_out(subs: Sequence[Subcategory], reason: str) -> JudgeOutcome:
    return JudgeOutcome(errors={sub.id: reason for sub in subs})


async def _judge_one(judge: Judge, item: Item, subs: list[Subcategory], tier: str, deadline: float) -> JudgeOutcome:
    if not subs:
        return JudgeOutcome()
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        return _timed_out(subs, "judge skipped: the chunk's time budget was used up")
    try:
        return await asyncio.wait_for(judge.judge_item(item, subs, tier=tier), timeout=remaining)
    except TimeoutError:
        return _timed_out(subs, "judge did not answer within the chunk's time budget")


def _item_tags(
    item: Item,
    plan: Plan,
    found: dict[str, Finding],
    judged: list[Subcategory],
    outcome: JudgeOutcome,
    *,
    settings: Settings,
    run_id: str,
) -> list[Tag]:
    tags: list[Tag] = []
    judged_ids = {sub.id for sub in judged}
    for sub, _detector in plan.checks:
        if sub.id in found and sub.id not in judged_ids:
            tags.append(make_tag(sub, found[sub.id], run_id=run_id, item_index=item.index))
    for sub in judged:
        tags.append(
            make_judged_tag(
                sub,
                deterministic=found.get(sub.id),
                verdict=outcome.verdicts.get(sub.id),
                judge_error=outcome.errors.get(sub.id),
                claims=outcome.claims,
                settings=settings,
                run_id=run_id,
                item_index=item.index,
                root_cause=outcome.root_cause,
                item=item,
            )
        )
    return tags


async def analyze_items_judged(
    items: Sequence[Item],
    plan: Plan,
    judge: Judge,
    *,
    settings: Settings,
    run_id: str,
    chunk_index: int = 0,
    worker_id: str = "",
    deadline: float | None = None,
) -> ChunkResult:
    """Analyse a chunk in an LLM tier; `deadline` (time.monotonic) bounds the judge calls."""
    deadline = deadline if deadline is not None else time.monotonic() + settings.job_timeout_s * 0.8
    findings = [deterministic_findings(item, plan, settings.detector_budget_ms) for item in items]
    judged = [[sub for sub in plan.judged if judge_applies(sub, item, plan.feature_kind)] for item in items]
    outcomes = await asyncio.gather(
        *(_judge_one(judge, item, subs, plan.tier, deadline) for item, subs in zip(items, judged, strict=True))
    )
    inputs: list[InputRecord] = []
    all_tags: list[Tag] = []
    metric_sums: dict[str, float] = {}
    metric_counts: dict[str, int] = {}
    for item, found, subs, outcome in zip(items, findings, judged, outcomes, strict=True):
        tags = _item_tags(item, plan, found, subs, outcome, settings=settings, run_id=run_id)
        for tag in tags:
            for name, value in tag.eval_metric_values.items():
                metric_sums[name] = metric_sums.get(name, 0.0) + float(value)
                metric_counts[name] = metric_counts.get(name, 0) + 1
        inputs.append(input_record(item, tags))
        all_tags.extend(tags)
    input_tokens = sum(o.input_tokens for o in outcomes)
    output_tokens = sum(o.output_tokens for o in outcomes)
    return ChunkResult(
        chunk_index=chunk_index,
        inputs=inputs,
        tags=all_tags,
        detectors_run=sorted({tag.subcategory_id for tag in all_tags}),
        metric_sums=metric_sums,
        metric_counts=metric_counts,
        worker_id=worker_id,
        tokens_used=input_tokens + output_tokens,
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        judge_calls=sum(o.calls for o in outcomes),
        cache_hits=sum(o.cache_hit for o in outcomes),
    )
