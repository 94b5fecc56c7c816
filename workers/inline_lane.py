"""The inline lane: small rule_based runs analysed inside the submit request that brought them.

A run of at most INLINE_MAX_ITEMS items and INLINE_MAX_BYTES of stored items, on the rule_based tier
(`workers.submission.runs_inline`), never goes through the queue: the API process analyses it with the
same engine, summary and result code a worker runs, then stores it already completed, in one atomic
step (RunStore.create_completed_run). The submit is answered with the complete result, and the run costs
two Redis round trips (rate limit, the write; a minted key adds its lookup) instead of a worker's poll,
claim and status transitions.

Nothing is stored before the analysis is done, so a process that dies mid-analysis leaves nothing
behind (but a ThinkHive run's explanations, replaced by the retry): the client got no answer and
resubmits. An inline run is never queued, so it never counts against MAX_ACTIVE_RUNS_PER_TENANT. The
byte bound keeps the event loop's time per submit small (detectors are linear in the text; README
"Performance" gives figures).
"""

from __future__ import annotations

import structlog

from taxonomy.catalogue import Catalogue
from taxonomy.model import Item
from taxonomy.registry import Detector
from workers.contract import RunOptions, RunRecord
from workers.engine import Plan, analyze_items, build_plan
from workers.jobs import announce_completed, api_job_context, completed_run
from workers.settings import Settings
from workers.store import RunStore
from workers.submission import now_iso
from workers.summary import summarize_part

PLANS_KEPT = 64


class InlineLane:
    """Analyses a not-yet-stored run in this process and stores it completed."""

    def __init__(self, settings: Settings, store: RunStore, catalogue: Catalogue, detectors: dict[str, Detector]):
        self._ctx = api_job_context(settings, store, catalogue, detectors, lane="inline")
        self._plans: dict[RunOptions, Plan] = {}

    def _plan(self, options: RunOptions) -> Plan:
        """The run's plan; a process sees few distinct option sets, so plans are kept (at most PLANS_KEPT)."""
        plan = self._plans.get(options)
        if plan is None:
            if len(self._plans) >= PLANS_KEPT:
                self._plans.clear()
            plan = self._plans[options] = build_plan(self._ctx["catalogue"], self._ctx["detectors"], options)
        return plan

    async def run(self, record: RunRecord, items: list[Item]) -> tuple[RunRecord, bytes]:
        """Analyse `record`'s `items` (one chunk) and store the completed run; returns its final record and
        its complete result JSON (what GET /runs/{id} will answer)."""
        ctx = self._ctx
        settings, store = ctx["settings"], ctx["store"]
        structlog.contextvars.bind_contextvars(run_id=record.run_id, lane="inline")  # the request's log context
        started_at = now_iso()
        result = analyze_items(
            items,
            self._plan(record.options),
            run_id=record.run_id,
            budget_ms=settings.detector_budget_ms,
            worker_id=ctx["worker_id"],
        )
        part = summarize_part(result, settings, ctx["catalogue"])
        final, header = await completed_run(
            ctx,  # type: ignore[arg-type]
            record,
            [part],
            started=started_at,
            tags=result.tags,
            inputs=result.inputs,
        )
        body = await store.create_completed_run(final, result, header)
        # charges credits, schedules the webhook, logs run.completed (the run's one log line)
        await announce_completed(ctx, final)  # type: ignore[arg-type]
        return final, body


class InlineCall:
    """One submit's use of the lane, as submit_run's `run_inline`: keeps the result JSON for the answer."""

    def __init__(self, lane: InlineLane) -> None:
        self._lane = lane
        self.result_json: bytes | None = None

    async def run(self, record: RunRecord, items: list[Item]) -> RunRecord:
        record, self.result_json = await self._lane.run(record, items)
        return record
