"""The credit sweep: gives back credit holds that no run will ever settle.

A hold is settled when its run ends (workers/jobs.py), and given back when a submit fails before the run is
stored. Two things can still strand one: the API process dying between holding and storing the run, and a
run whose record expires (RESULT_TTL_S) before it ever finished. The sweep, an arq cron job of the workers
(every 10 minutes), scans the holds:

- a hold whose run has ended is settled as the run's end would have settled it (idempotent);
- a hold with no run record is refunded once it has been seen without one for CREDIT_SWEEP_GRACE_S, so
  that a submit that holds and is about to store its run is never refunded under it.

Suspects are remembered between sweeps in one hash, `ms:_sweep:credit_holds` (tenant/run -> first seen).
"""

from __future__ import annotations

import time
from typing import Any

import structlog
from redis.asyncio import Redis

from workers.contract import TERMINAL_STATUSES
from workers.credits import CreditStore
from workers.store import RunStore

log = structlog.get_logger("misstep.credit_sweep")
SUSPECTS_KEY = "ms:_sweep:credit_holds"
_HELD = ":credits:held:"
_SEPARATOR = "/"  # tenants are [A-Za-z0-9_-], run ids hex: neither holds a slash


async def sweep_credit_holds(store: RunStore, *, grace_s: float, now: float | None = None) -> list[str]:
    """Settle or refund stranded holds; returns "tenant/run_id" of every hold given back or settled."""
    redis: Redis = store.redis
    now = time.time() if now is None else now
    suspects = {k.decode(): float(v) for k, v in (await redis.hgetall(SUSPECTS_KEY)).items()}
    still_suspect: dict[str, float] = {}
    released: list[str] = []
    credits = CreditStore(redis)
    async for raw in redis.scan_iter(match=f"ms:*{_HELD}*", count=500):
        prefix, run_id = raw.decode().rsplit(_HELD, 1)
        tenant = prefix.removeprefix("ms:")
        ident = f"{tenant}{_SEPARATOR}{run_id}"
        record = await store.get_record(tenant, run_id)
        if record is not None:
            if record.status in TERMINAL_STATUSES and (await credits.settle_run(record)).settled:
                released.append(ident)
            continue
        first_seen = suspects.get(ident, now)
        if now - first_seen < grace_s:
            still_suspect[ident] = first_seen
            continue
        refunded = await credits.refund(tenant, run_id)
        if refunded.settled:
            log.warning("credits.stranded_hold_refunded", tenant=tenant, run_id=run_id, refunded=refunded.refunded)
            released.append(ident)
    async with redis.pipeline(transaction=True) as pipe:
        pipe.delete(SUSPECTS_KEY)
        if still_suspect:
            pipe.hset(SUSPECTS_KEY, mapping=still_suspect)
        await pipe.execute()
    return released


async def credit_sweep(ctx: dict[str, Any]) -> int:
    """arq cron job (workers/worker.py): one sweep with the worker's store; returns how many holds it released."""
    released = await sweep_credit_holds(ctx["store"], grace_s=ctx["settings"].credit_sweep_grace_s)
    return len(released)
