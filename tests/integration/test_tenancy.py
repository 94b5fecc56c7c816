"""Tenant isolation over HTTP: every read endpoint of both families, called with a second tenant's key,
answers 404 for each object of the first tenant (never 403, never the object), and lists leave it out."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis

from tests.conftest import Service
from workers.keys import KeyStore

pytestmark = pytest.mark.integration
FA = "/v2/failure-analysis"
TRACE = {
    "userMessage": "How long is the refund window?",
    "agentResponse": "Refunds are accepted within 30 days.",
    "retrievedDocuments": [{"content": "Refunds are accepted within 30 days of purchase."}],
}


async def _mint(redis_url: str, tenant: str) -> str:
    redis = Redis.from_url(redis_url)
    try:
        key, _ = await KeyStore(redis).create(tenant)
        return key
    finally:
        await redis.aclose()


def _client(service: Service, key: str) -> httpx.Client:
    return httpx.Client(base_url=service.base_url, headers={"Authorization": f"Bearer {key}"}, timeout=30)


@pytest.fixture(scope="module")
def objects(service: Service) -> Iterator[dict[str, Any]]:
    """Tenant A's run, trace, explanation and analysis; tenant B's key."""
    suffix = uuid.uuid4().hex[:8]
    key_a = asyncio.run(_mint(service.env["REDIS_URL"], f"tenant-a-{suffix}"))
    key_b = asyncio.run(_mint(service.env["REDIS_URL"], f"tenant-b-{suffix}"))
    agent = f"agent-{suffix}"
    with _client(service, key_a) as http:
        run = http.post(
            f"{FA}/analyze", json={"dataset": [{"input": "q", "output": "a"}], "project_name": "secret-project"}
        )
        run_id = run.json()["run_id"]
        trace_id = http.post("/api/traces", json={**TRACE, "agentId": agent}).json()["data"]["id"]
        explained = http.post(
            "/api/v1/explainer/analyze",
            json={
                "traces": [{**TRACE, "traceId": f"tr_{suffix}", "metadata": {"agentId": agent}}],
                "options": {"tier": "rule_based"},
            },
        ).json()["data"]
        analysis = http.post(
            "/api/v2/analyzer/analyze", json={"traceIds": [trace_id], "config": {"tier": "rule_based"}}
        ).json()
        for _ in range(600):
            if http.get(f"{FA}/runs/{run_id}/status").json()["status"] == "completed":
                break
            time.sleep(0.05)
    yield {
        "key_a": key_a,
        "key_b": key_b,
        "agent": agent,
        "run_id": run_id,
        "trace_id": trace_id,
        "explained_trace": explained["results"][0]["traceId"],
        "analysis_id": analysis["data"]["id"],
    }


READS = [
    ("GET", f"{FA}/runs/{{run_id}}/status", None),
    ("GET", f"{FA}/runs/{{run_id}}", None),
    ("GET", f"{FA}/runs/{{run_id}}/inputs", None),
    ("GET", f"{FA}/runs/{{run_id}}/tags", None),
    ("GET", f"{FA}/runs/{{run_id}}/webhooks", None),
    ("POST", f"{FA}/runs/{{run_id}}/cancel", None),
    ("POST", f"{FA}/analyze", {"trace_id": "{trace_id}"}),
    ("GET", "/api/traces/{trace_id}", None),
    ("GET", "/api/v1/traces/{trace_id}", None),
    ("GET", "/api/v1/explainer/trace/{explained_trace}", None),
    ("GET", "/api/v1/explainer/{explained_trace}", None),
    ("GET", "/api/v2/analyzer/results/{analysis_id}", None),
    ("GET", "/api/v2/analyzer/{trace_id}", None),
    ("POST", "/api/v2/analyzer/analyze", {"traceIds": ["{trace_id}"], "config": {"tier": "rule_based"}}),
    ("POST", "/api/v2/analyzer/estimate-cost", {"tier": "rule_based", "traceIds": ["{trace_id}"]}),
    ("POST", "/api/v2/analyzer/batch", {"agentId": "x", "traceIds": ["{trace_id}"], "config": {"tier": "rule_based"}}),
]


def _fill(value: Any, objects: dict[str, Any]) -> Any:
    if isinstance(value, str):
        return value.format(**objects)
    if isinstance(value, list):
        return [_fill(v, objects) for v in value]
    if isinstance(value, dict):
        return {k: _fill(v, objects) for k, v in value.items()}
    return value


@pytest.mark.parametrize(("method", "path", "body"), READS, ids=[f"{m} {p}" for m, p, _ in READS])
def test_another_tenants_object_is_404_and_the_owner_can_read_it(
    service: Service, objects: dict[str, Any], method: str, path: str, body: Any
) -> None:
    url = _fill(path, objects)
    payload = _fill(body, objects)
    with _client(service, objects["key_b"]) as http:
        answer = http.request(method, url, json=payload)
    assert answer.status_code == 404, f"{method} {url}: {answer.status_code} {answer.text[:300]}"
    if method == "GET":
        with _client(service, objects["key_a"]) as http:
            assert http.get(url).status_code == 200, url


def test_lists_of_another_tenant_leave_the_objects_out(service: Service, objects: dict[str, Any]) -> None:
    agent = objects["agent"]
    with _client(service, objects["key_b"]) as http:
        runs = http.get(f"{FA}/runs", params={"page_size": 200}).json()
        count = http.get(f"{FA}/runs/count").json()
        projects = http.get(f"{FA}/projects").json()
        traces = http.get("/api/traces", params={"agentId": agent}).json()
        explanations = http.get("/api/v1/explainer/list", params={"agentId": agent}).json()
        history = http.get("/api/v2/analyzer/history").json()
        deliveries = http.get("/api/webhooks/deliveries", params={"runId": objects["run_id"]}).json()
        secret_b = http.get("/api/webhooks/secret").json()["data"]["secret"]
    with _client(service, objects["key_a"]) as http:
        secret_a = http.get("/api/webhooks/secret").json()["data"]["secret"]
        own = http.get("/api/traces", params={"agentId": agent}).json()
    assert objects["run_id"] not in {r["run_id"] for r in runs["items"]} and count["count"] == 0
    assert "secret-project" not in projects["projects"]
    assert traces["data"] == [] and explanations["data"] == [] and deliveries["data"] == []
    assert history["data"]["analyses"] == []
    assert secret_a != secret_b
    assert objects["trace_id"] in {t["id"] for t in own["data"]}
