"""Per-tenant signing secrets in Redis: created once, rotated with a 24 h overlap, scoped by tenant."""

from __future__ import annotations

import uuid

import pytest
from redis.asyncio import Redis

from workers.webhooks.secret import PREVIOUS_SECRET_TTL_S, SecretStore

pytestmark = pytest.mark.integration


@pytest.fixture
async def secrets(redis_url: str):
    client = Redis.from_url(redis_url)
    yield SecretStore(client)
    await client.aclose()


async def test_a_secret_is_created_once_and_then_kept(secrets: SecretStore) -> None:
    tenant = uuid.uuid4().hex
    first = await secrets.current(tenant)
    assert first.startswith("whsec_")
    assert await secrets.current(tenant) == first
    assert await secrets.signing_secrets(tenant) == [first]


async def test_tenants_have_their_own_secrets(secrets: SecretStore) -> None:
    assert await secrets.current(uuid.uuid4().hex) != await secrets.current(uuid.uuid4().hex)


async def test_rotation_keeps_the_previous_secret_signing_for_24_hours(secrets: SecretStore) -> None:
    tenant = uuid.uuid4().hex
    old = await secrets.current(tenant)
    rotation = await secrets.rotate(tenant)
    assert rotation.secret != old and rotation.previous_valid_until is not None
    assert await secrets.current(tenant) == rotation.secret
    assert await secrets.signing_secrets(tenant) == [rotation.secret, old]
    ttl = await secrets.redis.ttl(f"ms:{tenant}:webhook:secret:previous")
    assert 0 < ttl <= PREVIOUS_SECRET_TTL_S
    assert await secrets.redis.ttl(f"ms:{tenant}:webhook:secret") == -1  # the current secret never expires
    await secrets.redis.delete(f"ms:{tenant}:webhook:secret:previous")  # the 24 h are over
    assert await secrets.signing_secrets(tenant) == [rotation.secret]


async def test_rotating_before_any_secret_exists_has_no_previous(secrets: SecretStore) -> None:
    tenant = uuid.uuid4().hex
    rotation = await secrets.rotate(tenant)
    assert rotation.previous_valid_until is None
    assert await secrets.signing_secrets(tenant) == [rotation.secret]
