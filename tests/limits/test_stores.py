"""The Redis side of rate limits and idempotency against a real Redis: the Lua token bucket's refill
arithmetic (with an explicit clock), Idempotency-Key claims, and in-flight analysis markers."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from redis.asyncio import Redis

from workers.idempotency import (
    AnalysisInProgressError,
    Claim,
    IdempotencyStore,
    InflightAnalyses,
    Pending,
    Stored,
    inflight_key,
    record_key,
)
from workers.ratelimit import Limit, RateLimiter, bucket_key
from workers.settings import Settings


def _tenant() -> str:
    return f"t{uuid.uuid4().hex[:10]}"


async def test_a_full_bucket_allows_its_burst_then_refuses_with_the_time_to_the_next_token(
    redis: Redis, settings: Settings
) -> None:
    limiter, tenant, limit = RateLimiter(redis, settings), _tenant(), Limit(2.0, 3)
    taken = [await limiter.take(tenant, "k", "submit", limit=limit, now_ms=1_000_000) for _ in range(4)]
    assert [d.allowed for d in taken] == [True, True, True, False]
    assert [d.remaining for d in taken] == [2, 1, 0, 0]
    assert all(d.limit == 3 for d in taken)
    assert taken[0].retry_after_s == 0 and taken[0].reset_s == 0.5  # one token short of full, at 2/s
    assert taken[3].retry_after_s == 0.5 and taken[3].reset_s == 1.5  # empty: 0.5 s per token, 1.5 s to full


async def test_tokens_refill_at_the_rate_and_never_beyond_the_burst(redis: Redis, settings: Settings) -> None:
    limiter, tenant, limit = RateLimiter(redis, settings), _tenant(), Limit(2.0, 3)
    for _ in range(3):
        await limiter.take(tenant, "k", "submit", limit=limit, now_ms=0)
    early = await limiter.take(tenant, "k", "submit", limit=limit, now_ms=250)  # half a token back
    assert not early.allowed and early.retry_after_s == 0.25
    later = await limiter.take(tenant, "k", "submit", limit=limit, now_ms=500)  # one token back: taken
    assert later.allowed and later.remaining == 0
    refilled = await limiter.take(tenant, "k", "submit", limit=limit, now_ms=60_000)  # long idle: full, not 100+
    assert refilled.allowed and refilled.remaining == 2
    assert 0 < await redis.pttl(bucket_key(tenant, "k", "submit")) <= 1500  # gone once it would be full again


async def test_a_clock_going_backwards_refills_nothing(redis: Redis, settings: Settings) -> None:
    limiter, tenant, limit = RateLimiter(redis, settings), _tenant(), Limit(1.0, 1)
    assert (await limiter.take(tenant, "k", "read", limit=limit, now_ms=10_000)).allowed
    assert not (await limiter.take(tenant, "k", "read", limit=limit, now_ms=5_000)).allowed
    assert (await limiter.take(tenant, "k", "read", limit=limit, now_ms=11_000)).allowed


async def test_buckets_are_separate_per_key_and_budget_and_use_the_settings_limits(redis: Redis) -> None:
    settings = Settings(env="test", rate_submit_per_s=1, rate_submit_burst=1, rate_read_per_s=1, rate_read_burst=2)
    limiter, tenant = RateLimiter(redis, settings), _tenant()
    assert (await limiter.take(tenant, "a", "submit", now_ms=0)).allowed
    assert not (await limiter.take(tenant, "a", "submit", now_ms=0)).allowed
    assert (await limiter.take(tenant, "b", "submit", now_ms=0)).allowed  # another key
    read = await limiter.take(tenant, "a", "read", now_ms=0)  # another budget
    assert read.allowed and read.limit == 2 and read.remaining == 1


async def test_concurrent_takes_never_hand_out_more_than_the_burst(redis: Redis, settings: Settings) -> None:
    limiter, tenant, limit = RateLimiter(redis, settings), _tenant(), Limit(0.001, 10)
    taken = await asyncio.gather(*(limiter.take(tenant, "k", "submit", limit=limit) for _ in range(50)))
    assert sum(d.allowed for d in taken) == 10  # Redis's own clock; 0.001/s refills nothing meanwhile


async def test_an_idempotency_key_is_claimed_once_then_replayed_and_is_scoped_by_tenant(redis: Redis) -> None:
    store, tenant = IdempotencyStore(redis, ttl_s=60, pending_ttl_s=30), _tenant()
    claim = await store.claim(tenant, "key-1", "fp")
    assert isinstance(claim, Claim)
    assert await store.claim(tenant, "key-1", "fp") == Pending(fingerprint="fp")
    assert isinstance(await store.claim(_tenant(), "key-1", "fp"), Claim)  # another tenant's key space
    assert await store.complete(claim, status=202, content_type="application/json", body=b'{"run_id":"r1"}')
    assert await store.claim(tenant, "key-1", "other") == Stored(
        fingerprint="fp", status=202, content_type="application/json", body=b'{"run_id":"r1"}'
    )
    assert 0 < await redis.ttl(record_key(tenant, "key-1")) <= 60
    assert b"key-1" not in b"".join([k async for k in redis.scan_iter(match=f"ms:{tenant}:*")])


async def test_a_released_claim_frees_the_key_but_only_its_own_claimant_can_release_or_complete(redis: Redis) -> None:
    store, tenant = IdempotencyStore(redis, ttl_s=60, pending_ttl_s=30), _tenant()
    first = await store.claim(tenant, "k", "fp")
    assert isinstance(first, Claim)
    await store.release(first)
    second = await store.claim(tenant, "k", "fp")
    assert isinstance(second, Claim)
    await store.release(first)  # stale: the key is the second claim's now
    assert not await store.complete(first, status=200, content_type="application/json", body=b"{}")
    assert await store.claim(tenant, "k", "fp") == Pending(fingerprint="fp")
    assert await store.complete(second, status=200, content_type="application/json", body=b"{}")
    await store.release(second)  # a completed record is not released
    assert isinstance(await store.claim(tenant, "k", "fp"), Stored)


async def test_an_inflight_marker_refuses_while_its_run_is_running_and_is_replaced_after(redis: Redis) -> None:
    inflight, tenant = InflightAnalyses(redis, ttl_s=100), _tenant()
    running = {"run_1": True}

    async def is_running(run_id: str) -> bool:
        return running.get(run_id, False)

    claim = await inflight.acquire(tenant, "target", is_running)
    with pytest.raises(AnalysisInProgressError) as submitting:
        await inflight.acquire(tenant, "target", is_running)
    assert submitting.value.run_id is None  # claimed, run not yet bound
    await inflight.bind(claim, "run_1")
    assert await redis.get(inflight_key(tenant, "target")) == b"run_1"
    assert 90 < await redis.ttl(inflight_key(tenant, "target")) <= 100
    with pytest.raises(AnalysisInProgressError) as in_progress:
        await inflight.acquire(tenant, "target", is_running)
    assert in_progress.value.run_id == "run_1"
    running["run_1"] = False  # terminal: the next identical analysis takes the target over
    again = await inflight.acquire(tenant, "target", is_running)
    await inflight.release(again)
    assert await redis.get(inflight_key(tenant, "target")) is None
    assert isinstance(await inflight.acquire(tenant, "target", is_running), type(claim))


async def test_a_key_lookup_finds_a_live_key_in_one_script_and_refuses_unknown_and_revoked_ones(redis: Redis) -> None:
    from workers.keys import KEY_RECORD_PREFIX, KeyStore

    keys = KeyStore(redis, pepper=f"pepper-{uuid.uuid4().hex}")
    tenant = _tenant()
    key, record = await keys.create(tenant, "pro")
    found = await keys.lookup(key)
    assert found == record and (found.tenant, found.plan) == (tenant, "pro")
    assert await keys.lookup(key + "x") is None
    other = KeyStore(redis, pepper=f"pepper-{uuid.uuid4().hex}")  # another pepper: another digest
    assert await other.lookup(key) is None
    await redis.delete(f"{KEY_RECORD_PREFIX}{record.key_id}")  # a digest entry whose record is gone
    assert await keys.lookup(key) is None
    live, live_record = await keys.create(tenant)
    await keys.revoke(live_record.key_id)
    assert await keys.lookup(live) is None
