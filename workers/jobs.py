"""arq job function: analyse one chunk of a run; the job that stores the last chunk finalises the run.

Jobs are idempotent (arq delivers at least once): a chunk already done is not recomputed, a chunk
result is an overwrite, and finalising is a conditional write that only the first finisher wins (a
re-delivered last chunk finalises again only if nobody did). A job that keeps failing marks its run
`failed` with the reason on its last try instead of leaving it hanging.
"""

from __future__ import annotations

import os
import socket
import time
from typing import Any, TypedDict

import msgspec
import structlog
from arq import Retry
from arq.connections import ArqRedis

from taxonomy.catalogue import Catalogue
from taxonomy.model import Item
from taxonomy.registry import Detector
from workers.contract import TERMINAL_STATUSES, ChunkResult, InputRecord, RunRecord, RunResult, Tag
from workers.credits import CreditStore, holds_credits
from workers.engine import analyze_items, build_plan
from workers.explain_run import store_explanations
from workers.explanation_store import ExplanationStore
from workers.judged_engine import analyze_items_judged
from workers.llm.judge import Judge
from workers.llm.provider import Provider, ProviderUnusable
from workers.llm.redis_cache import RedisJudgeCache
from workers.pricing import parse_prices
from workers.settings import Settings
from workers.store import RunStore
from workers.submission import now_iso, parse_iso
from workers.summary import SummaryPart, result_header, summarize_part
from workers.trace_store import TraceStore
from workers.webhooks.notify import notify_finished

log = structlog.get_logger("misstep.jobs")


class JobContext(TypedDict):
    """What arq's ctx carries for misstep jobs (filled by worker.startup and by arq itself)."""

    redis: ArqRedis
    settings: Settings
    store: RunStore
    catalogue: Catalogue
    detectors: dict[str, Detector]
    worker_id: str
    job_id: str
    job_try: int
    provider: Provider | None  # the worker's configured LLM judge (None: rule_based only)
    prices: dict[str, tuple[float, float]]


def api_job_context(
    settings: Settings, store: RunStore, catalogue: Catalogue, detectors: dict[str, Detector], lane: str
) -> dict[str, Any]:
    """The ctx for running chunk jobs inside an API process (the direct and inline lanes), as a worker would."""
    return {
        "settings": settings,
        "store": store,
        "catalogue": catalogue,
        "detectors": detectors,
        "worker_id": f"{socket.gethostname()}:{os.getpid()}:{lane}",
        "prices": parse_prices(settings.llm_prices),
        "job_try": 1,
    }


def _mark_processing(record: RunRecord) -> RunRecord | None:
    if record.status != "queued":
        return None
    return _replace(record, status="processing", started_at=now_iso())


def _replace(record: RunRecord, **changes: Any) -> RunRecord:
    return msgspec.structs.replace(record, **changes)


async def fail_run(ctx: JobContext, tenant: str, run_id: str, reason: str) -> None:
    def change(record: RunRecord) -> RunRecord | None:
        if record.status in TERMINAL_STATUSES:
            return None
        return _replace(record, status="failed", error=reason, finished_at=now_iso())

    failed = await ctx["store"].update_record(tenant, run_id, change)
    log.error("run.failed", run_id=run_id, reason=reason)
    if failed is not None and failed.status in TERMINAL_STATUSES:  # refunds a failed run's hold (once)
        await CreditStore(ctx["store"].redis).settle_run(failed)
    if failed is not None and failed.status == "failed" and failed.error == reason:
        await notify_finished(ctx["store"].redis, ctx["settings"], failed)


async def _retry_or_fail(ctx: JobContext, tenant: str, run_id: str, exc: Exception) -> None:
    reason = f"{type(exc).__name__}: {exc}"
    if ctx["job_try"] >= ctx["settings"].job_max_tries:
        await fail_run(ctx, tenant, run_id, f"analysis failed after {ctx['job_try']} tries: {reason}")
        return
    log.warning("job.retrying", run_id=run_id, job_try=ctx["job_try"], error=reason)
    raise Retry(defer=min(30.0, 0.5 * 2 ** ctx["job_try"])) from exc


async def analyze_chunk(ctx: JobContext, tenant: str, run_id: str, chunk: int) -> str:
    """arq job: analyse chunk `chunk` of a run, retrying transient errors; an unusable LLM provider fails the run."""
    structlog.contextvars.bind_contextvars(run_id=run_id, chunk=chunk)
    try:
        return await run_chunk(ctx, tenant, run_id, chunk)
    except Retry:
        raise
    except ProviderUnusable as exc:
        await fail_run(ctx, tenant, run_id, f"LLM provider unusable: {exc.reason}")
        return "failed"
    except Exception as exc:
        await _retry_or_fail(ctx, tenant, run_id, exc)
        return "failed"


async def run_chunk(ctx: JobContext, tenant: str, run_id: str, chunk: int) -> str:
    """Analyse one chunk and store it; whoever stores the last chunk finalises the run. Raises on errors."""
    store = ctx["store"]
    record, already_done, items = await store.open_chunk(tenant, run_id, chunk)
    if record is None:
        return "skipped"
    if record.status in TERMINAL_STATUSES:
        await CreditStore(store.redis).settle_run(record)  # a no-op unless a worker died before settling
        if record.callback_url:  # a worker may have died between finalising and scheduling the webhook
            await notify_finished(store.redis, ctx["settings"], record)
        return "skipped"
    if record.request_id:
        structlog.contextvars.bind_contextvars(request_id=record.request_id)
    job_started = now_iso()
    known_parts: list[SummaryPart] | None = None
    if record.status == "queued" and record.n_chunks > 1:  # a one-chunk run goes straight to completed
        record = await store.update_record(tenant, run_id, _mark_processing) or record
    if already_done:
        done = await store.done_chunks(tenant, run_id)
    elif items is None:
        await fail_run(ctx, tenant, run_id, f"items of chunk {chunk} are missing (expired?)")
        return "failed"
    else:
        done, part = await _analyze(ctx, record, chunk, items)
        if record.n_chunks == 1:  # the only part is in hand: finalising need not read it back
            known_parts = [part]
    if done >= record.n_chunks:
        return await _finalize(ctx, record, job_started, known_parts)
    return "analyzed"


