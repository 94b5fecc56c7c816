"""Credits end to end: a running misstep (API + one worker) judging fast_llm through a loopback LLM server.

Each test mints a key for a fresh tenant and gives it a balance; the static API_KEY's tenant has none.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis
from valiqor import QuotaExceededError
from valiqor.failure_analysis import ValiqorFAClient

from tests.conftest import Service, start_service
from tests.llm_server import Fault, LLMServer
from workers.credits import CreditStore
from workers.keys import KeyStore

pytestmark = pytest.mark.integration
FA = "/v2/failure-analysis"
ITEM = {"input": "What is 2 + 2?", "output": "2 + 2 is 4."}
TRACE = {
    "userMessage": "How long is the refund window?",
    "agentResponse": "Refunds are accepted within 30 days.",
    "retrievedDocuments": [{"content": "Refunds are accepted within 30 days of purchase."}],
}


@pytest.fixture(scope="module")
def judge() -> Iterator[LLMServer]:
    with LLMServer() as server:
        yield server


@pytest.fixture(scope="module")
def paid_service(redis_url: str, judge: LLMServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    running = start_service(
        redis_url,
        tmp_path_factory.mktemp("credits-service"),
        API_KEY="vq_test_credits_0123456789",
        LLM_PROVIDER="openai",
        LLM_MODEL="gpt-4o-mini",
        LLM_BASE_URL=judge.openai_base_url,
        LLM_API_KEY="sk-server-key-0123456789",
        LLM_TIMEOUT_S="1",
        LLM_MAX_RETRIES="0",
        SYNC_WAIT_S="0",
    )
    yield running
    running.stop()


async def _tenant_key(redis: Redis, balance: float) -> tuple[str, str]:
    tenant = f"credits-{uuid.uuid4().hex[:8]}"
    key, _ = await KeyStore(redis).create(tenant)
    await CreditStore(redis).set_balance(tenant, balance)
    return tenant, key


def _client(service: Service, key: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=service.base_url, headers={"Authorization": f"Bearer {key}"}, timeout=30)


async def _wait_finished(http: httpx.AsyncClient, run_ids: list[str], timeout_s: float = 20) -> list[str]:
    deadline = time.monotonic() + timeout_s
    statuses: list[str] = []
    while time.monotonic() < deadline:
        answers = await asyncio.gather(*(http.get(f"{FA}/runs/{run_id}/status") for run_id in run_ids))
        statuses = [a.json()["status"] for a in answers]
        if all(s in ("completed", "failed", "cancelled") for s in statuses):
            return statuses
        await asyncio.sleep(0.05)
    raise AssertionError(f"runs did not finish: {statuses}")


async def test_fifty_concurrent_submits_against_credits_for_ten_accept_exactly_ten(
    paid_service: Service, judge: LLMServer, redis: Redis
) -> None:
    tenant, key = await _tenant_key(redis, 5)  # fast_llm: 0.5 credits per item, so 10 one-item runs
    body = {"dataset": [ITEM], "tier": "fast_llm", "feature_kind": "generic_llm"}
    async with _client(paid_service, key) as http:
        answers = await asyncio.gather(*(http.post(f"{FA}/analyze", json=body) for _ in range(50)))
        accepted = [a for a in answers if a.status_code == 202]
        refused = [a for a in answers if a.status_code != 202]
        assert len(accepted) == 10
        assert {a.status_code for a in refused} == {429}
        for answer in refused:  # the Valiqor SDK's quota shape: top-level error, message and numbers
            error = answer.json()
            assert error["error"] == "quota_exceeded" and error["service"] == "failure_analysis"
            assert error["current_usage"] == error["required"] == 0.5
            assert error["quota_limit"] == error["available"] == 0.0
            assert "Required: 0.5, available: 0" in error["message"]
        assert int(await redis.get(f"ms:{tenant}:credits:balance")) == 0
        held = (await http.get(f"{FA}/credits/balance")).json()  # runs may have finished meanwhile
        assert held["balance"] == 0.0 and held["reserved"] + held["used"] == 5.0 and held["enforced"] is True

        statuses = await _wait_finished(http, [a.json()["run_id"] for a in accepted])
        assert statuses == ["completed"] * 10
        settled = (await http.get("/api/credits/balance")).json()
        assert settled == {"success": True, "data": {"balance": 0.0, "reserved": 0.0, "used": 5.0, "enforced": True}}
        result = (await http.get(f"{FA}/runs/{accepted[0].json()['run_id']}")).json()
        assert result["credits_used"] == 0.5


async def test_a_failed_run_gives_its_credits_back(paid_service: Service, judge: LLMServer, redis: Redis) -> None:
    tenant, key = await _tenant_key(redis, 3)
    judge.inject(Fault.status(401))  # the provider refuses the key: the run fails at its first judge call
    async with _client(paid_service, key) as http:
        submitted = await http.post(f"{FA}/analyze", json={"dataset": [ITEM], "tier": "full_llm"})
        assert submitted.status_code == 202, submitted.text
        assert (await CreditStore(redis).snapshot(tenant)).reserved == 1.0
        assert await _wait_finished(http, [submitted.json()["run_id"]]) == ["failed"]
        balance = (await http.get(f"{FA}/credits/balance")).json()
    assert balance == {"balance": 3.0, "reserved": 0.0, "used": 0.0, "enforced": True}


async def test_a_thinkhive_batch_over_the_balance_is_402_insufficient_credits(
    paid_service: Service, redis: Redis
) -> None:
    tenant, key = await _tenant_key(redis, 1.5)
    async with _client(paid_service, key) as http:
        ids = [(await http.post("/api/traces", json={**TRACE, "agentId": "bot"})).json()["data"]["id"] for _ in "ab"]
        refused = await http.post(
            "/api/v2/analyzer/batch", json={"agentId": "bot", "traceIds": ids, "config": {"tier": "full_llm"}}
        )
        assert refused.status_code == 402, refused.text
        body = refused.json()
        assert body["success"] is False and body["code"] == "INSUFFICIENT_CREDITS"
        assert body["error"]["code"] == "INSUFFICIENT_CREDITS"
        assert (body["error"]["required"], body["error"]["available"]) == (2.0, 1.5)
        assert (body["required"], body["available"]) == (2.0, 1.5)
        assert body["message"] == "Not enough credits to perform this analysis. Required: 2, available: 1.5"
        history = (await http.get("/api/v2/analyzer/history")).json()["data"]
    assert history["analyses"] == []  # nothing was queued
    assert await CreditStore(redis).balance(tenant) == 1.5


async def test_a_dry_run_charges_nothing_even_over_the_balance(paid_service: Service, redis: Redis) -> None:
    tenant, key = await _tenant_key(redis, 1)
    body = {"traces": [TRACE] * 4, "config": {"tier": "deep", "dryRun": True}}
    async with _client(paid_service, key) as http:
        estimate = await http.post("/api/v2/analyzer/analyze", json=body)
        assert estimate.status_code == 200, estimate.text
        assert estimate.json()["data"]["costEstimate"]["totalCredits"] == 8
        assert estimate.json()["data"]["creditsUsed"] == 0
        body["config"]["dryRun"] = False
        assert (await http.post("/api/v2/analyzer/analyze", json=body)).status_code == 402
    snapshot = await CreditStore(redis).snapshot(tenant)
    assert (snapshot.balance, snapshot.reserved, snapshot.used) == (1.0, 0.0, 0.0)


async def test_credits_are_not_enforced_for_a_tenant_without_a_balance(paid_service: Service) -> None:
    async with _client(paid_service, paid_service.env["API_KEY"]) as http:
        valiqor = (await http.get(f"{FA}/credits/balance")).json()
        thinkhive = (await http.get("/api/credits/balance")).json()
    assert valiqor == {"balance": None, "reserved": 0.0, "used": 0.0, "enforced": False}
    assert thinkhive == {"success": True, "data": valiqor}


def _sdk_run(service: Service, key: str) -> Any:
    client = ValiqorFAClient(api_key=key, base_url=service.base_url)
    return client.run(dataset=[ITEM, ITEM], feature_kind="generic_llm")  # default tier: fast_llm, 1 credit


async def test_the_valiqor_sdk_raises_quota_exceeded(paid_service: Service, redis: Redis) -> None:
    _, key = await _tenant_key(redis, 0.5)
    with pytest.raises(QuotaExceededError) as refused:
        await asyncio.to_thread(_sdk_run, paid_service, key)
    assert (refused.value.current_usage, refused.value.quota_limit) == (1.0, 0.5)
    assert refused.value.service == "failure_analysis"
    assert "Not enough credits" in str(refused.value)


async def test_thinkhive_answers_show_the_remaining_credits(paid_service: Service, redis: Redis) -> None:
    _, key = await _tenant_key(redis, 3)
    async with _client(paid_service, key) as http:
        analyzed = await http.post("/api/v2/analyzer/analyze", json={"traces": [TRACE], "config": {"tier": "fast_llm"}})
        assert analyzed.status_code in (200, 202), analyzed.text
        assert analyzed.json()["data"]["remainingCredits"] == 2.5  # held now or charged already: the same
        for _ in range(2):
            await http.post("/api/traces", json={**TRACE, "agentId": "gen"})
        queued = await http.post("/api/v1/explainer/generate-all/gen", params={"tier": "full_llm"})
        assert queued.status_code == 202, queued.text
        assert queued.json()["data"]["remainingCredits"] == 0.5
    async with _client(paid_service, paid_service.env["API_KEY"]) as http:  # no balance: no remainingCredits
        free = await http.post("/api/v2/analyzer/analyze", json={"traces": [TRACE], "config": {"tier": "rule_based"}})
        assert "remainingCredits" not in free.json()["data"]
