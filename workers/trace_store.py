"""TraceStore: traces in Redis, per tenant and agent. STUB: the traces helper fills it in."""

from __future__ import annotations

from redis.asyncio import Redis


class TraceStore:
    def __init__(self, redis: Redis, *, ttl_s: int) -> None:
        self.redis = redis
        self.ttl_s = ttl_s
