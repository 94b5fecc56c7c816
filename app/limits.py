"""Rate limits on the HTTP side, for every route of both API families at once.

`enforce_rate_limit` runs in the app's before-request hook right after authentication (the bucket is
the caller's API key): requests under /v2/, /api/ and /v1/ take one token from the key's "submit"
budget (POST, PUT, PATCH, DELETE) or its "read" budget (everything else). Over the limit the request
is refused with 429 in the caller's family (Valiqor `detail` + `retry_after_seconds`, ThinkHive code
RATE_LIMITED) and a Retry-After header. `rate_limit_headers` (a before-send hook) adds
RateLimit-Limit, RateLimit-Remaining and RateLimit-Reset to every answer of a counted request.
"""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.types import Message, Scope

from app.auth import caller_of
from app.errors import ApiError
from app.services import Services
from workers.ratelimit import Budget, Decision, limit_of, whole_seconds

SUBMIT_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_STATE_KEY = "rate_limit"


INGEST_PATHS = frozenset({"/api/traces", "/api/v1/traces", "/api/v1/traces/upload", "/v1/traces"})


def budget_of(method: str, path: str = "") -> Budget:
    """Trace ingestion POSTs take the ingest budget, other writes the submit budget, the rest reads."""
    if method.upper() not in SUBMIT_METHODS:
        return "read"
    return "ingest" if path.rstrip("/") in INGEST_PATHS else "submit"


async def enforce_rate_limit(request: Request[Any, Any, Any], svc: Services) -> Decision:
    """Charge the authenticated caller's budget for this request.

    Raises:
        ApiError: 429 RATE_LIMITED with Retry-After when the budget is empty.
    """
    caller = caller_of(request)
    budget = budget_of(request.method, request.url.path)
    decision = await svc.limiter.take(caller.tenant, caller.key_id, budget)
    request.scope["state"][_STATE_KEY] = decision
    if not decision.allowed:
        wait = max(1, whole_seconds(decision.retry_after_s))
        limit = limit_of(svc.settings, budget)
        raise ApiError(
            429,
            "RATE_LIMITED",
            f"rate limit exceeded for {budget} requests of this API key ({limit.burst} at once, "
            f"{limit.rate_per_s:g} per second); retry after {wait} s",
            headers={"Retry-After": str(wait)},
            retry_after_seconds=wait,
        )
    return decision


def headers_of(decision: Decision) -> list[tuple[bytes, bytes]]:
    return [
        (b"ratelimit-limit", str(decision.limit).encode()),
        (b"ratelimit-remaining", str(decision.remaining).encode()),
        (b"ratelimit-reset", str(whole_seconds(decision.reset_s)).encode()),
    ]


async def rate_limit_headers(message: Message, scope: Scope) -> None:
    """Before-send hook: the RateLimit-* headers on the answer of every request that was counted."""
    if message["type"] != "http.response.start":
        return
    decision = scope.get("state", {}).get(_STATE_KEY)
    if isinstance(decision, Decision):
        message["headers"] = [*message.get("headers", []), *headers_of(decision)]
