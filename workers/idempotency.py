"""Idempotency records: the response remembered per Idempotency-Key, and the in-flight marker of analyses.

An Idempotency-Key is claimed (state "pending", with a random token and the request's fingerprint)
before the request runs, and completed with the response (state "done") once it answered 2xx; any
other answer releases the claim, so the request can be retried. Only the claimant's token completes or
releases a claim. A pending claim lapses after `pending_ttl_s` (a crashed API process leaves nothing
stuck); a stored response after IDEMPOTENCY_TTL_S.

An in-flight marker says which run is analysing a given target (ThinkHive analyze and batch, whose SDK
retries POSTs without a key): claimed with NX before the run is submitted, then bound to its run id.

Keys (tenant-scoped):
    ms:{tenant}:idem:{sha256(key)}     hash {state pending|done, fingerprint, token, status, content_type, body}
    ms:{tenant}:inflight:{digest}      run id of the analysis of that target, or "pending:{token}" meanwhile
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Awaitable, Callable

import msgspec
from redis.asyncio import Redis

_PENDING = "pending:"
_INFLIGHT_ATTEMPTS = 3

# KEYS[1] record; ARGV fingerprint, token, pending TTL s. Returns nil when claimed, else the stored fields.
_CLAIM_LUA = """
local held = redis.call('HMGET', KEYS[1], 'state', 'fingerprint', 'status', 'content_type', 'body')
if held[1] then return held end
redis.call('HSET', KEYS[1], 'state', 'pending', 'fingerprint', ARGV[1], 'token', ARGV[2])
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[3]))
return false
"""
# KEYS[1] record; ARGV token, fingerprint, status, content type, body, TTL s. Stores unless another claim holds it.
_COMPLETE_LUA = """
local token = redis.call('HGET', KEYS[1], 'token')
if token and token ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'state', 'done', 'token', ARGV[1], 'fingerprint', ARGV[2],
           'status', ARGV[3], 'content_type', ARGV[4], 'body', ARGV[5])
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[6]))
return 1
"""
# KEYS[1] record or marker; ARGV[1] token. Deletes a pending claim that is still the caller's.
_RELEASE_LUA = """
local kind = redis.call('TYPE', KEYS[1])['ok']
if kind == 'hash' then
  if redis.call('HGET', KEYS[1], 'token') == ARGV[1] and redis.call('HGET', KEYS[1], 'state') == 'pending' then
    return redis.call('DEL', KEYS[1])
  end
elseif kind == 'string' and redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""
# KEYS[1] marker; ARGV expected value, new value, TTL s. Sets the marker only if it still holds `expected`.
_SWAP_LUA = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'EX', tonumber(ARGV[3]))
return 1
"""


def digest(text: str | bytes) -> str:
    return hashlib.sha256(text.encode() if isinstance(text, str) else text).hexdigest()


def record_key(tenant: str, idempotency_key: str) -> str:
    return f"ms:{tenant}:idem:{digest(idempotency_key)}"


def inflight_key(tenant: str, target: str) -> str:
    return f"ms:{tenant}:inflight:{target}"


class Claim(msgspec.Struct, frozen=True, kw_only=True):
    """This request holds the key: it runs, then completes or releases the claim."""

    key: str
    token: str
    fingerprint: str


class Stored(msgspec.Struct, frozen=True, kw_only=True):
    """The response a finished request with this key got."""

    fingerprint: str
    status: int
    content_type: str
    body: bytes


class Pending(msgspec.Struct, frozen=True, kw_only=True):
    """Another request with this key is still running."""

    fingerprint: str


class IdempotencyStore:
    """Responses remembered per (tenant, Idempotency-Key)."""

    def __init__(self, redis: Redis, *, ttl_s: int, pending_ttl_s: int) -> None:
        self.ttl_s, self.pending_ttl_s = ttl_s, pending_ttl_s
        self._claim = redis.register_script(_CLAIM_LUA)
        self._complete = redis.register_script(_COMPLETE_LUA)
        self._release = redis.register_script(_RELEASE_LUA)

    async def claim(self, tenant: str, idempotency_key: str, fingerprint: str) -> Claim | Stored | Pending:
        """Claim the key for a request with `fingerprint`, or say who holds it (atomically)."""
        key, token = record_key(tenant, idempotency_key), secrets.token_hex(16)
        held = await self._claim(keys=[key], args=[fingerprint, token, self.pending_ttl_s])
        if held is None:
            return Claim(key=key, token=token, fingerprint=fingerprint)
        state, held_fingerprint, status, content_type, body = held
        if state == b"done":
            return Stored(
                fingerprint=held_fingerprint.decode(),
                status=int(status),
                content_type=content_type.decode(),
                body=bytes(body),
            )
        return Pending(fingerprint=held_fingerprint.decode())

    async def complete(self, claim: Claim, *, status: int, content_type: str, body: bytes) -> bool:
        """Store the claimant's response for IDEMPOTENCY_TTL_S; False if another claim took the key meanwhile."""
        args = [claim.token, claim.fingerprint, status, content_type, body, self.ttl_s]
        return bool(await self._complete(keys=[claim.key], args=args))

    async def release(self, claim: Claim) -> None:
        """Forget a claim whose request did not succeed (only while it is still this claim)."""
        await self._release(keys=[claim.key], args=[claim.token])


class AnalysisInProgressError(RuntimeError):
    """An identical analysis is running (`run_id`), or being submitted right now (None)."""

    def __init__(self, run_id: str | None) -> None:
        super().__init__(f"an identical analysis is in progress ({run_id or 'being submitted'})")
        self.run_id = run_id


class InflightClaim(msgspec.Struct, frozen=True, kw_only=True):
    key: str
    token: str


class InflightAnalyses:
    """One running analysis per (tenant, target): the marker lives as long as a run can (ttl_s)."""

    def __init__(self, redis: Redis, *, ttl_s: int, pending_ttl_s: int = 60) -> None:
        self.redis, self.ttl_s, self.pending_ttl_s = redis, ttl_s, pending_ttl_s
        self._swap = redis.register_script(_SWAP_LUA)
        self._release = redis.register_script(_RELEASE_LUA)

    async def acquire(self, tenant: str, target: str, running: Callable[[str], Awaitable[bool]]) -> InflightClaim:
        """Claim `target` for a new run; a marker whose run is no longer `running` is replaced.

        Raises:
            AnalysisInProgressError: the target's run is still running (or another submit holds the claim).
        """
        key, token = inflight_key(tenant, target), f"{_PENDING}{secrets.token_hex(16)}"
        for _ in range(_INFLIGHT_ATTEMPTS):
            if await self.redis.set(key, token, nx=True, ex=self.pending_ttl_s):
                return InflightClaim(key=key, token=token)
            raw = await self.redis.get(key)
            if raw is None:  # lapsed between SET and GET
                continue
            held = raw.decode()
            if held.startswith(_PENDING):
                raise AnalysisInProgressError(None)
            if await running(held):
                raise AnalysisInProgressError(held)
            if await self._swap(keys=[key], args=[held, token, self.pending_ttl_s]):
                return InflightClaim(key=key, token=token)
        raise AnalysisInProgressError(None)

    async def bind(self, claim: InflightClaim, run_id: str) -> None:
        """The claimed target is now analysed by `run_id` (kept for `ttl_s`, or until the run is terminal)."""
        await self._swap(keys=[claim.key], args=[claim.token, run_id, self.ttl_s])

    async def release(self, claim: InflightClaim) -> None:
        """The submit failed: free the target (only while the marker is still this claim)."""
        await self._release(keys=[claim.key], args=[claim.token])
