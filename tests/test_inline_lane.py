"""The inline lane in-process against a real Redis: which runs qualify, what a completed inline run stores,
and that a failure mid-analysis stores nothing and leaves no active-run count or credit hold behind."""

from __future__ import annotations

import uuid

import msgspec
import pytest
from redis.asyncio import Redis

from taxonomy.catalogue import Catalogue
from taxonomy.registry import discover
from workers.contract import AnalyzeRequest, DatasetItem, RunOptions, RunRecord
from workers.inline_lane import InlineCall, InlineLane
from workers.intake import to_item
from workers.settings import Settings
from workers.store import RunStore
from workers.submission import runs_inline, submit_run

pytestmark = pytest.mark.integration
RAG = RunOptions(feature_kind="rag", feature_kind_detected=True, tier="rule_based")


@pytest.fixture
def store(redis: Redis) -> RunStore:
    return RunStore(redis, ttl_s=60)


def _items(n: int, settings: Settings, output: str = "Refunds take 30 days.") -> list:
    raw = [DatasetItem(input="How long do refunds take?", output=output, context=["Refunds take 30 days."])] * n
    return [to_item(item, i, settings) for i, item in enumerate(raw)]


def test_only_small_rule_based_one_chunk_runs_qualify(settings: Settings) -> None:
    small = msgspec.structs.replace(settings, inline_max_items=3, inline_max_bytes=2_000)
    assert runs_inline(RAG, _items(3, small), 1, small)
    assert not runs_inline(RAG, _items(4, small), 1, small)  # too many items
    assert not runs_inline(RAG, _items(1, small, output="x" * 2_000), 1, small)  # too many bytes
    assert not runs_inline(msgspec.structs.replace(RAG, tier="fast_llm"), _items(1, small), 1, small)
    assert not runs_inline(RAG, _items(2, small), 2, small)  # more than one chunk
    off = msgspec.structs.replace(small, inline_max_items=0)
    assert not runs_inline(RAG, _items(1, off), 1, off)


async def test_an_inline_run_is_stored_completed_with_its_result_and_no_active_count(
    settings: Settings, store: RunStore, catalogue: Catalogue
) -> None:
    tenant = f"inline-{uuid.uuid4().hex[:8]}"
    call = InlineCall(InlineLane(settings, store, catalogue, discover()))
    request = AnalyzeRequest(dataset=[DatasetItem(input="Capital of France?", output="Berlin.", context=["Paris."])])
    record = await submit_run(
        request, tenant=tenant, store=store, catalogue=catalogue, settings=settings, run_inline=call.run
    )
    assert record.status == "completed" and record.lane == "inline" and record.summary is not None
    assert await store.get_record(tenant, record.run_id) == record
    assert await store.active_runs(tenant) == 0  # never queued, never counted
    status, _, workers = await store.get_status(tenant, record.run_id)
    assert status == record and [w.endswith(":inline") for w in workers] == [True]
    stored = await store.result_json(tenant, record.run_id, record.n_chunks)
    assert call.result_json == stored  # the submit's answer is what a later GET of the result reads
    body = msgspec.json.decode(stored)
    assert body["status"] == "completed" and [i["item_index"] for i in body["inputs"]] == [0]
    assert any(t["subcategory_id"] == "unsupported_claim" and t["decision"] == "fail" for t in body["failure_tags"])
    assert await store.redis.zcard(settings.queue_name) == 0
    assert not await store.redis.exists(f"ms:{tenant}:run:{record.run_id}:items:0")


async def test_a_failure_during_inline_analysis_stores_nothing(
    settings: Settings, store: RunStore, catalogue: Catalogue
) -> None:
    tenant = f"inline-fail-{uuid.uuid4().hex[:8]}"

    async def broken(record: RunRecord, items: list) -> RunRecord:
        raise ConnectionError("Redis went away mid-analysis")

    request = AnalyzeRequest(dataset=[DatasetItem(input="q", output="a")])
    with pytest.raises(ConnectionError):
        await submit_run(request, tenant=tenant, store=store, catalogue=catalogue, settings=settings, run_inline=broken)
    assert await store.list_records(tenant) == []
    assert await store.active_runs(tenant) == 0
    assert not [key async for key in store.redis.scan_iter(f"ms:{tenant}:*")]
