"""Credits: a per-tenant balance in Redis, held atomically at submit and settled exactly once when a run ends.

A tenant with no balance key has credits **not enforced**: every tier is free for it (`balance()` is None,
nothing is held, nothing is charged). `misstep keys create --credits N` (or `set_balance`) turns
enforcement on for that tenant. Amounts are stored as integer milli-credits, so 0.5-credit items add up
exactly; the API speaks credits (floats).

Layout (tenant-scoped; no TTL, a hold lives until its run is settled):
    ms:{tenant}:credits:balance         spendable milli-credits (never negative); absent = not enforced
    ms:{tenant}:credits:held:{run_id}   milli-credits held for one run, from submit until it ends
    ms:{tenant}:credits:reserved        the sum of the tenant's holds
    ms:{tenant}:credits:used            milli-credits charged so far (settled holds)

`reserve` checks and takes in one Lua script, so concurrent submits can never overdraw the balance.
`settle` moves a hold to used and refunds the rest in one Lua script that deletes the hold, so a second
settle (a re-delivered job, a cancel racing a completion) does nothing. `refund` is settle with 0 used.
"""

from __future__ import annotations

from typing import Literal

import msgspec
import structlog
from redis.asyncio import Redis

from workers.contract import TERMINAL_STATUSES, RunRecord
from workers.pricing import tier_credits

log = structlog.get_logger("misstep.credits")
MILLI = 1000

# KEYS: balance, held, reserved. ARGV: amount (milli). Returns {outcome, balance after, amount held}:
# outcome 0 = not enforced, 1 = held (or already held for this run), 2 = refused (balance < amount).
_RESERVE_LUA = """
local balance = redis.call('GET', KEYS[1])
if not balance then return {0, 0, 0} end
balance = tonumber(balance)
local held = redis.call('GET', KEYS[2])
if held then return {1, balance, tonumber(held)} end
local amount = tonumber(ARGV[1])
if balance < amount then return {2, balance, 0} end
redis.call('DECRBY', KEYS[1], amount)
redis.call('SET', KEYS[2], amount)
redis.call('INCRBY', KEYS[3], amount)
return {1, balance - amount, amount}
"""

# KEYS: balance, held, reserved, used. ARGV: used (milli). Returns {settled?, charged, refunded}.
# The refund goes back only while the balance exists (enforcement switched off meanwhile stays off).
_SETTLE_LUA = """
local held = redis.call('GET', KEYS[2])
if not held then return {0, 0, 0} end
held = tonumber(held)
local used = math.max(0, math.min(tonumber(ARGV[1]), held))
local refund = held - used
redis.call('DEL', KEYS[2])
redis.call('DECRBY', KEYS[3], held)
if used > 0 then redis.call('INCRBY', KEYS[4], used) end
if refund > 0 and redis.call('EXISTS', KEYS[1]) == 1 then redis.call('INCRBY', KEYS[1], refund) end
return {1, used, refund}
"""


class Reservation(msgspec.Struct, frozen=True, kw_only=True):
    """What `reserve` did. `status` "unenforced": the tenant has no balance, nothing was held."""

    status: Literal["held", "refused", "unenforced"]
    required: float  # what was asked for
    available: float | None  # the spendable balance after the hold (before, when refused); None if unenforced
    held: float = 0.0

    @property
    def granted(self) -> bool:
        return self.status != "refused"


class Settlement(msgspec.Struct, frozen=True, kw_only=True):
    """What `settle` did: `settled` is False when there was no hold (already settled, or never held)."""

    settled: bool
    charged: float = 0.0
    refunded: float = 0.0


class CreditBalance(msgspec.Struct, frozen=True, kw_only=True):
    """A tenant's credits: spendable `balance` (None when not enforced), `reserved` by running runs, `used`."""

    balance: float | None
    reserved: float
    used: float

    @property
    def enforced(self) -> bool:
        return self.balance is not None


def _milli(credits: float) -> int:
    return round(credits * MILLI)


def _credits(milli: int | bytes | None) -> float:
    return int(milli or 0) / MILLI


