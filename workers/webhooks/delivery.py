"""The webhook delivery job: one attempt per arq job, the next attempt a separate deferred job.

Attempt n re-checks the URL against the SSRF guard, signs the stored body with the tenant's current
secrets (a fresh webhook-timestamp, the same webhook-id) and POSTs it to the checked address. A 2xx
within WEBHOOK_TIMEOUT_S is delivered. Anything else (3xx included, a timeout, a connection error, an
SSRF refusal) is recorded and attempt n+1 is enqueued after WEBHOOK_RETRY_SCHEDULE_S[n-1] seconds
±20% jitter; when the schedule is exhausted, or the receiver answers 410 Gone, the delivery is failed.

The job is idempotent (arq runs a job again after a worker crash or shutdown): an attempt already
recorded is not sent again; only the scheduling of its successor is repeated, which `_job_id` dedupes.
"""

from __future__ import annotations

import math
import random
import time
from datetime import UTC, datetime, timedelta
from typing import Any, TypedDict
from urllib.parse import urlsplit

import httpx
import msgspec
import structlog
from arq import func
from arq.connections import ArqRedis
from arq.worker import Function
from redis.asyncio import Redis

from workers.settings import Settings
from workers.submission import now_iso, parse_iso
from workers.webhooks.secret import SecretStore
from workers.webhooks.signing import webhook_headers
from workers.webhooks.ssrf import UnsafeCallbackUrl, resolve_callback_url
from workers.webhooks.store import Attempt, Delivery, DeliveryStore
from workers.webhooks.transport import post_pinned

log = structlog.get_logger("misstep.webhooks")

DELIVER_WEBHOOK = "deliver_webhook"  # arq function name
JITTER = 0.2
GONE = 410  # the receiver asks us to stop: no more attempts
_MAX_ERROR_CHARS = 300


class WebhookContext(TypedDict):
    """What deliver_webhook reads from arq's ctx."""

    redis: ArqRedis
    settings: Settings
    job_try: int


def retry_schedule(settings: Settings) -> tuple[float, ...]:
    """WEBHOOK_RETRY_SCHEDULE_S as seconds: the delays before attempts 2, 3, ...

    Raises:
        ValueError: an entry is not a finite, non-negative number.
    """
    raw = settings.webhook_retry_schedule_s
    try:
        delays = tuple(float(part) for part in raw.split(",") if part.strip())
    except ValueError:
        raise ValueError(f"WEBHOOK_RETRY_SCHEDULE_S must be comma-separated seconds, got {raw!r}") from None
    if any(not math.isfinite(d) or d < 0 for d in delays):
        raise ValueError(f"WEBHOOK_RETRY_SCHEDULE_S must hold non-negative seconds, got {raw!r}")
    return delays


def retry_delay(settings: Settings, failed_attempt: int, rng: random.Random | None = None) -> float | None:
    """Seconds to wait before the attempt after `failed_attempt` (with jitter); None when none is left."""
    schedule = retry_schedule(settings)
    if failed_attempt > len(schedule):
        return None
    return schedule[failed_attempt - 1] * (rng or random).uniform(1 - JITTER, 1 + JITTER)


def job_timeout_s(settings: Settings) -> int:
    """arq timeout of one attempt: name resolution and the POST are each bounded by WEBHOOK_TIMEOUT_S."""
    return math.ceil(2 * settings.webhook_timeout_s) + 10


def webhook_job(settings: Settings) -> Function:
    """The arq function entry for the worker (re-run after a crash at most twice; attempts are idempotent)."""
    return func(deliver_webhook, name=DELIVER_WEBHOOK, timeout=job_timeout_s(settings), max_tries=3)


def _arq(redis: Redis, settings: Settings) -> ArqRedis:
    if isinstance(redis, ArqRedis):
        return redis
    return ArqRedis(
        connection_pool=redis.connection_pool,
        job_serializer=msgspec.msgpack.encode,
        job_deserializer=msgspec.msgpack.decode,
        default_queue_name=settings.queue_name,
    )


