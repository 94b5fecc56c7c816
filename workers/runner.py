"""Worker process entry point: settings, logging, then arq's Worker in the foreground."""

from __future__ import annotations

import asyncio

from arq.worker import Worker

from workers.logs import configure_logging
from workers.settings import Settings
from workers.worker import worker_settings


def main(settings: Settings | None = None) -> None:
    """Run a worker until SIGINT/SIGTERM (running jobs are handed back to the queue on shutdown)."""
    settings = settings or Settings.from_env()
    configure_logging(settings)
    asyncio.set_event_loop(asyncio.new_event_loop())
    Worker(**worker_settings(settings)).run()
