"""The direct lane: runs that bring their own LLM key, analysed inside the API process that received them.

A request's `openai_api_key` is used in memory for that run only: it is never written to Redis (so it
cannot travel to a worker through the queue), never logged and never part of a result. Such a run is
stored like any other (record, items, chunk results in Redis, same status and result endpoints), but its
chunks are analysed here, one after another, by the same code the arq job runs.

While a direct run is in progress this process keeps a heartbeat key alive. If the process dies the key
lapses and the next status read marks the run failed (`reap_if_orphaned`): the key died with the process,
so the run cannot be resumed by anyone else and must be resubmitted. On a clean shutdown unfinished
direct runs are marked failed at once, with the same advice.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime

import structlog

from taxonomy.catalogue import Catalogue
from taxonomy.registry import Detector
from workers.contract import TERMINAL_STATUSES, RunRecord
from workers.jobs import api_job_context, fail_run, run_chunk
from workers.llm.provider import ProviderUnusable
from workers.llm.providers import make_provider
from workers.settings import Settings
from workers.store import RunStore
from workers.submission import parse_iso

log = structlog.get_logger("misstep.direct_lane")
HEARTBEAT_S = 2
HEARTBEAT_TTL_S = 10
LOST = "the API process running this analysis stopped; a request's own LLM key is kept only in memory, so resubmit"


class DirectLane:
    """Runs own-key analyses as asyncio tasks of this process, at most `worker_max_jobs` at a time."""

    def __init__(self, settings: Settings, store: RunStore, catalogue: Catalogue, detectors: dict[str, Detector]):
        self._settings = settings
        self._store = store
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._running = asyncio.Semaphore(settings.worker_max_jobs)
        self._judge_slots = asyncio.Semaphore(settings.llm_max_concurrency)
        self._ctx = api_job_context(settings, store, catalogue, detectors, lane="api")

    def start(self, record: RunRecord, api_key: str) -> None:
        """Begin analysing `record` with `api_key` (held by the task only)."""
        task = asyncio.create_task(self._run(record, api_key), name=f"direct:{record.run_id}")
        self._tasks[record.run_id] = task
        task.add_done_callback(lambda _t: self._tasks.pop(record.run_id, None))

    async def _run(self, record: RunRecord, api_key: str) -> None:
        tenant, run_id = record.tenant, record.run_id
        structlog.contextvars.bind_contextvars(run_id=run_id, request_id=record.request_id, lane="direct")
        beat = asyncio.create_task(self._beat(tenant, run_id))
        ctx = dict(self._ctx)
        try:
            ctx["provider"] = make_provider(self._settings, api_key=api_key, semaphore=self._judge_slots)
            async with self._running:
                for chunk in range(record.n_chunks):
                    if await run_chunk(ctx, tenant, run_id, chunk) in ("skipped", "failed"):  # type: ignore[arg-type]
                        break
        except ProviderUnusable as exc:
            await fail_run(ctx, tenant, run_id, f"LLM provider unusable: {exc.reason}")  # type: ignore[arg-type]
        except asyncio.CancelledError:
            await fail_run(ctx, tenant, run_id, LOST)  # type: ignore[arg-type]
            raise
        except Exception as exc:
            await fail_run(ctx, tenant, run_id, f"analysis failed: {type(exc).__name__}: {exc}")  # type: ignore[arg-type]
        finally:
            beat.cancel()
            provider = ctx.get("provider")
            if provider is not None:
                await provider.aclose()

    async def _beat(self, tenant: str, run_id: str) -> None:
        while True:
            with contextlib.suppress(Exception):
                await self._store.beat(tenant, run_id, HEARTBEAT_TTL_S)
            await asyncio.sleep(HEARTBEAT_S)

    async def aclose(self) -> None:
        """Stop: unfinished direct runs are marked failed (their keys are about to be gone)."""
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def reap_if_orphaned(store: RunStore, record: RunRecord, settings: Settings) -> RunRecord:
    """A direct run whose owning process stopped beating is failed now (nobody else holds its key), as any
    failed run: its credits come back and its webhook, if it has a callback URL, is scheduled."""
    if record.lane != "direct" or record.status in TERMINAL_STATUSES:
        return record
    age_s = (datetime.now(UTC) - parse_iso(record.created_at)).total_seconds()
    if age_s < HEARTBEAT_TTL_S or await store.lane_alive(record.tenant, record.run_id):
        return record
    log.warning("direct_lane.orphaned", run_id=record.run_id)
    await fail_run({"store": store, "settings": settings}, record.tenant, record.run_id, LOST)  # type: ignore[arg-type]
    return await store.get_record(record.tenant, record.run_id) or record
