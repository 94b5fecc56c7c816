"""Credit balance routes, in both API families: the caller's tenant's spendable, held and used credits.

    GET /api/credits/balance                    ThinkHive envelope {"success": true, "data": {balance, ...}}
    GET /v2/failure-analysis/credits/balance    Valiqor: the same fields, no envelope

`balance` is the spendable credits (null when the tenant has no balance: credits are not enforced and
every tier is free for it, `enforced` false); `reserved` is held by queued and running runs; `used` is
what finished runs were charged. `remaining_credits` adds ThinkHive's `remainingCredits` to analyze answers.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, get

from app.auth import resolve_tenant
from app.services import Services
from app.thinkhive.envelope import ok
from workers.credits import CreditStore


async def remaining_credits(svc: Services, tenant: str) -> dict[str, float]:
    """`{"remainingCredits": balance}` for ThinkHive answers when the tenant has a balance, else nothing."""
    balance = await CreditStore(svc.queue).balance(tenant)
    return {} if balance is None else {"remainingCredits": balance}


async def _balance(request: Request[Any, Any, Any], svc: Services) -> dict[str, Any]:
    snapshot = await CreditStore(svc.queue).snapshot(resolve_tenant(request, svc.settings))
    return {
        "balance": snapshot.balance,
        "reserved": snapshot.reserved,
        "used": snapshot.used,
        "enforced": snapshot.enforced,
    }


@get("/api/credits/balance", operation_id="creditsBalance", tags=["credits"])
async def thinkhive_balance(request: Request[Any, Any, Any], svc: Services) -> dict[str, Any]:
    """The caller's credits: spendable balance (null = not enforced), reserved by running analyses, used."""
    return ok(await _balance(request, svc))


@get("/v2/failure-analysis/credits/balance", operation_id="faCreditsBalance", tags=["credits"])
async def valiqor_balance(request: Request[Any, Any, Any], svc: Services) -> dict[str, Any]:
    """The caller's credits: spendable balance (null = not enforced), reserved by running runs, used."""
    return await _balance(request, svc)


ROUTES: list[Any] = [thinkhive_balance, valiqor_balance]
