"""Rate limits: one token bucket per API key and budget in Redis, taken atomically by one Lua script.

A bucket holds up to `burst` tokens and refills at `rate` tokens per second; each request takes one.
The script reads the clock from Redis (TIME), so every API process agrees on it, refills, takes, and
writes the bucket back in one step: concurrent requests can never both take the last token.

Budgets: "submit" (RATE_SUBMIT_PER_S, RATE_SUBMIT_BURST) for requests that create or change something,
"ingest" (RATE_INGEST_PER_S, RATE_INGEST_BURST) for trace ingestion (high-volume by nature: SDKs and OTLP
exporters send one request per trace or batch of spans), "read" (RATE_READ_PER_S, RATE_READ_BURST) for
everything else.

Keys (tenant-scoped like every key; a bucket expires once it would be full again):
    ms:{tenant}:rate:{key_id}:{budget}   hash {tokens, ts_ms}
"""

from __future__ import annotations

import math
from typing import Literal

import msgspec
from redis.asyncio import Redis

from workers.settings import Settings

Budget = Literal["submit", "ingest", "read"]

# KEYS[1] bucket; ARGV rate per second, burst, cost, now in ms (empty: Redis TIME).
# Returns {allowed 0/1, whole tokens left, ms until `cost` tokens are there (0 if allowed), ms until full}.
_TAKE_LUA = """
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local now = tonumber(ARGV[4])
if now == nil then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts_ms')
local tokens = tonumber(state[1])
local ts = tonumber(state[2])
if tokens == nil or ts == nil then
  tokens = burst
  ts = now
end
if now > ts then
  tokens = tokens + (now - ts) * rate / 1000
  ts = now
end
if tokens > burst then tokens = burst end
local allowed = 0
local wait_ms = 0
if tokens >= cost then
  tokens = tokens - cost
  allowed = 1
else
  wait_ms = math.ceil((cost - tokens) * 1000 / rate)
end
local full_ms = math.ceil((burst - tokens) * 1000 / rate)
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts_ms', tostring(ts))
redis.call('PEXPIRE', KEYS[1], full_ms + 1000)
return {allowed, math.floor(tokens), wait_ms, full_ms}
"""


class Limit(msgspec.Struct, frozen=True):
    rate_per_s: float
    burst: int


class Decision(msgspec.Struct, frozen=True, kw_only=True):
    """The outcome of taking from a bucket (what the RateLimit-* and Retry-After headers say)."""

    budget: Budget
    allowed: bool
    limit: int  # the burst: requests allowed at once
    remaining: int  # whole tokens left after this request
    retry_after_s: float  # 0 when allowed; else when the next request would pass
    reset_s: float  # when the bucket is full again


def bucket_key(tenant: str, key_id: str, budget: Budget) -> str:
    return f"ms:{tenant}:rate:{key_id}:{budget}"


def limit_of(settings: Settings, budget: Budget) -> Limit:
    if budget == "submit":
        return Limit(settings.rate_submit_per_s, settings.rate_submit_burst)
    if budget == "ingest":
        return Limit(settings.rate_ingest_per_s, settings.rate_ingest_burst)
    return Limit(settings.rate_read_per_s, settings.rate_read_burst)


class RateLimiter:
    """Token buckets per (tenant, API key id, budget) with the limits from settings."""

    def __init__(self, redis: Redis, settings: Settings) -> None:
        self.settings = settings
        self._take = redis.register_script(_TAKE_LUA)

    async def take(
        self,
        tenant: str,
        key_id: str,
        budget: Budget,
        *,
        cost: int = 1,
        limit: Limit | None = None,
        now_ms: int | None = None,
    ) -> Decision:
        """Take `cost` tokens from the caller's `budget` bucket, if it holds them.

        `now_ms` replaces Redis's clock (for tests of the refill arithmetic); `limit` replaces the
        settings' limit of the budget.
        """
        limit = limit or limit_of(self.settings, budget)
        args = [repr(float(limit.rate_per_s)), limit.burst, cost, "" if now_ms is None else now_ms]
        allowed, remaining, wait_ms, full_ms = await self._take(keys=[bucket_key(tenant, key_id, budget)], args=args)
        return Decision(
            budget=budget,
            allowed=bool(allowed),
            limit=limit.burst,
            remaining=int(remaining),
            retry_after_s=int(wait_ms) / 1000,
            reset_s=int(full_ms) / 1000,
        )


def whole_seconds(seconds: float) -> int:
    """Seconds for a header: rounded up, so a client that waits this long finds the token there."""
    return max(0, math.ceil(seconds))
