"""Authentication, for every route of both API families at once: who is calling, for which tenant and plan.

`authenticate` runs as the app's before-request hook on every path under /v2/, /api/ and /v1/ (health
and the OpenAPI document stay open); it stores the Caller on the request, and handlers read the tenant
with `resolve_tenant`. A key is `Authorization: Bearer <key>`: a key minted by `misstep keys create`
(looked up by its keyed hash on every request, so a revoked key fails at once), or the static API_KEY
(default tenant). Dev mode (env dev/test, no API_KEY, loopback bind) needs no key: requests without a
valid key act for the default tenant, as the start-up log says.
"""

from __future__ import annotations

import hmac
from typing import Any

import msgspec
from litestar import Request
from litestar.exceptions import NotAuthorizedException

from workers.keys import KeyStore
from workers.plans import DEFAULT_PLAN, tiers_of
from workers.settings import Settings

PROTECTED_PREFIXES = ("/v2/", "/api/", "/v1/")


class Caller(msgspec.Struct, frozen=True, kw_only=True):
    tenant: str
    key_id: str  # "dev" in dev mode, "api_key" for the static API_KEY
    plan: str
    tiers: frozenset[str]


def bearer_key(request: Request[Any, Any, Any]) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


async def authenticate(request: Request[Any, Any, Any], settings: Settings, keys: KeyStore) -> Caller:
    """The caller of `request`.

    Raises:
        NotAuthorizedException: no key, or a key that is unknown or revoked (outside dev mode).
    """
    key = bearer_key(request)
    if key is not None:
        if settings.api_key is not None and hmac.compare_digest(key.encode(), settings.api_key.encode()):
            return Caller(
                tenant=settings.default_tenant, key_id="api_key", plan=DEFAULT_PLAN, tiers=tiers_of(DEFAULT_PLAN)
            )
        record = await keys.lookup(key)
        if record is not None:
            return Caller(tenant=record.tenant, key_id=record.key_id, plan=record.plan, tiers=tiers_of(record.plan))
    if settings.dev_mode:
        return Caller(tenant=settings.default_tenant, key_id="dev", plan=DEFAULT_PLAN, tiers=tiers_of(DEFAULT_PLAN))
    if key is None:
        raise NotAuthorizedException("missing API key: send Authorization: Bearer vq_...")
    raise NotAuthorizedException("invalid API key (unknown or revoked)")


def caller_of(request: Request[Any, Any, Any]) -> Caller:
    caller = request.state.get("caller")
    if caller is None:  # a protected route that the hook did not see: refuse rather than guess
        raise NotAuthorizedException("request was not authenticated")
    return caller


def resolve_tenant(request: Request[Any, Any, Any], settings: Settings) -> str:
    """The tenant the (already authenticated) request acts for."""
    return caller_of(request).tenant
