"""The judge cache in Redis: one key per (tenant, item judgment digest), expiring after JUDGE_CACHE_TTL_S.

Re-analysing an item with the same provider, model, prompt version and tier costs zero judge calls.
Cache trouble never fails a run: a failed read is a miss, a failed write is logged and skipped.
"""

from __future__ import annotations

import structlog
from redis.asyncio import Redis
from redis.exceptions import RedisError

from workers.store import judge_cache_key

log = structlog.get_logger("misstep.judge_cache")


class RedisJudgeCache:
    """JudgeCache backed by Redis, scoped to one tenant."""

    def __init__(self, redis: Redis, tenant: str, ttl_s: int) -> None:
        self._redis = redis
        self._tenant = tenant
        self._ttl_s = ttl_s

    async def get(self, key: str) -> bytes | None:
        try:
            return await self._redis.get(judge_cache_key(self._tenant, key))
        except RedisError as exc:
            log.warning("judge_cache.read_failed", error=str(exc))
            return None

    async def set(self, key: str, value: bytes) -> None:
        try:
            await self._redis.set(judge_cache_key(self._tenant, key), value, ex=self._ttl_s)
        except RedisError as exc:
            log.warning("judge_cache.write_failed", error=str(exc))
