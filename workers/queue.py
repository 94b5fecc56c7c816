"""Redis connections and arq jobs: RedisSettings for workers, the API's timeout-bounded client, and
the chunk jobs a submission writes atomically with its run. Kept apart from workers.worker so that the
API process imports no job code.
"""

from __future__ import annotations

import msgspec
from arq.connections import ArqRedis, RedisSettings
from arq.constants import expires_extra_ms, job_key_prefix
from arq.jobs import serialize_job
from arq.utils import timestamp_ms
from redis.asyncio import ConnectionPool

from workers.contract import ANALYZE_CHUNK
from workers.settings import Settings


def redis_settings(settings: Settings) -> RedisSettings:
    """arq RedisSettings from REDIS_URL, retrying the first connection briefly."""
    return RedisSettings.from_dsn(settings.redis_url)


def queue_client(settings: Settings) -> ArqRedis:
    """The API's Redis client: store and enqueue over one pool, with connect and command timeouts.

    Unlike arq's create_pool it does not connect eagerly, so the API starts (and answers 503) while
    Redis is down, and reconnects by itself when Redis is back.
    """
    pool = ConnectionPool.from_url(
        settings.redis_url,
        socket_connect_timeout=settings.redis_timeout_s,
        socket_timeout=settings.redis_timeout_s,
        health_check_interval=30,
    )
    return ArqRedis(
        connection_pool=pool,
        job_serializer=msgspec.msgpack.encode,
        job_deserializer=msgspec.msgpack.decode,
        default_queue_name=settings.queue_name,
    )


class QueuedJob(msgspec.Struct, frozen=True, kw_only=True):
    """An arq job as the keys arq reads: written by RunStore in the same transaction as its run."""

    job_id: str
    job_key: str  # arq:job:<id>
    payload: bytes  # arq's serialize_job(...) with msgspec msgpack
    queue_name: str
    score_ms: int  # when it may run (now)
    expires_ms: int  # arq's job expiry: not started or retried after this


def queue_for(priority: str, settings: Settings) -> str:
    """The arq queue of a priority: high (interactive) is QUEUE_NAME; normal and low batches get their own."""
    return settings.queue_name if priority == "high" else f"{settings.queue_name}:{priority}"


def chunk_jobs(
    tenant: str, run_id: str, n_chunks: int, settings: Settings, *, priority: str = "high"
) -> list[QueuedJob]:
    """The arq jobs of a run's chunks, byte-for-byte what ArqRedis.enqueue_job would write."""
    now_ms = timestamp_ms()
    return [
        QueuedJob(
            job_id=f"{run_id}:{n}",
            job_key=f"{job_key_prefix}{run_id}:{n}",
            payload=serialize_job(
                ANALYZE_CHUNK, (tenant, run_id, n), {}, None, now_ms, serializer=msgspec.msgpack.encode
            ),
            queue_name=queue_for(priority, settings),
            score_ms=now_ms,
            expires_ms=expires_extra_ms,
        )
        for n in range(n_chunks)
    ]
