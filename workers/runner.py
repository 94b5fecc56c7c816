"""Worker process entry point: settings, logging, then one arq Worker per priority queue in the foreground.

The interactive queue (QUEUE_NAME) and the batch queues (QUEUE_NAME:normal, QUEUE_NAME:low) each get their
own Worker, with their own job slots, so a large low-priority batch never takes the slots interactive
analyses need. They share the process's LLM concurrency slots. SIGINT/SIGTERM stop every queue at once:
running jobs get JOB_COMPLETION_WAIT to finish, the rest are handed back to the queue.
"""

from __future__ import annotations

import asyncio
import signal
from typing import Any

from arq.worker import Worker

from workers.logs import configure_logging
from workers.settings import Settings
from workers.worker import PRIORITIES, worker_settings


async def run_workers(settings: Settings) -> None:
    """Run the Workers of every priority queue until a stop signal."""
    shared: dict[str, Any] = {"llm_slots": asyncio.Semaphore(settings.llm_max_concurrency)}
    workers = [
        Worker(**worker_settings(settings, priority=priority, shared=shared), handle_signals=False)
        for priority in PRIORITIES
    ]
    loop = asyncio.get_running_loop()

    def stop(sig: signal.Signals) -> None:
        for worker in workers:
            worker.handle_sig_wait_for_completion(sig)

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop, sig)
    try:
        await asyncio.gather(*(worker.async_run() for worker in workers), return_exceptions=True)
    finally:
        for worker in workers:
            await worker.close()


def main(settings: Settings | None = None) -> None:
    """Run a worker process until SIGINT/SIGTERM, on uvloop (as the API runs) when it is installed."""
    settings = settings or Settings.from_env()
    configure_logging(settings)
    try:
        import uvloop
    except ImportError:  # uvicorn[standard] brings it; a bare install runs on asyncio's own loop
        asyncio.run(run_workers(settings))
        return
    uvloop.run(run_workers(settings))
