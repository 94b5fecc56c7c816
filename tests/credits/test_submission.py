"""Credits through submit_run and the job hooks, in-process against a real Redis: held at submit, given back
when the run is refused later or never stored, refunded when it fails, charged once when it completes."""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
import pytest
from redis.asyncio import Redis

from taxonomy.catalogue import Catalogue
from workers.contract import AnalyzeRequest, DatasetItem, RunRecord
from workers.credits import CreditStore
from workers.jobs import fail_run, run_chunk
from workers.settings import Settings
from workers.store import RunStore
from workers.submission import SubmissionError, submit_run


@pytest.fixture
def llm_settings(settings: Settings) -> Settings:
    """An LLM provider is configured (never called here: nothing in this file runs a paid tier's chunk)."""
    return msgspec.structs.replace(settings, llm_provider="openai", llm_api_key="sk-unused")


@pytest.fixture
def tenant() -> str:
    return f"sub-credits-{uuid.uuid4().hex[:8]}"


def _request(items: int, tier: str = "fast_llm") -> AnalyzeRequest:
    return AnalyzeRequest(
        dataset=[DatasetItem(input=f"q{n}", output=f"a{n}") for n in range(items)],
        tier=tier,  # type: ignore[arg-type]
        feature_kind="generic_llm",
    )


async def _submit(redis: Redis, tenant: str, settings: Settings, catalogue: Catalogue, **kw: Any) -> RunRecord:
    store = kw.pop("store", None) or RunStore(redis, ttl_s=60)
    return await submit_run(
        kw.pop("request", _request(4)), tenant=tenant, store=store, catalogue=catalogue, settings=settings, **kw
    )


async def test_a_paid_run_holds_its_price(
    redis: Redis, tenant: str, llm_settings: Settings, catalogue: Catalogue
) -> None:
    credits = CreditStore(redis)
    await credits.set_balance(tenant, 10)
    record = await _submit(redis, tenant, llm_settings, catalogue)  # 4 items x 0.5
    snapshot = await credits.snapshot(tenant)
    assert (snapshot.balance, snapshot.reserved) == (8.0, 2.0)
    assert await redis.get(f"ms:{tenant}:credits:held:{record.run_id}") == b"2000"


async def test_a_run_over_the_balance_is_refused_with_required_and_available_and_nothing_is_stored(
    redis: Redis, tenant: str, llm_settings: Settings, catalogue: Catalogue
) -> None:
    await CreditStore(redis).set_balance(tenant, 1.5)
    with pytest.raises(SubmissionError) as refused:
        await _submit(redis, tenant, llm_settings, catalogue)
    assert refused.value.kind == "no_credits"
    assert refused.value.extra == {"required": 2.0, "available": 1.5}
    assert "Required: 2, available: 1.5" in refused.value.message
    assert await RunStore(redis, ttl_s=60).list_records(tenant) == []
    assert await CreditStore(redis).balance(tenant) == 1.5


async def test_rule_based_is_free_even_with_an_empty_balance(
    redis: Redis, tenant: str, llm_settings: Settings, catalogue: Catalogue
) -> None:
    await CreditStore(redis).set_balance(tenant, 0)
    record = await _submit(redis, tenant, llm_settings, catalogue, request=_request(4, "rule_based"))
    assert record.status == "queued"
    assert (await CreditStore(redis).snapshot(tenant)).reserved == 0.0


async def test_a_tenant_without_a_balance_submits_paid_runs_freely(
    redis: Redis, tenant: str, llm_settings: Settings, catalogue: Catalogue
) -> None:
    record = await _submit(redis, tenant, llm_settings, catalogue)
    assert record.status == "queued"
    snapshot = await CreditStore(redis).snapshot(tenant)
    assert (snapshot.balance, snapshot.reserved, snapshot.enforced) == (None, 0.0, False)


class _BrokenStore(RunStore):
    async def create_run(self, *args: Any, **kwargs: Any) -> None:
        raise RuntimeError("storage failed mid-submit")


async def test_a_run_that_cannot_be_stored_gives_its_hold_back(
    redis: Redis, tenant: str, llm_settings: Settings, catalogue: Catalogue
) -> None:
    await CreditStore(redis).set_balance(tenant, 10)
    with pytest.raises(RuntimeError, match="storage failed"):
        await _submit(redis, tenant, llm_settings, catalogue, store=_BrokenStore(redis, ttl_s=60))
    snapshot = await CreditStore(redis).snapshot(tenant)
    assert (snapshot.balance, snapshot.reserved) == (10.0, 0.0)


async def test_a_run_refused_as_busy_gives_its_hold_back(
    redis: Redis, tenant: str, llm_settings: Settings, catalogue: Catalogue
) -> None:
    busy = msgspec.structs.replace(llm_settings, max_active_runs_per_tenant=1)
    await CreditStore(redis).set_balance(tenant, 10)
    await _submit(redis, tenant, busy, catalogue)
    with pytest.raises(SubmissionError) as refused:
        await _submit(redis, tenant, busy, catalogue)
    assert refused.value.kind == "busy"
    snapshot = await CreditStore(redis).snapshot(tenant)
    assert (snapshot.balance, snapshot.reserved) == (8.0, 2.0)  # only the first run's hold


async def test_a_failed_run_is_refunded_once(
    redis: Redis, tenant: str, llm_settings: Settings, catalogue: Catalogue
) -> None:
    await CreditStore(redis).set_balance(tenant, 10)
    store = RunStore(redis, ttl_s=60)
    record = await _submit(redis, tenant, llm_settings, catalogue, store=store)
    ctx: Any = {"store": store, "settings": llm_settings}
    await fail_run(ctx, tenant, record.run_id, "LLM provider unusable: test")
    await fail_run(ctx, tenant, record.run_id, "LLM provider unusable: again")
    snapshot = await CreditStore(redis).snapshot(tenant)
    assert (snapshot.balance, snapshot.reserved, snapshot.used) == (10.0, 0.0, 0.0)


async def test_a_completed_run_left_unsettled_is_charged_by_the_next_delivery_of_its_job(
    redis: Redis, tenant: str, llm_settings: Settings, catalogue: Catalogue
) -> None:
    """A worker that died between finalising and settling: the re-delivered job settles (and only once)."""
    await CreditStore(redis).set_balance(tenant, 10)
    store = RunStore(redis, ttl_s=60)
    record = await _submit(redis, tenant, llm_settings, catalogue, store=store)
    await store.update_record(tenant, record.run_id, lambda r: msgspec.structs.replace(r, status="completed"))
    ctx: Any = {"store": store, "settings": llm_settings}
    assert await run_chunk(ctx, tenant, record.run_id, 0) == "skipped"
    assert await run_chunk(ctx, tenant, record.run_id, 0) == "skipped"
    snapshot = await CreditStore(redis).snapshot(tenant)
    assert (snapshot.balance, snapshot.reserved, snapshot.used) == (8.0, 0.0, 2.0)
