"""API keys: minted once, stored only as a keyed hash, each bound to one tenant and one plan.

A key is `vq_` + 32 random URL-safe characters (the Valiqor SDK insists on the prefix; ThinkHive's
accepts any Bearer key). Redis never holds a key in plaintext: lookups go through HMAC-SHA256 of the
key with a pepper (KEY_PEPPER, or a random pepper created once in Redis when unset). Revocation
deletes the hash entry, so a revoked key is refused on its very next request (nothing is cached). A
lookup is one round trip: a Lua script follows the digest to the record (it reads the record's key, which
the script derives from the digest entry: fine on a standalone Redis, as arq requires).

Keys (not tenant-scoped: they are how a tenant is found):
    ms:_keys:digest:{hex}   key id of the key whose keyed hash is {hex}
    ms:_keys:key:{key_id}   the ApiKey record (msgpack)
    ms:_keys:ids            set of every key id
    ms:_system:key_pepper   the pepper, when KEY_PEPPER is not set
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import UTC, datetime

import msgspec
from redis.asyncio import Redis

from workers.plans import DEFAULT_PLAN, PLANS

TENANT_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_encode = msgspec.msgpack.Encoder().encode


class ApiKey(msgspec.Struct, frozen=True, kw_only=True):
    key_id: str
    tenant: str
    plan: str
    prefix: str  # the first characters, to recognise a key in listings
    digest: str
    created_at: str
    revoked_at: str | None = None


_decode_key = msgspec.msgpack.Decoder(ApiKey).decode
KEY_RECORD_PREFIX = "ms:_keys:key:"
# KEYS[1] the digest entry; ARGV[1] KEY_RECORD_PREFIX. Returns the record of the key id it names, or nil.
_LOOKUP_LUA = """
local key_id = redis.call('GET', KEYS[1])
if not key_id then return false end
return redis.call('GET', ARGV[1] .. key_id)
"""


class KeySetupError(ValueError):
    """A tenant name or plan that cannot be used."""


class KeyStore:
    def __init__(self, redis: Redis, *, pepper: str | None = None) -> None:
        self.redis = redis
        self._pepper = pepper.encode() if pepper else None
        self._lookup = redis.register_script(_LOOKUP_LUA)

    async def pepper(self) -> bytes:
        if self._pepper is None:
            await self.redis.set("ms:_system:key_pepper", secrets.token_hex(32), nx=True)
            self._pepper = bytes(await self.redis.get("ms:_system:key_pepper"))
        return self._pepper

    async def digest(self, key: str) -> str:
        return hmac.new(await self.pepper(), key.encode(), hashlib.sha256).hexdigest()

    async def create(self, tenant: str, plan: str = DEFAULT_PLAN) -> tuple[str, ApiKey]:
        """Mint a key for `tenant`; the plaintext is returned once and never stored."""
        if not TENANT_RE.match(tenant):
            raise KeySetupError(f"tenant {tenant!r} must be 1-64 letters, digits, '_' or '-'")
        if plan not in PLANS:
            raise KeySetupError(f"unknown plan {plan!r}; use one of {', '.join(PLANS)}")
        key = f"vq_{secrets.token_urlsafe(24)}"
        record = ApiKey(
            key_id=f"key_{secrets.token_hex(6)}",
            tenant=tenant,
            plan=plan,
            prefix=key[:7],
            digest=await self.digest(key),
            created_at=datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        )
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.set(f"{KEY_RECORD_PREFIX}{record.key_id}", _encode(record))
            pipe.set(f"ms:_keys:digest:{record.digest}", record.key_id)
            pipe.sadd("ms:_keys:ids", record.key_id)
            await pipe.execute()
        return key, record

    async def lookup(self, key: str) -> ApiKey | None:
        """The live key record for a presented key, or None (unknown or revoked)."""
        raw = await self._lookup(keys=[f"ms:_keys:digest:{await self.digest(key)}"], args=[KEY_RECORD_PREFIX])
        record = _decode_key(raw) if raw is not None else None
        return record if record is not None and record.revoked_at is None else None

    async def get(self, key_id: str) -> ApiKey | None:
        raw = await self.redis.get(f"{KEY_RECORD_PREFIX}{key_id}")
        return _decode_key(raw) if raw is not None else None

    async def list(self, tenant: str | None = None) -> list[ApiKey]:
        ids = sorted(i.decode() for i in await self.redis.smembers("ms:_keys:ids"))
        raws = await self.redis.mget([f"{KEY_RECORD_PREFIX}{i}" for i in ids]) if ids else []
        records = [_decode_key(raw) for raw in raws if raw is not None]
        return [r for r in records if tenant is None or r.tenant == tenant]

    async def revoke(self, key_id: str) -> ApiKey | None:
        record = await self.get(key_id)
        if record is None:
            return None
        revoked = msgspec.structs.replace(
            record,
            revoked_at=record.revoked_at or datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        )
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.delete(f"ms:_keys:digest:{record.digest}")
            pipe.set(f"{KEY_RECORD_PREFIX}{key_id}", _encode(revoked))
            await pipe.execute()
        return revoked
