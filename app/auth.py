"""Authentication: resolves the caller's tenant from `Authorization: Bearer <key>`.

Until key management lands, one key comes from settings (API_KEY). Without API_KEY, dev mode serves
one default tenant and accepts any (or no) key; the app logs that at start-up.
"""

from __future__ import annotations

import hmac
from typing import Any

from litestar import Request
from litestar.exceptions import NotAuthorizedException

from workers.settings import Settings


def bearer_key(request: Request[Any, Any, Any]) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


def resolve_tenant(request: Request[Any, Any, Any], settings: Settings) -> str:
    """The tenant the request acts for.

    Raises:
        NotAuthorizedException: no key, or a key that does not match.
    """
    if settings.dev_mode:
        return settings.default_tenant
    key = bearer_key(request)
    if key is None:
        raise NotAuthorizedException("missing API key: send Authorization: Bearer vq_...")
    if settings.api_key is None or not hmac.compare_digest(key.encode(), settings.api_key.encode()):
        raise NotAuthorizedException("invalid API key")
    return settings.default_tenant
