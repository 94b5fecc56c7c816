"""Cancelling a queued run gives its held credits back (a service with no workers, so runs stay queued)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest
from redis.asyncio import Redis

from tests.conftest import Service, start_service
from workers.credits import CreditStore
from workers.keys import KeyStore

pytestmark = pytest.mark.integration
FA = "/v2/failure-analysis"


@pytest.fixture(scope="module")
def idle_service(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    running = start_service(
        redis_url,
        tmp_path_factory.mktemp("credits-idle"),
        workers=0,
        API_KEY="vq_test_credits_idle_0123456789",
        LLM_PROVIDER="openai",
        LLM_BASE_URL="http://127.0.0.1:9/v1",  # never called: nothing runs without workers
        LLM_API_KEY="sk-unused-0123456789",
    )
    yield running
    running.stop()


async def test_a_cancelled_queued_run_refunds_its_hold_once(idle_service: Service, redis: Redis) -> None:
    tenant = f"credits-cancel-{uuid.uuid4().hex[:8]}"
    key, _ = await KeyStore(redis).create(tenant)
    await CreditStore(redis).set_balance(tenant, 10)
    dataset = [{"input": f"q{n}", "output": f"a{n}"} for n in range(4)]
    headers = {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(base_url=idle_service.base_url, headers=headers, timeout=30) as http:
        kept = await http.post(f"{FA}/analyze", json={"dataset": dataset[:2], "tier": "deep"})
        cancelled = await http.post(f"{FA}/analyze", json={"dataset": dataset, "tier": "full_llm"})
        assert kept.status_code == cancelled.status_code == 202
        assert (await http.get(f"{FA}/credits/balance")).json()["reserved"] == 8.0
        run_id = cancelled.json()["run_id"]
        for _ in range(2):  # cancelling again answers the same and refunds nothing more
            assert (await http.post(f"{FA}/runs/{run_id}/cancel")).json()["status"] == "cancelled"
        balance = (await http.get(f"{FA}/credits/balance")).json()
    assert balance == {"balance": 6.0, "reserved": 4.0, "used": 0.0, "enforced": True}  # the deep run still holds
