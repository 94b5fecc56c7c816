"""Reaping orphaned direct-lane runs (own LLM key, analysed in an API process that then died), in-process
against a real Redis: failed with the resubmit advice, credits given back, webhook scheduled; a run whose
process still beats is left alone."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import msgspec
import pytest
from redis.asyncio import Redis

from taxonomy.model import Item
from workers.contract import RunOptions, RunRecord
from workers.credits import CreditStore
from workers.direct_lane import HEARTBEAT_TTL_S, LOST, reap_if_orphaned
from workers.settings import Settings
from workers.store import RunStore
from workers.webhooks.store import DeliveryStore, delivery_id_for_run

pytestmark = pytest.mark.integration


@pytest.fixture
def store(redis: Redis) -> RunStore:
    return RunStore(redis, ttl_s=60)


async def _direct_run(store: RunStore, *, age_s: float, callback_url: str | None = None) -> RunRecord:
    """A stored own-key run created `age_s` ago, holding 0.5 credits of a balance of 10."""
    tenant, run_id = f"direct-{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
    created = (datetime.now(UTC) - timedelta(seconds=age_s)).isoformat().replace("+00:00", "Z")
    record = RunRecord(
        run_id=run_id,
        tenant=tenant,
        status="processing",
        created_at=created,
        options=RunOptions(feature_kind="rag", feature_kind_detected=True, tier="fast_llm"),
        total_items=1,
        n_chunks=1,
        chunk_size=100,
        lane="direct",
        callback_url=callback_url,
    )
    credits = CreditStore(store.redis)
    await credits.set_balance(tenant, 10)
    assert (await credits.reserve(tenant, run_id, 0.5)).granted
    await store.reserve_active(tenant, 100)
    await store.create_run(record, [[Item(output="a")]])
    return record


async def test_an_orphaned_direct_run_fails_refunds_and_schedules_its_webhook(
    store: RunStore, settings: Settings
) -> None:
    record = await _direct_run(store, age_s=HEARTBEAT_TTL_S + 5, callback_url="https://hooks.example.com/misstep")
    reaped = await reap_if_orphaned(store, record, settings)
    assert (reaped.status, reaped.error) == ("failed", LOST) and reaped.finished_at
    assert await store.get_record(record.tenant, record.run_id) == reaped
    snapshot = await CreditStore(store.redis).snapshot(record.tenant)
    assert (snapshot.balance, snapshot.reserved, snapshot.used) == (10.0, 0.0, 0.0)
    assert await store.active_runs(record.tenant) == 0
    delivery = await DeliveryStore(store.redis, ttl_s=60).get(record.tenant, delivery_id_for_run(record.run_id))
    assert delivery is not None and delivery.event_type.endswith("failed") and delivery.url == record.callback_url
    assert await reap_if_orphaned(store, reaped, settings) == reaped  # reading again changes nothing


async def test_a_direct_run_that_still_beats_or_is_young_is_left_running(store: RunStore, settings: Settings) -> None:
    beating = await _direct_run(store, age_s=HEARTBEAT_TTL_S + 5)
    await store.beat(beating.tenant, beating.run_id, HEARTBEAT_TTL_S)
    young = await _direct_run(store, age_s=1)
    queued = msgspec.structs.replace(await _direct_run(store, age_s=HEARTBEAT_TTL_S + 5), lane="queue")
    for record in (beating, young, queued):
        assert await reap_if_orphaned(store, record, settings) == record
        assert (await store.get_record(record.tenant, record.run_id)).status == "processing"
