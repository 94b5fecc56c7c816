"""ExplanationStore: the latest explanation of each trace, per tenant, with list indexes.

Keys (tenant-scoped; expire after RESULT_TTL_S, like runs):
    ms:{tenant}:explanation:{trace_id}          the Explanation (JSON, camelCase)
    ms:{tenant}:explanations                    sorted set trace id -> generated time (ms)
    ms:{tenant}:agent:{agent_id}:explanations   the same per agent
"""

from __future__ import annotations

import time
from collections.abc import Callable

import msgspec
from redis.asyncio import Redis

from workers.explanations import Explanation

_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder(Explanation).decode
SCAN_LIMIT = 5_000  # explanations examined per filtered list request (newest first)


def _key(tenant: str, trace_id: str) -> str:
    return f"ms:{tenant}:explanation:{trace_id}"


def _index(tenant: str, agent_id: str | None = None) -> str:
    return f"ms:{tenant}:agent:{agent_id}:explanations" if agent_id else f"ms:{tenant}:explanations"


class ExplanationStore:
    def __init__(self, redis: Redis, *, ttl_s: int) -> None:
        self.redis = redis
        self.ttl_s = ttl_s

    async def save(self, tenant: str, explanations: list[Explanation]) -> None:
        """Store explanations (the newest replaces a trace's previous one) in one transaction."""
        if not explanations:
            return
        now = time.time() * 1000
        async with self.redis.pipeline(transaction=True) as pipe:
            for explanation in explanations:
                pipe.set(_key(tenant, explanation.trace_id), _encode(explanation), ex=self.ttl_s)
                for index in (_index(tenant), _index(tenant, explanation.agent_id)):
                    pipe.zadd(index, {explanation.trace_id: now})
                    pipe.expire(index, self.ttl_s)
            await pipe.execute()

    async def get(self, tenant: str, trace_id: str) -> Explanation | None:
        raw = await self.redis.get(_key(tenant, trace_id))
        return _decode(raw) if raw is not None else None

    async def get_many(self, tenant: str, trace_ids: list[str]) -> list[Explanation | None]:
        if not trace_ids:
            return []
        raws = await self.redis.mget([_key(tenant, t) for t in trace_ids])
        return [_decode(raw) if raw is not None else None for raw in raws]

    async def list(
        self,
        tenant: str,
        *,
        agent_id: str | None,
        keep: Callable[[Explanation], bool],
        limit: int,
        offset: int,
        start_ms: float | None = None,
        end_ms: float | None = None,
    ) -> tuple[list[Explanation], int]:
        """Newest first, filtered by `keep`; returns the page and the total number matching."""
        ids = await self.redis.zrevrangebyscore(
            _index(tenant, agent_id),
            max=end_ms if end_ms is not None else "+inf",
            min=start_ms if start_ms is not None else "-inf",
            start=0,
            num=SCAN_LIMIT,
        )
        found = [e for e in await self.get_many(tenant, [i.decode() for i in ids]) if e is not None and keep(e)]
        return found[offset : offset + limit], len(found)