async def _run_engine(ctx: JobContext, record: RunRecord, chunk: int, items: list[Item]) -> ChunkResult:
    plan = build_plan(ctx["catalogue"], ctx["detectors"], record.options)
    settings = ctx["settings"]
    if record.options.tier == "rule_based":
        return analyze_items(
            items,
            plan,
            run_id=record.run_id,
            chunk_index=chunk,
            budget_ms=settings.detector_budget_ms,
            worker_id=ctx["worker_id"],
        )
    provider = ctx.get("provider")
    if provider is None:
        raise ProviderUnusable(f"tier {record.options.tier} needs an LLM provider and this worker has none configured")
    cache = RedisJudgeCache(ctx["store"].redis, record.tenant, settings.judge_cache_ttl_s)
    return await analyze_items_judged(
        items,
        plan,
        Judge(provider, settings, cache),
        settings=settings,
        run_id=record.run_id,
        chunk_index=chunk,
        worker_id=ctx["worker_id"],
    )


async def _analyze(ctx: JobContext, record: RunRecord, chunk: int, items: list[Item]) -> tuple[int, SummaryPart]:
    """Run the engine on a chunk and store its result; returns how many chunks of the run are done, and its part."""
    started = time.perf_counter()
    result = await _run_engine(ctx, record, chunk, items)
    part = summarize_part(result, ctx["settings"], ctx["catalogue"])
    done = await ctx["store"].save_chunk(record.tenant, record.run_id, result, part)
    log.info(
        "chunk.analyzed",
        items=len(items),
        ms=round((time.perf_counter() - started) * 1000, 1),
        done=done,
        of=record.n_chunks,
        judge_calls=result.judge_calls,
        tokens=result.tokens_used,
    )
    return done, part


async def _finalize(
    ctx: JobContext, record: RunRecord, job_started: str, known_parts: list[SummaryPart] | None = None
) -> str:
    """Merge the chunks' summary parts into the result header and mark the run completed (once).

    `record` may be slightly stale; store.finalize re-checks the stored status under WATCH. `known_parts`
    are every chunk's parts when the caller has them all in hand (a one-chunk run it just analysed).
    """
    store = ctx["store"]
    tenant, run_id = record.tenant, record.run_id
    parts = known_parts if known_parts is not None else await store.load_parts(tenant, run_id, record.n_chunks)
    if len(parts) < record.n_chunks:
        raise RuntimeError(f"only {len(parts)} of {record.n_chunks} chunk results are stored")
    final, header = await completed_run(ctx, record, parts, started=record.started_at or job_started)
    if not await store.finalize(final, header):  # cancelled (or finalised) meanwhile
        return "skipped"
    await announce_completed(ctx, final)
    return "completed"


async def completed_run(
    ctx: JobContext,
    record: RunRecord,
    parts: list[SummaryPart],
    *,
    started: str,
    tags: list[Tag] | None = None,
    inputs: list[InputRecord] | None = None,
) -> tuple[RunRecord, RunResult]:
    """The completed record and result header of a run whose every chunk is analysed (nothing written yet
    but a ThinkHive run's explanations, stored first so that "completed" means readable). `tags` and
    `inputs`, when the caller holds all of them, spare reading them back from Redis.
    """
    finished_at = now_iso()
    duration_ms = _ms_between(started, finished_at)
    final = _replace(record, status="completed", started_at=started, finished_at=finished_at, duration_ms=duration_ms)
    plan = build_plan(ctx["catalogue"], ctx["detectors"], record.options)
    header = result_header(final, parts, catalogue=ctx["catalogue"], skipped=plan.skipped, prices=ctx["prices"])
    final = _replace(final, summary=header.summary)
    if final.explain is not None:
        store, settings = ctx["store"], ctx["settings"]
        explained = await store_explanations(
            final,
            store,
            ExplanationStore(store.redis, ttl_s=settings.result_ttl_s),
            TraceStore(store.redis, ttl_s=settings.trace_ttl_s),
            tags=tags,
            inputs=inputs,
        )
        if explained:
            final = _replace(final, score=round(sum(e.overall_score for e in explained) / len(explained), 3))
    return final, header


async def announce_completed(ctx: JobContext, final: RunRecord) -> None:
    """After a run's completion is stored: charge its held credits (exactly once) and schedule its webhook."""
    store = ctx["store"]
    if holds_credits(final):
        await CreditStore(store.redis).settle_run(final)
    await notify_finished(store.redis, ctx["settings"], final)
    summary = final.summary
    log.info(
        "run.completed",
        items=final.total_items,
        fails=summary.total_failures_detected if summary is not None else 0,
        ms=final.duration_ms,
    )


def _ms_between(start_iso: str, end_iso: str) -> int:
    start, end = parse_iso(start_iso), parse_iso(end_iso)
    return max(0, int((end - start).total_seconds() * 1000))
