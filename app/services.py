"""The per-process services every handler needs, built once in the app's lifespan."""

from __future__ import annotations

from dataclasses import dataclass

from arq.connections import ArqRedis

from taxonomy.catalogue import Catalogue
from workers.direct_lane import DirectLane
from workers.explanation_store import ExplanationStore
from workers.idempotency import IdempotencyStore, InflightAnalyses
from workers.inline_lane import InlineLane
from workers.keys import KeyStore
from workers.ratelimit import RateLimiter
from workers.settings import Settings
from workers.store import RunStore
from workers.trace_store import TraceStore


@dataclass(frozen=True, slots=True)
class Services:
    """Settings, the run store, the job queue (one Redis pool serves both), the catalogue, the API's lanes."""

    settings: Settings
    store: RunStore
    queue: ArqRedis
    catalogue: Catalogue
    lane: DirectLane  # runs that bring their own LLM key (workers/direct_lane.py)
    inline: InlineLane  # small rule_based runs, analysed inside their submit (workers/inline_lane.py)
    traces: TraceStore
    explanations: ExplanationStore
    keys: KeyStore
    limiter: RateLimiter  # per API key token buckets (workers/ratelimit.py)
    idempotency: IdempotencyStore  # answers remembered per Idempotency-Key (app/idempotency.py)
    inflight: InflightAnalyses  # one running ThinkHive analysis per target (app/thinkhive/analysis.py)
