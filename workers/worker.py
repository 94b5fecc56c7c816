"""arq worker configuration: functions, queue, msgspec serialisation, timeouts and start-up hooks.

`worker_settings(settings)` returns the keyword arguments of arq's Worker, so the process entry point
(`misstep worker`) and the tests build workers the same way.
"""

from __future__ import annotations

import gc
import os
import socket
from typing import Any

import msgspec
import structlog
from arq import cron, func
from arq.cron import CronJob

from taxonomy.catalogue import load_catalogue
from taxonomy.registry import discover
from workers.contract import ANALYZE_CHUNK
from workers.credit_sweep import credit_sweep
from workers.jobs import analyze_chunk
from workers.llm.providers import make_provider
from workers.pricing import parse_prices
from workers.queue import queue_for, redis_settings
from workers.settings import Settings
from workers.store import RunStore
from workers.webhooks.delivery import webhook_job

log = structlog.get_logger("misstep.worker")


async def startup(ctx: dict[str, Any]) -> None:
    settings: Settings = ctx["settings"]
    ctx["store"] = RunStore(ctx["redis"], ttl_s=settings.result_ttl_s)
    ctx["catalogue"] = load_catalogue()
    ctx["detectors"] = discover(settings.plugin_modules)
    ctx["worker_id"] = f"{socket.gethostname()}:{os.getpid()}"
    ctx["prices"] = parse_prices(settings.llm_prices)
    ctx["provider"] = make_provider(settings, semaphore=ctx.get("llm_slots")) if settings.llm_configured else None
    log.info(
        "worker.started",
        worker_id=ctx["worker_id"],
        detectors=len(ctx["detectors"]),
        queue=settings.queue_name,
        llm_provider=settings.llm_provider,
        llm_model=settings.resolved_llm_model or None,
    )
    gc.collect()
    gc.freeze()  # the catalogue, detectors and their tables live as long as the worker: out of full GC passes


async def shutdown(ctx: dict[str, Any]) -> None:
    provider = ctx.get("provider")
    if provider is not None:
        await provider.aclose()


async def on_job_start(ctx: dict[str, Any]) -> None:
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(job_id=ctx["job_id"], job_try=ctx["job_try"])


async def on_job_end(ctx: dict[str, Any]) -> None:
    structlog.contextvars.clear_contextvars()


PRIORITIES = ("high", "normal", "low")


def credit_sweep_cron(settings: Settings) -> CronJob:
    """The credit sweep every 10 minutes. Its timeout must not exceed the chunk jobs': arq locks every job of a
    Worker for its longest function timeout + 10 s, which is how soon a killed worker's job runs again."""
    return cron(
        credit_sweep,
        name="credit_sweep",
        minute=set(range(0, 60, 10)),
        run_at_startup=False,
        unique=True,
        timeout=settings.job_timeout_s,
    )


def worker_settings(
    settings: Settings, *, priority: str = "high", shared: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Keyword arguments for the arq.Worker of one priority queue (a test checks every key is a Worker parameter).

    `shared` holds what the queues of one process share (the LLM concurrency slots).
    """
    timeout = settings.job_timeout_s
    return {
        "functions": [
            func(analyze_chunk, name=ANALYZE_CHUNK, timeout=timeout, max_tries=settings.job_max_tries),
            webhook_job(settings),
        ],
        "queue_name": queue_for(priority, settings),
        "redis_settings": redis_settings(settings),
        "ctx": {"settings": settings, "queue_priority": priority, **(shared or {})},
        "on_startup": startup,
        "on_shutdown": shutdown,
        "on_job_start": on_job_start,
        "after_job_end": on_job_end,
        "job_serializer": msgspec.msgpack.encode,
        "job_deserializer": msgspec.msgpack.decode,
        "keep_result": 0,
        "log_results": False,
        "max_jobs": settings.worker_max_jobs if priority == "high" else settings.worker_batch_max_jobs,
        "poll_delay": settings.worker_poll_delay_s if priority == "high" else settings.worker_batch_poll_delay_s,
        "max_tries": settings.job_max_tries,
        # one queue's Workers sweep stranded credit holds, every 10 minutes (arq runs each tick once)
        "cron_jobs": [credit_sweep_cron(settings)] if priority == "high" else [],
        "job_timeout": timeout,  # for any function without its own: arq's in-progress lock follows the longest
        "job_completion_wait": 20,
        "health_check_interval": 30,
    }
