"""CreditStore against a real Redis: hold, settle and refund arithmetic, exactness, atomicity, idempotence."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from workers.credits import CreditStore
from workers.settings import Settings


@pytest.fixture
async def credits(settings: Settings) -> AsyncIterator[CreditStore]:
    redis = Redis.from_url(settings.redis_url)
    yield CreditStore(redis)
    await redis.aclose()


@pytest.fixture
def tenant() -> str:
    return f"credits-{uuid.uuid4().hex[:8]}"


async def test_a_tenant_without_a_balance_is_not_enforced_and_nothing_is_held(
    credits: CreditStore, tenant: str
) -> None:
    assert await credits.balance(tenant) is None
    reservation = await credits.reserve(tenant, "run-1", 1000.0)
    assert reservation.status == "unenforced" and reservation.granted and reservation.available is None
    snapshot = await credits.snapshot(tenant)
    assert (snapshot.balance, snapshot.reserved, snapshot.used, snapshot.enforced) == (None, 0.0, 0.0, False)
    assert not (await credits.settle(tenant, "run-1", 1000.0)).settled
    assert await credits.balance(tenant) is None


async def test_reserve_holds_and_settle_charges_the_used_part_and_refunds_the_rest(
    credits: CreditStore, tenant: str
) -> None:
    await credits.set_balance(tenant, 10)
    held = await credits.reserve(tenant, "run-1", 4)
    assert (held.status, held.held, held.available) == ("held", 4.0, 6.0)
    assert (await credits.snapshot(tenant)).reserved == 4.0
    settled = await credits.settle(tenant, "run-1", 2.5)
    assert (settled.settled, settled.charged, settled.refunded) == (True, 2.5, 1.5)
    snapshot = await credits.snapshot(tenant)
    assert (snapshot.balance, snapshot.reserved, snapshot.used) == (7.5, 0.0, 2.5)


async def test_settle_happens_once_whatever_is_asked_later(credits: CreditStore, tenant: str) -> None:
    await credits.set_balance(tenant, 3)
    await credits.reserve(tenant, "run-1", 2)
    first, *later = await asyncio.gather(
        credits.settle(tenant, "run-1", 2), credits.refund(tenant, "run-1"), credits.settle(tenant, "run-1", 1)
    )
    assert sum(s.settled for s in (first, *later)) == 1
    snapshot = await credits.snapshot(tenant)
    assert snapshot.reserved == 0.0
    assert snapshot.balance + snapshot.used == 3.0  # whichever settle won, nothing was counted twice
    assert not (await credits.refund(tenant, "run-1")).settled
    assert await credits.snapshot(tenant) == snapshot


async def test_refund_gives_the_whole_hold_back(credits: CreditStore, tenant: str) -> None:
    await credits.set_balance(tenant, 5)
    await credits.reserve(tenant, "run-1", 5)
    assert await credits.balance(tenant) == 0.0
    refunded = await credits.refund(tenant, "run-1")
    assert (refunded.charged, refunded.refunded) == (0.0, 5.0)
    snapshot = await credits.snapshot(tenant)
    assert (snapshot.balance, snapshot.reserved, snapshot.used) == (5.0, 0.0, 0.0)


async def test_a_charge_never_exceeds_the_hold(credits: CreditStore, tenant: str) -> None:
    await credits.set_balance(tenant, 2)
    await credits.reserve(tenant, "run-1", 1)
    settled = await credits.settle(tenant, "run-1", 50)
    assert (settled.charged, settled.refunded) == (1.0, 0.0)
    assert await credits.balance(tenant) == 1.0


async def test_a_reservation_larger_than_the_balance_is_refused_and_changes_nothing(
    credits: CreditStore, tenant: str
) -> None:
    await credits.set_balance(tenant, 3.5)
    refused = await credits.reserve(tenant, "run-1", 10)
    assert (refused.status, refused.granted, refused.required, refused.available) == ("refused", False, 10, 3.5)
    assert not (await credits.refund(tenant, "run-1")).settled  # nothing was held
    snapshot = await credits.snapshot(tenant)
    assert (snapshot.balance, snapshot.reserved) == (3.5, 0.0)


async def test_holding_twice_for_one_run_takes_once(credits: CreditStore, tenant: str) -> None:
    await credits.set_balance(tenant, 3)
    await credits.reserve(tenant, "run-1", 2)
    again = await credits.reserve(tenant, "run-1", 2)
    assert (again.status, again.held, again.available) == ("held", 2.0, 1.0)
    assert await credits.balance(tenant) == 1.0


async def test_half_credits_add_up_exactly(credits: CreditStore, tenant: str) -> None:
    await credits.set_balance(tenant, 0.3)
    for n in range(3):
        assert (await credits.reserve(tenant, f"run-{n}", 0.1)).granted
    assert await credits.balance(tenant) == 0.0  # 0.3 - 3 x 0.1 is 0 in milli-credits (not 5.5e-17)
    assert not (await credits.reserve(tenant, "run-3", 0.001)).granted


async def test_concurrent_reservations_never_overdraw(credits: CreditStore, tenant: str) -> None:
    await credits.set_balance(tenant, 5)
    results = await asyncio.gather(*(credits.reserve(tenant, f"run-{n}", 0.5) for n in range(50)))
    assert sum(r.granted for r in results) == 10
    assert all(r.available is not None and r.available >= 0 for r in results)
    snapshot = await credits.snapshot(tenant)
    assert (snapshot.balance, snapshot.reserved) == (0.0, 5.0)


async def test_a_refund_after_enforcement_was_switched_off_does_not_switch_it_on(
    credits: CreditStore, tenant: str
) -> None:
    await credits.set_balance(tenant, 2)
    await credits.reserve(tenant, "run-1", 2)
    await credits.redis.delete(f"ms:{tenant}:credits:balance")
    assert (await credits.refund(tenant, "run-1")).settled
    assert await credits.balance(tenant) is None


async def test_setting_the_balance_keeps_running_holds(credits: CreditStore, tenant: str) -> None:
    await credits.set_balance(tenant, 4)
    await credits.reserve(tenant, "run-1", 3)
    await credits.set_balance(tenant, 10)
    await credits.refund(tenant, "run-1")
    assert await credits.balance(tenant) == 13.0


async def test_negative_amounts_are_refused(credits: CreditStore, tenant: str) -> None:
    with pytest.raises(ValueError, match="negative"):
        await credits.set_balance(tenant, -1)
    with pytest.raises(ValueError, match="negative"):
        await credits.reserve(tenant, "run-1", -1)