def _key(tenant: str, what: str) -> str:
    return f"ms:{tenant}:credits:{what}"


def holds_credits(record: RunRecord) -> bool:
    """Whether a run's tier costs credits, so that a hold may exist for it (free runs never hold any)."""
    return tier_credits(record.options.tier, record.total_items) > 0


def run_charge(record: RunRecord) -> float:
    """What a finished run costs: its tier's price per item when completed; failed or cancelled runs are free."""
    return tier_credits(record.options.tier, record.total_items) if record.status == "completed" else 0.0


class CreditStore:
    """Tenant credit balances over one redis.asyncio client (the arq pool works too)."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self._reserve = redis.register_script(_RESERVE_LUA)
        self._settle = redis.register_script(_SETTLE_LUA)

    async def set_balance(self, tenant: str, credits: float) -> None:
        """Set the spendable balance (and so enforce credits for `tenant`); holds of running runs are kept."""
        if credits < 0:
            raise ValueError(f"a credit balance cannot be negative (got {credits})")
        await self.redis.set(_key(tenant, "balance"), _milli(credits))

    async def balance(self, tenant: str) -> float | None:
        """The spendable balance, or None when the tenant has none (credits are not enforced for it)."""
        raw = await self.redis.get(_key(tenant, "balance"))
        return None if raw is None else _credits(raw)

    async def snapshot(self, tenant: str) -> CreditBalance:
        """Balance, reserved and used, read together."""
        raw_balance, reserved, used = await self.redis.mget(
            [_key(tenant, "balance"), _key(tenant, "reserved"), _key(tenant, "used")]
        )
        return CreditBalance(
            balance=None if raw_balance is None else _credits(raw_balance),
            reserved=_credits(reserved),
            used=_credits(used),
        )

    async def reserve(self, tenant: str, run_id: str, amount: float) -> Reservation:
        """Hold `amount` credits for `run_id` atomically: refused when the balance is smaller, never negative.

        Holding again for a run that already holds returns the existing hold (nothing more is taken).
        """
        if amount < 0:
            raise ValueError(f"cannot reserve a negative amount ({amount})")
        outcome, after, held = await self._reserve(
            keys=[_key(tenant, "balance"), _key(tenant, f"held:{run_id}"), _key(tenant, "reserved")],
            args=[_milli(amount)],
        )
        if int(outcome) == 0:
            return Reservation(status="unenforced", required=amount, available=None)
        if int(outcome) == 2:
            log.info("credits.refused", tenant=tenant, run_id=run_id, required=amount, available=_credits(after))
            return Reservation(status="refused", required=amount, available=_credits(after))
        return Reservation(status="held", required=amount, available=_credits(after), held=_credits(held))

    async def settle(self, tenant: str, run_id: str, used: float) -> Settlement:
        """Charge `used` (at most the hold) and refund the rest; exactly once per hold, later calls do nothing."""
        settled, charged, refunded = await self._settle(
            keys=[
                _key(tenant, "balance"),
                _key(tenant, f"held:{run_id}"),
                _key(tenant, "reserved"),
                _key(tenant, "used"),
            ],
            args=[_milli(used)],
        )
        result = Settlement(settled=bool(int(settled)), charged=_credits(charged), refunded=_credits(refunded))
        if result.settled:
            log.info("credits.settled", tenant=tenant, run_id=run_id, charged=result.charged, refunded=result.refunded)
        return result

    async def refund(self, tenant: str, run_id: str) -> Settlement:
        """Give a run's whole hold back (a run that failed, was cancelled, or was never stored)."""
        return await self.settle(tenant, run_id, 0.0)

    async def settle_run(self, record: RunRecord) -> Settlement:
        """Settle a terminal run's hold from its status: completed pays its tier's price, anything else is refunded."""
        if record.status not in TERMINAL_STATUSES:
            raise ValueError(f"run {record.run_id} is {record.status}; only finished runs are settled")
        if not holds_credits(record):
            return Settlement(settled=False)
        return await self.settle(record.tenant, record.run_id, run_charge(record))
