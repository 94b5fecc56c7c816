"""The per-process services every handler needs, built once in the app's lifespan."""

from __future__ import annotations

from dataclasses import dataclass

from arq.connections import ArqRedis

from taxonomy.catalogue import Catalogue
from workers.settings import Settings
from workers.store import RunStore


@dataclass(frozen=True, slots=True)
class Services:
    """Settings, the run store, the job queue (one Redis pool serves both) and the catalogue."""

    settings: Settings
    store: RunStore
    queue: ArqRedis
    catalogue: Catalogue
