"""RunStore against a real Redis: atomic creation, tenant scoping, idempotent chunks, cancel wins races."""

from __future__ import annotations

import uuid

import msgspec
import pytest
from redis.asyncio import Redis

from taxonomy.model import Item
from workers.contract import ChunkResult, InputRecord, RunOptions, RunRecord, RunResult, Summary
from workers.store import RunStore
from workers.summary import SummaryPart

pytestmark = pytest.mark.integration


@pytest.fixture
def store(redis: Redis) -> RunStore:
    return RunStore(redis, ttl_s=300)


def record(tenant: str, n_chunks: int = 2) -> RunRecord:
    options = RunOptions(feature_kind="rag", feature_kind_detected=True, tier="rule_based")
    return RunRecord(
        run_id=uuid.uuid4().hex,
        tenant=tenant,
        status="queued",
        created_at="2026-11-21T00:00:00Z",
        options=options,
        total_items=3,
        n_chunks=n_chunks,
        chunk_size=2,
        project_name="p",
    )


async def test_a_run_is_stored_with_its_queued_jobs_in_one_transaction(store: RunStore, settings) -> None:
    from workers.queue import chunk_jobs

    rec = record("atomic")
    jobs = chunk_jobs("atomic", rec.run_id, 2, settings)
    await store.create_run(rec, [[Item(output="a")], [Item(output="b")]], jobs)
    queued = await store.redis.zrange(settings.queue_name, 0, -1)
    assert queued == [f"{rec.run_id}:0".encode(), f"{rec.run_id}:1".encode()]
    payload = msgspec.msgpack.decode(await store.redis.get(f"arq:job:{rec.run_id}:1"))
    assert payload["f"] == "analyze_chunk" and payload["a"] == ["atomic", rec.run_id, 1]


async def test_create_and_read_are_scoped_by_tenant(store: RunStore) -> None:
    rec = record("tenant-a")
    await store.create_run(rec, [[Item(index=0, output="a"), Item(index=1, output="b")], [Item(index=2, output="c")]])
    assert (await store.get_record("tenant-a", rec.run_id)) == rec
    assert await store.get_record("tenant-b", rec.run_id) is None
    found, done, items = await store.open_chunk("tenant-a", rec.run_id, 1)
    assert found == rec and done is False and [i.index for i in items] == [2]
    assert await store.open_chunk("tenant-b", rec.run_id, 1) == (None, False, None)
    assert rec.run_id in {r.run_id for r in await store.list_records("tenant-a")}
    assert rec.run_id not in {r.run_id for r in await store.list_records("tenant-b")}
    assert "p" in await store.projects("tenant-a") and await store.projects("tenant-b") == []
    ttl = await store.redis.ttl(f"ms:tenant-a:run:{rec.run_id}")
    assert 0 < ttl <= 300


async def test_saving_a_chunk_twice_counts_it_once(store: RunStore) -> None:
    rec = record("t")
    await store.create_run(rec, [[Item(output="a")], [Item(output="b")]])
    chunk = ChunkResult(chunk_index=0, inputs=[], tags=[], detectors_run=[], worker_id="w1")
    assert await store.save_chunk("t", rec.run_id, chunk, SummaryPart()) == 1
    assert await store.save_chunk("t", rec.run_id, chunk, SummaryPart()) == 1
    assert (await store.open_chunk("t", rec.run_id, 0))[1] is True
    assert (await store.open_chunk("t", rec.run_id, 1))[1] is False


async def test_a_cancel_that_lands_first_wins_over_finalisation(store: RunStore) -> None:
    rec = record("t", n_chunks=1)
    await store.create_run(rec, [[Item(output="a")]])
    cancelled = await store.update_record("t", rec.run_id, lambda r: msgspec.structs.replace(r, status="cancelled"))
    assert cancelled is not None and cancelled.status == "cancelled"
    final = msgspec.structs.replace(rec, status="completed")
    result = RunResult(
        run_id=rec.run_id,
        status="completed",
        mode="minimal",
        input_type="json",
        feature_kind="rag",
        summary=Summary(),
    )
    assert await store.finalize(final, result) is False
    assert (await store.get_record("t", rec.run_id)).status == "cancelled"
    assert await store.result_json("t", rec.run_id, 1) is None


async def test_finalize_keeps_chunks_and_serves_the_spliced_result(store: RunStore) -> None:
    rec = record(f"t-{uuid.uuid4().hex[:6]}", n_chunks=2)
    tenant = rec.tenant
    await store.reserve_active(tenant, limit=5)
    await store.create_run(rec, [[Item(output="a")], [Item(output="b")]])
    assert await store.active_runs(tenant) == 1
    for n in (1, 0):  # chunks finish out of order; the result is still in item order
        inputs = [
            InputRecord(
                item_index=n, input_text="q", output_text='a "quoted" [] answer', input_preview="q", output_preview="a"
            )
        ]
        await store.save_chunk(
            tenant,
            rec.run_id,
            ChunkResult(chunk_index=n, inputs=inputs, tags=[], detectors_run=[]),
            SummaryPart(items=1),
        )
    assert [p.items for p in await store.load_parts(tenant, rec.run_id, 2)] == [1, 1]
    header = RunResult(
        run_id=rec.run_id,
        status="completed",
        mode="minimal",
        input_type="json",
        feature_kind="rag",
        summary=Summary(total_items=2),
        project_name='"failure_tags":[]',
    )
    assert await store.finalize(msgspec.structs.replace(rec, status="completed"), header) is True
    body = msgspec.json.decode(await store.result_json(tenant, rec.run_id, 2))
    assert [i["item_index"] for i in body["inputs"]] == [0, 1] and body["failure_tags"] == []
    assert body["project_name"] == '"failure_tags":[]' and body["inputs"][0]["output_text"] == 'a "quoted" [] answer'
    assert (await store.open_chunk(tenant, rec.run_id, 0))[2] is None  # submitted items are dropped
    assert await store.finalize(msgspec.structs.replace(rec, status="completed"), header) is False
    assert await store.active_runs(tenant) == 0


async def test_an_active_count_below_zero_heals_instead_of_lifting_the_limit(store: RunStore) -> None:
    from workers.store import TooManyActiveRunsError

    tenant = f"t-{uuid.uuid4().hex[:8]}"
    await store.redis.set(f"ms:{tenant}:active", -3)
    await store.reserve_active(tenant, limit=1)
    with pytest.raises(TooManyActiveRunsError):
        await store.reserve_active(tenant, limit=1)
    assert await store.active_runs(tenant) == 1
