"""Webhook deliveries in Redis: one record per logical delivery, its attempts, and the indexes to list them.

Layout (tenant-scoped like every misstep key; deliveries expire after RESULT_TTL_S, like runs):
    ms:{tenant}:webhook:secret                  the current signing secret (whsec_...), no expiry
    ms:{tenant}:webhook:secret:previous         the secret replaced by the last rotation, for 24 h
    ms:{tenant}:webhook:delivery:{id}           Delivery (msgpack): what is sent, where, and its status
    ms:{tenant}:webhook:delivery:{id}:attempts  list of Attempt (msgpack), in attempt order
    ms:{tenant}:webhook:deliveries              sorted set of delivery ids by creation time
    ms:{tenant}:webhook:run:{run_id}            set of the delivery ids of one run

A delivery's id is also its `webhook-id` header (`msg_<run_id>`: one logical delivery per run), so it is
stable across retries. Creation is SET NX plus the indexes in one script: a second notification for the
same run creates nothing.
"""

from __future__ import annotations

import time
from typing import Literal

import msgspec
from redis.asyncio import Redis

DeliveryStatus = Literal["pending", "delivered", "failed"]
DELIVERY_STATUSES: tuple[str, ...] = ("pending", "delivered", "failed")
_PREFIX = "ms"


def secret_redis_key(tenant: str) -> str:
    return f"{_PREFIX}:{tenant}:webhook:secret"


def previous_secret_redis_key(tenant: str) -> str:
    return f"{_PREFIX}:{tenant}:webhook:secret:previous"


def _delivery_key(tenant: str, delivery_id: str) -> str:
    return f"{_PREFIX}:{tenant}:webhook:delivery:{delivery_id}"


def _attempts_key(tenant: str, delivery_id: str) -> str:
    return f"{_delivery_key(tenant, delivery_id)}:attempts"


def _index_key(tenant: str) -> str:
    return f"{_PREFIX}:{tenant}:webhook:deliveries"


def _run_index_key(tenant: str, run_id: str) -> str:
    return f"{_PREFIX}:{tenant}:webhook:run:{run_id}"


def delivery_id_for_run(run_id: str) -> str:
    """The id (and webhook-id header) of a run's one logical delivery."""
    return f"msg_{run_id}"


class Delivery(msgspec.Struct, frozen=True, kw_only=True):
    """One logical webhook delivery: the exact body every attempt sends, and where it stands."""

    delivery_id: str  # also the webhook-id header
    tenant: str
    run_id: str
    event_type: str
    url: str
    body: bytes  # the exact JSON sent (and signed) on every attempt
    created_at: str
    status: DeliveryStatus = "pending"
    attempts: int = 0  # attempts made so far
    last_attempt_at: str | None = None
    next_attempt_at: str | None = None  # when the next attempt is due (pending, after a failed attempt)
    delivered_at: str | None = None


class Attempt(msgspec.Struct, frozen=True, kw_only=True):
    """One HTTP attempt: its response status or why no response came, and how long it took."""

    attempt: int  # 1-based
    at: str
    ok: bool
    duration_ms: int
    status_code: int | None = None
    error: str | None = None  # timeout, connection error, SSRF refusal (never the response body)


_encode = msgspec.msgpack.Encoder().encode
_decode_delivery = msgspec.msgpack.Decoder(Delivery).decode
_decode_attempt = msgspec.msgpack.Decoder(Attempt).decode

# Create a delivery once: SET NX, then index it (by tenant and by run). Returns 1 if created.
_CREATE_LUA = """
if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'EX', ARGV[2]) then return 0 end
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[4])
redis.call('ZREMRANGEBYSCORE', KEYS[2], 0, tonumber(ARGV[3]) - tonumber(ARGV[2]))
redis.call('EXPIRE', KEYS[2], ARGV[2])
redis.call('SADD', KEYS[3], ARGV[4])
redis.call('EXPIRE', KEYS[3], ARGV[2])
return 1
"""


class DeliveryStore:
    """Deliveries and their attempts, tenant-scoped. Only one attempt of a delivery runs at a time."""

    def __init__(self, redis: Redis, *, ttl_s: int) -> None:
        self.redis = redis
        self.ttl_s = ttl_s
        self._create = redis.register_script(_CREATE_LUA)

    async def create(self, delivery: Delivery) -> bool:
        """Store a new delivery; False (and no change) if one with this id exists already."""
        tenant, delivery_id = delivery.tenant, delivery.delivery_id
        keys = [_delivery_key(tenant, delivery_id), _index_key(tenant), _run_index_key(tenant, delivery.run_id)]
        created = await self._create(keys=keys, args=[_encode(delivery), self.ttl_s, int(time.time()), delivery_id])
        return bool(created)

    async def get(self, tenant: str, delivery_id: str) -> Delivery | None:
        raw = await self.redis.get(_delivery_key(tenant, delivery_id))
        return _decode_delivery(raw) if raw is not None else None

    async def record_attempt(self, delivery: Delivery, attempt: Attempt) -> None:
        """Append `attempt` and store `delivery` (already updated with its outcome) in one transaction."""
        key = _delivery_key(delivery.tenant, delivery.delivery_id)
        attempts = _attempts_key(delivery.tenant, delivery.delivery_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.set(key, _encode(delivery), keepttl=True)
            pipe.rpush(attempts, _encode(attempt))
            pipe.expire(attempts, self.ttl_s)
            await pipe.execute()

    async def attempts(self, tenant: str, delivery_id: str) -> list[Attempt]:
        return [_decode_attempt(raw) for raw in await self.redis.lrange(_attempts_key(tenant, delivery_id), 0, -1)]

    async def attempts_of(self, tenant: str, delivery_ids: list[str]) -> dict[str, list[Attempt]]:
        """The attempts of several deliveries, in one round trip."""
        async with self.redis.pipeline(transaction=False) as pipe:
            for delivery_id in delivery_ids:
                pipe.lrange(_attempts_key(tenant, delivery_id), 0, -1)
            lists = await pipe.execute()
        return {d: [_decode_attempt(raw) for raw in raws] for d, raws in zip(delivery_ids, lists, strict=True)}

    async def find(self, tenant: str, *, run_id: str | None = None, status: str | None = None) -> list[Delivery]:
        """The tenant's deliveries (or one run's), newest first, optionally of one status."""
        if run_id is not None:
            ids = [m.decode() for m in await self.redis.smembers(_run_index_key(tenant, run_id))]
        else:
            ids = [m.decode() for m in await self.redis.zrevrange(_index_key(tenant), 0, -1)]
        raws = await self.redis.mget([_delivery_key(tenant, d) for d in ids]) if ids else []
        deliveries = [_decode_delivery(raw) for raw in raws if raw is not None]
        if run_id is not None:
            deliveries.sort(key=lambda d: d.created_at, reverse=True)
        return [d for d in deliveries if status is None or d.status == status]
