"""SSRF guard for callback URLs. STUB: the webhooks helper fills it in."""

from __future__ import annotations

from workers.settings import Settings


class UnsafeCallbackUrl(ValueError):
    """The URL is not http(s), or resolves to an address that is not globally routable (and not allowlisted)."""


async def check_callback_url(url: str, settings: Settings) -> None:
    """Raise UnsafeCallbackUrl with a clear reason unless `url` is safe to call."""
    return None
