"""The credit sweep in-process against a real Redis: a hold with no run is refunded only after the grace, a
hold of a run still going is kept, a hold of a finished run is settled as its end would have, and the
workers schedule the sweep once (on the interactive queue's Worker)."""

from __future__ import annotations

import uuid

import msgspec
import pytest
from redis.asyncio import Redis

from taxonomy.model import Item
from workers.contract import RunOptions, RunRecord
from workers.credit_sweep import SUSPECTS_KEY, sweep_credit_holds
from workers.credits import CreditStore
from workers.settings import Settings
from workers.store import RunStore
from workers.worker import PRIORITIES, worker_settings

pytestmark = pytest.mark.integration
GRACE_S = 600.0


@pytest.fixture
async def store(redis: Redis) -> RunStore:
    await redis.delete(SUSPECTS_KEY)
    return RunStore(redis, ttl_s=60)


async def _held(store: RunStore, tenant: str, *, status: str | None) -> str:
    """A 2-credit hold of a fresh run id; the run is stored with `status` (None: not stored at all)."""
    run_id = uuid.uuid4().hex
    credits = CreditStore(store.redis)
    if await credits.balance(tenant) is None:
        await credits.set_balance(tenant, 10)
    assert (await credits.reserve(tenant, run_id, 2)).granted
    if status is not None:
        record = RunRecord(
            run_id=run_id,
            tenant=tenant,
            status=status,  # type: ignore[arg-type]
            created_at="2026-11-22T00:00:00Z",
            options=RunOptions(feature_kind="rag", feature_kind_detected=True, tier="full_llm"),
            total_items=2,
            n_chunks=1,
            chunk_size=100,
        )
        await store.create_run(record, [[Item(output="a"), Item(output="b")]])
    return run_id


async def test_a_stranded_hold_is_refunded_after_the_grace_and_live_ones_are_kept(store: RunStore) -> None:
    tenant = f"sweep-{uuid.uuid4().hex[:8]}"
    stranded = await _held(store, tenant, status=None)  # the API died between holding and storing
    running = await _held(store, tenant, status="processing")
    credits = CreditStore(store.redis)
    assert (await credits.snapshot(tenant)).reserved == 4.0

    first = await sweep_credit_holds(store, grace_s=GRACE_S, now=1_000.0)  # seen once: maybe a submit in flight
    assert f"{tenant}/{stranded}" not in first and (await credits.snapshot(tenant)).reserved == 4.0
    early = await sweep_credit_holds(store, grace_s=GRACE_S, now=1_000.0 + GRACE_S - 1)
    assert f"{tenant}/{stranded}" not in early
    late = await sweep_credit_holds(store, grace_s=GRACE_S, now=1_000.0 + GRACE_S)
    assert f"{tenant}/{stranded}" in late and f"{tenant}/{running}" not in late
    snapshot = await credits.snapshot(tenant)
    assert (snapshot.balance, snapshot.reserved, snapshot.used) == (8.0, 2.0, 0.0)  # only the running hold
    assert await sweep_credit_holds(store, grace_s=GRACE_S, now=1_000.0 + 3 * GRACE_S) == []  # nothing twice


async def test_a_hold_of_a_finished_run_is_settled_as_its_end_would_have(store: RunStore) -> None:
    tenant = f"sweep-done-{uuid.uuid4().hex[:8]}"
    completed = await _held(store, tenant, status="completed")  # the worker died before settling
    failed = await _held(store, tenant, status="failed")
    released = await sweep_credit_holds(store, grace_s=GRACE_S)
    assert {f"{tenant}/{completed}", f"{tenant}/{failed}"} <= set(released)
    snapshot = await CreditStore(store.redis).snapshot(tenant)
    assert (snapshot.balance, snapshot.reserved, snapshot.used) == (8.0, 0.0, 2.0)  # completed paid, failed not


def test_the_sweep_is_scheduled_on_the_interactive_queue_only(settings: Settings) -> None:
    crons = {priority: worker_settings(settings, priority=priority)["cron_jobs"] for priority in PRIORITIES}
    assert [job.name for job in crons["high"]] == ["credit_sweep"] and crons["high"][0].unique
    assert crons["normal"] == crons["low"] == []


async def test_the_sweep_does_not_lengthen_the_lock_that_frees_a_killed_workers_job(settings: Settings) -> None:
    """arq locks every job of a Worker for its longest function timeout + 10 s; a cron job without a timeout
    would take the Worker default (300 s) and keep a killed worker's chunk from running again for minutes."""
    from arq.worker import Worker

    from workers.webhooks.delivery import job_timeout_s

    quick = msgspec.structs.replace(settings, job_timeout_s=2)
    worker = Worker(**worker_settings(quick, priority="high"), handle_signals=False)
    assert worker.in_progress_timeout_s == max(2, job_timeout_s(quick)) + 10
