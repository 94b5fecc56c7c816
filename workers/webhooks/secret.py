"""Per-tenant webhook signing secrets: created lazily, rotated with a 24 h overlap.

A tenant's secret is created on first use (by the API when asked for it, or by a delivery) with SET NX,
so concurrent first uses agree on one secret. Rotation moves the current secret to the `previous` slot
for PREVIOUS_SECRET_TTL_S; while it lives, deliveries are signed with both secrets (newest first), so
receivers can switch at their own pace. Secrets are never logged.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import msgspec
from redis.asyncio import Redis

from workers.webhooks.signing import new_secret
from workers.webhooks.store import previous_secret_redis_key, secret_redis_key

PREVIOUS_SECRET_TTL_S = 24 * 3600

# Move the current secret (if any) to the previous slot with a TTL and install the new one, atomically.
_ROTATE_LUA = """
local current = redis.call('GET', KEYS[1])
if current then redis.call('SET', KEYS[2], current, 'EX', ARGV[2]) end
redis.call('SET', KEYS[1], ARGV[1])
if current then return 1 end
return 0
"""


class Rotation(msgspec.Struct, frozen=True, kw_only=True):
    """The outcome of a rotation: the new secret, and until when the replaced one still signs (if any)."""

    secret: str
    previous_valid_until: str | None


class SecretStore:
    """Reads, creates and rotates the signing secrets of each tenant."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self._rotate = redis.register_script(_ROTATE_LUA)

    async def current(self, tenant: str) -> str:
        """The tenant's current secret, created now if it has none."""
        key = secret_redis_key(tenant)
        raw = await self.redis.get(key)
        if raw is None:
            await self.redis.set(key, new_secret(), nx=True)
            raw = await self.redis.get(key)
        return _text(raw)

    async def rotate(self, tenant: str) -> Rotation:
        """Replace the tenant's secret; the replaced one keeps signing for PREVIOUS_SECRET_TTL_S."""
        secret = new_secret()
        keys = [secret_redis_key(tenant), previous_secret_redis_key(tenant)]
        had_one = await self._rotate(keys=keys, args=[secret, PREVIOUS_SECRET_TTL_S])
        until = datetime.now(UTC) + timedelta(seconds=PREVIOUS_SECRET_TTL_S)
        shown = until.isoformat(timespec="seconds").replace("+00:00", "Z") if had_one else None
        return Rotation(secret=secret, previous_valid_until=shown)

    async def signing_secrets(self, tenant: str) -> list[str]:
        """The secrets a delivery is signed with now: the current one, then the previous one while it lives."""
        current = await self.current(tenant)
        previous = await self.redis.get(previous_secret_redis_key(tenant))
        return [current] if previous is None else [current, _text(previous)]


def _text(raw: bytes | str) -> str:
    return raw.decode() if isinstance(raw, bytes) else raw
