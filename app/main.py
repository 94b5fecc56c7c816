"""The Litestar application factory: lifespan (Redis pool, store), DI, middleware, errors, OpenAPI."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from typing import Any

import structlog
from arq.connections import ArqRedis
from litestar import Litestar, Request, Response, get
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig

from app import credits as credit_routes
from app import webhooks as webhook_routes
from app.auth import PROTECTED_PREFIXES, authenticate
from app.errors import EXCEPTION_HANDLERS
from app.idempotency import record_response, replay_or_claim
from app.limits import enforce_rate_limit, rate_limit_headers
from app.openapi_errors import served_document
from app.request_id import request_id_middleware
from app.services import Services
from app.thinkhive import traces as trace_routes
from app.thinkhive.analyzer import AnalyzerController
from app.thinkhive.explainer import ExplainerController
from app.valiqor import FailureAnalysisController
from taxonomy.catalogue import load_catalogue
from taxonomy.registry import discover
from workers.direct_lane import DirectLane
from workers.explanation_store import ExplanationStore
from workers.idempotency import IdempotencyStore, InflightAnalyses
from workers.inline_lane import InlineLane
from workers.keys import KeyStore
from workers.logs import configure_logging
from workers.queue import queue_client
from workers.ratelimit import RateLimiter
from workers.settings import Settings
from workers.store import RunStore
from workers.trace_store import TraceStore

log = structlog.get_logger("misstep.app")


@get("/healthz", operation_id="healthz", tags=["ops"])
async def healthz(svc: Services) -> dict[str, Any]:
    """Liveness plus a Redis ping."""
    await svc.queue.ping()
    return {"status": "ok"}


def create_app(settings: Settings | None = None, *, redis: ArqRedis | None = None) -> Litestar:
    """Build the app. `redis` lets tests inject a pool; otherwise one is created from REDIS_URL."""
    settings = settings or Settings.from_env()
    configure_logging(settings)
    catalogue = load_catalogue()
    holder: dict[str, Services] = {}

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        pool = redis or queue_client(settings)
        store = RunStore(pool, ttl_s=settings.result_ttl_s)
        detectors = discover(settings.plugin_modules)
        lane = DirectLane(settings, store, catalogue, detectors)
        holder["services"] = Services(
            settings=settings,
            store=store,
            queue=pool,
            catalogue=catalogue,
            lane=lane,
            inline=InlineLane(settings, store, catalogue, detectors),
            traces=TraceStore(pool, ttl_s=settings.trace_ttl_s),
            explanations=ExplanationStore(pool, ttl_s=settings.result_ttl_s),
            keys=KeyStore(pool, pepper=settings.key_pepper),
            limiter=RateLimiter(pool, settings),
            idempotency=IdempotencyStore(
                pool, ttl_s=settings.idempotency_ttl_s, pending_ttl_s=int(settings.sync_wait_s) + 60
            ),
            inflight=InflightAnalyses(pool, ttl_s=settings.job_timeout_s * settings.job_max_tries),
        )
        served_document(app)  # the served OpenAPI document names each family's real error body
        if settings.dev_mode:
            log.warning("auth.dev_mode", detail="no API_KEY set: requests run keyless as the default tenant")
        log.info("app.started", redis=settings.redis_url.rsplit("@", 1)[-1], env=settings.env)
        gc.collect()
        gc.freeze()  # what start-up built lives as long as the process: keep it out of the collector's full passes
        try:
            yield
        finally:
            await lane.aclose()
            if redis is None:
                await pool.aclose()

    def provide_services() -> Services:
        return holder["services"]

    async def admit_request(request: Request[Any, Any, Any]) -> Response[bytes] | None:
        """Every API request, before its handler: authenticate, charge the rate limit, replay an Idempotency-Key."""
        if request.url.path.startswith(PROTECTED_PREFIXES):
            services = holder["services"]
            request.state.caller = await authenticate(request, settings, services.keys)
            await enforce_rate_limit(request, services)
            return await replay_or_claim(request, services)  # a stored answer to an Idempotency-Key, if any
        return None

    return Litestar(
        route_handlers=[
            FailureAnalysisController,
            ExplainerController,
            AnalyzerController,
            healthz,
            *trace_routes.ROUTES,
            *webhook_routes.ROUTES,
            *credit_routes.ROUTES,
        ],
        dependencies={"svc": Provide(provide_services, sync_to_thread=False)},
        lifespan=[lifespan],
        before_request=admit_request,
        before_send=[rate_limit_headers, record_response],
        middleware=[partial(request_id_middleware, log_access=settings.access_log)],
        exception_handlers=EXCEPTION_HANDLERS,  # type: ignore[arg-type]
        request_max_body_size=settings.max_body_bytes,
        logging_config=None,
        openapi_config=OpenAPIConfig(title="misstep", version="0.1.0", path="/schema"),
        debug=False,
    )