async def enqueue_attempt(
    redis: Redis,
    settings: Settings,
    tenant: str,
    delivery_id: str,
    attempt: int,
    *,
    defer_s: float | None = None,
    defer_until: datetime | None = None,
) -> bool:
    """Enqueue attempt `attempt` of a delivery (at most once while its job exists); False if already queued."""
    job = await _arq(redis, settings).enqueue_job(
        DELIVER_WEBHOOK,
        tenant,
        delivery_id,
        attempt,
        _job_id=f"webhook:{delivery_id}:{attempt}",
        _queue_name=settings.queue_name,
        _defer_by=defer_s,
        _defer_until=defer_until,
    )
    return job is not None


async def _send(redis: Redis, settings: Settings, delivery: Delivery) -> tuple[int | None, str | None]:
    """One POST of the delivery: (status code, None) or (None, why no answer came)."""
    try:
        target = await resolve_callback_url(delivery.url, settings)
        signing = await SecretStore(redis).signing_secrets(delivery.tenant)
        headers = webhook_headers(signing, delivery.delivery_id, int(time.time()), delivery.body)
        return await post_pinned(target, delivery.body, headers, settings.webhook_timeout_s), None
    except UnsafeCallbackUrl as exc:
        return None, f"refused by the SSRF guard: {exc}"
    except (TimeoutError, httpx.TimeoutException):
        return None, f"timeout: no answer within {settings.webhook_timeout_s:g} s"
    except (httpx.HTTPError, OSError) as exc:
        return None, f"{type(exc).__name__}: {exc}"[:_MAX_ERROR_CHARS]


def _outcome(settings: Settings, delivery: Delivery, attempt: Attempt) -> tuple[Delivery, float | None]:
    """The delivery after `attempt`, and the delay before the next attempt (None: no next attempt)."""
    changes: dict[str, Any] = {"attempts": attempt.attempt, "last_attempt_at": attempt.at, "next_attempt_at": None}
    if attempt.ok:
        return msgspec.structs.replace(delivery, status="delivered", delivered_at=attempt.at, **changes), None
    delay = None if attempt.status_code == GONE else retry_delay(settings, attempt.attempt)
    if delay is None:
        return msgspec.structs.replace(delivery, status="failed", **changes), None
    due = datetime.now(UTC) + timedelta(seconds=delay)
    changes["next_attempt_at"] = due.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return msgspec.structs.replace(delivery, **changes), delay


async def deliver_webhook(ctx: WebhookContext, tenant: str, delivery_id: str, attempt: int) -> str:
    """arq job: make attempt `attempt` of a delivery and schedule the next one if it failed.

    Returns delivered | retrying | failed, or missing / duplicate / the final status when nothing was sent.
    """
    redis, settings = ctx["redis"], ctx["settings"]
    store = DeliveryStore(redis, ttl_s=settings.result_ttl_s)
    structlog.contextvars.bind_contextvars(delivery_id=delivery_id, attempt=attempt)
    delivery = await store.get(tenant, delivery_id)
    if delivery is None:
        log.warning("webhook.missing", detail="the delivery expired or never existed")
        return "missing"
    if delivery.status != "pending":
        return delivery.status
    if delivery.attempts >= attempt:  # this job ran before (crash or shutdown after recording the attempt)
        if delivery.attempts == attempt and delivery.next_attempt_at is not None:
            due = parse_iso(delivery.next_attempt_at)
            await enqueue_attempt(redis, settings, tenant, delivery_id, attempt + 1, defer_until=due)
        return "duplicate"
    at, started = now_iso(), time.perf_counter()
    status_code, error = await _send(redis, settings, delivery)
    ok = status_code is not None and 200 <= status_code < 300
    if status_code is not None and not ok:
        error = f"HTTP {status_code}"
    duration_ms = round((time.perf_counter() - started) * 1000)
    record = Attempt(attempt=attempt, at=at, ok=ok, duration_ms=duration_ms, status_code=status_code, error=error)
    updated, delay = _outcome(settings, delivery, record)
    await store.record_attempt(updated, record)
    host = urlsplit(delivery.url).hostname
    if delay is not None:
        await enqueue_attempt(redis, settings, tenant, delivery_id, attempt + 1, defer_s=delay)
        log.info("webhook.retrying", host=host, status_code=status_code, error=error, retry_in_s=round(delay, 2))
        return "retrying"
    if ok:
        log.info("webhook.delivered", host=host, run_id=delivery.run_id, status_code=status_code, ms=duration_ms)
    else:
        log.warning("webhook.failed", host=host, run_id=delivery.run_id, status_code=status_code, error=error)
    return updated.status
