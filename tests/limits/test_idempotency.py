"""Idempotency against a running misstep without workers (runs stay queued, so "while it is running" holds):
Idempotency-Key replays in both families, 422 for a reused key, one run for concurrent duplicates, and
ThinkHive's keyless retries refused with 409 ANALYSIS_IN_PROGRESS while the identical analysis runs."""

from __future__ import annotations

import asyncio
import copy
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis

from tests.conftest import Service, start_service
from workers.keys import KeyStore

pytestmark = pytest.mark.integration

FA = "/v2/failure-analysis"
V2 = "/api/v2/analyzer"
ITEM = {"input": "What is 2 + 2?", "output": "4."}
EXPLAIN = {
    "traces": [
        {
            "userMessage": "What is the refund policy for enterprise plans?",
            "agentResponse": "Enterprise plans have a 30-day refund policy.",
            "retrievedDocuments": [{"content": "Enterprise plans: full refund within 30 days."}],
        }
    ],
    "options": {"tier": "rule_based"},
}


@pytest.fixture(scope="module")
def queued(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    tmp = tmp_path_factory.mktemp("idempotency")
    running = start_service(  # no worker and no inline lane: every run stays queued
        redis_url, tmp, workers=0, API_KEY="vq_test_0123456789abcdef", SYNC_WAIT_S="0", INLINE_MAX_ITEMS="0"
    )
    yield running
    running.stop()


@pytest.fixture
async def http(queued: Service) -> AsyncIterator[httpx.AsyncClient]:
    """A client with a key of its own fresh tenant (run counts start at zero)."""
    redis = Redis.from_url(queued.env["REDIS_URL"])
    key, _ = await KeyStore(redis).create(f"idem{uuid.uuid4().hex[:10]}")
    await redis.aclose()
    headers = {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(base_url=queued.base_url, headers=headers, timeout=30) as client:
        yield client


def _key() -> dict[str, str]:
    return {"Idempotency-Key": str(uuid.uuid4())}


async def _count(http: httpx.AsyncClient) -> int:
    return (await http.get(f"{FA}/runs/count")).json()["count"]


async def test_the_same_key_and_body_replay_the_first_answer_and_store_one_run(http: httpx.AsyncClient) -> None:
    key = _key()
    first = await http.post(f"{FA}/analyze", json={"dataset": [ITEM], "project_name": "p"}, headers=key)
    again = await http.post(f"{FA}/analyze", json={"project_name": "p", "dataset": [ITEM]}, headers=key)  # key order
    assert first.status_code == again.status_code == 202
    assert again.json() == first.json() and again.json()["status"] == "queued"  # the original answer, still queued
    assert again.headers["content-type"] == first.headers["content-type"]
    assert again.headers["idempotent-replayed"] == "true" and "idempotent-replayed" not in first.headers
    assert await _count(http) == 1
    other = await http.post(f"{FA}/analyze", json={"dataset": [ITEM], "project_name": "p"}, headers=_key())
    assert other.json()["run_id"] != first.json()["run_id"] and await _count(http) == 2


async def test_the_same_key_with_another_body_is_422_naming_the_header(http: httpx.AsyncClient) -> None:
    key = _key()
    assert (await http.post(f"{FA}/analyze", json={"dataset": [ITEM]}, headers=key)).status_code == 202
    reused = await http.post(f"{FA}/analyze", json={"dataset": [ITEM, ITEM]}, headers=key)
    assert reused.status_code == 422 and "Idempotency-Key" in reused.json()["detail"]
    assert await _count(http) == 1
    thinkhive = await http.post(f"{V2}/analyze", json={"traceIds": ["x"]}, headers=key)  # another path, same key
    assert thinkhive.status_code == 422 and thinkhive.json()["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert "Idempotency-Key" in thinkhive.json()["message"]


async def test_concurrent_requests_with_one_key_create_one_run(http: httpx.AsyncClient) -> None:
    key = _key()
    answers = await asyncio.gather(
        *(http.post(f"{FA}/analyze", json={"dataset": [ITEM]}, headers=key) for _ in range(8))
    )
    assert [a.status_code for a in answers] == [202] * 8
    assert len({a.json()["run_id"] for a in answers}) == 1
    assert await _count(http) == 1


async def test_a_refused_request_does_not_use_up_its_key(http: httpx.AsyncClient) -> None:
    key = _key()
    refused = await http.post(f"{FA}/analyze", json={"dataset": []}, headers=key)
    assert refused.status_code == 400
    assert (await http.post(f"{FA}/analyze", json={"dataset": []}, headers=key)).status_code == 400  # ran again
    assert await _count(http) == 0
    malformed = await http.post(f"{FA}/analyze", json={"dataset": [ITEM]}, headers={"Idempotency-Key": ""})
    assert malformed.status_code == 400 and "Idempotency-Key" in malformed.json()["detail"]


async def test_a_thinkhive_analyze_with_a_key_replays_and_a_keyless_retry_is_409_in_progress(
    http: httpx.AsyncClient,
) -> None:
    key = _key()
    first = await http.post("/api/v1/explainer/analyze", json=EXPLAIN, headers=key)
    assert first.status_code == 202, first.text  # no worker: answered before the analysis finished
    again = await http.post("/api/v1/explainer/analyze", json=EXPLAIN, headers=key)
    assert again.status_code == 202 and again.json() == first.json()
    analysis_id = first.json()["data"]["analysisId"]
    retried = await http.post("/api/v1/explainer/analyze", json=EXPLAIN)  # the SDK's retry: no key
    body = _error(retried, 409, "ANALYSIS_IN_PROGRESS")
    assert body["analysisId"] == analysis_id == body["error"]["analysisId"]
    other = copy.deepcopy(EXPLAIN)
    other["traces"][0]["agentResponse"] += " Contact your account manager."
    assert (await http.post("/api/v1/explainer/analyze", json=other)).status_code == 202  # another target
    assert await _count(http) == 2


async def test_identical_batches_are_409_while_the_first_runs_and_accepted_once_it_ended(
    http: httpx.AsyncClient,
) -> None:
    ids = []
    for n in range(2):
        created = await http.post("/api/traces", json={"userMessage": f"q{n}", "agentResponse": f"a{n}"})
        assert created.status_code == 201, created.text
        ids.append(created.json()["data"]["id"])
    batch = {"agentId": "agent", "traceIds": ids, "config": {"tier": "rule_based"}}
    first = await http.post(f"{V2}/batch", json=batch)
    assert first.status_code == 202, first.text
    batch_id = first.json()["data"]["batchId"]
    reordered = {**batch, "traceIds": ids[::-1]}
    body = _error(await http.post(f"{V2}/batch", json=reordered), 409, "ANALYSIS_IN_PROGRESS")
    assert body["analysisId"] == batch_id
    assert (await http.post(f"{V2}/batch", json={**batch, "traceIds": ids[:1]})).status_code == 202  # other target
    assert (await http.post(f"{FA}/runs/{batch_id}/cancel")).status_code == 200
    after = await http.post(f"{V2}/batch", json=batch)  # the first one is terminal: a new batch may start
    assert after.status_code == 202 and after.json()["data"]["batchId"] != batch_id


def _error(answer: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    body = answer.json()
    assert body["success"] is False and body["code"] == code == body["error"]["code"]
    assert isinstance(body["message"], str)
    return body
