"""ThinkHive flows across features: the 4.2.2 SDK's analyzer, OTLP traces analysed by the Valiqor family,
generate-all, and a 500-trace batch whose signed callback survives a receiver that is down at first."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
import thinkhive
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from standardwebhooks import Webhook
from thinkhive.api import analyzer, traces

from tests.conftest import Service, start_service
from tests.webhooks.receiver import Receiver

pytestmark = [pytest.mark.integration, pytest.mark.sdk]
V2 = "/api/v2/analyzer"


@pytest.fixture(scope="module")
def hooked(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    running = start_service(
        redis_url,
        tmp_path_factory.mktemp("thinkhive-flows"),
        workers=2,
        API_KEY="vq_test_flows_0123456789",
        WEBHOOK_ALLOWED_HOSTS="127.0.0.1",
        WEBHOOK_RETRY_SCHEDULE_S="0.3,0.3,0.5",
    )
    yield running
    running.stop()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as running:
        yield running


def _create_traces(service: Service, agent: str, n: int) -> list[str]:
    ids = []
    with service.client() as http:
        for i in range(n):
            answer = http.post(
                "/api/traces",
                json={
                    "agentId": agent,
                    "userMessage": f"Question {i}: how long is the refund window?",
                    "agentResponse": "Refunds are accepted within 30 days." if i % 2 else "Refunds take 90 days.",
                    "outcome": "success",
                },
            )
            assert answer.status_code in (200, 201), answer.text
            ids.append(answer.json()["data"]["id"])
    return ids


def test_the_thinkhive_sdk_analyses_estimates_and_reads_back(hooked: Service) -> None:
    thinkhive.configure(api_key=hooked.env["API_KEY"], endpoint=hooked.base_url, max_retries=0, timeout=30)
    created = traces.create(
        agent_id="agent_sdk", user_message="Do you ship to Canada?", agent_response="Yes, we ship to Canada."
    )
    estimate = analyzer.estimate_cost(tier="fast", trace_ids=[created.id])
    assert estimate["estimatedCredits"] == 0.5 and estimate["estimated_cost"] == 0.5
    with pytest.raises(thinkhive.ThinkHiveApiError) as refused:  # no LLM provider here: a fast tier is refused
        analyzer.analyze(trace_ids=[created.id], tier="fast")
    assert refused.value.status_code == 403
    with hooked.client() as http:  # the SDK's tier names map onto ours; rule_based analyses for free
        http.post(f"{V2}/analyze", json={"traceIds": [created.id], "config": {"tier": "rule_based"}})
    analysis = analyzer.get(created.id)
    assert analysis["traceId"] == created.id and 0 <= analysis["overallScore"] <= 1
    assert analysis["tier"] == "rule_based" and "modules" in analysis


def test_an_otlp_trace_is_analysed_by_the_valiqor_family_by_trace_id(hooked: Service) -> None:
    provider = TracerProvider(resource=Resource.create({"service.name": "support-agent"}))
    exporter = OTLPSpanExporter(
        endpoint=f"{hooked.base_url}/v1/traces", headers={"authorization": f"Bearer {hooked.env['API_KEY']}"}
    )
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("test")
    with tracer.start_as_current_span("agent") as root:
        root.set_attribute("openinference.span.kind", "CHAIN")
        root.set_attribute("input.value", "How long is the refund window?")
        root.set_attribute("output.value", "You can get a refund within 60 days.")
        with tracer.start_as_current_span("retrieve") as retriever:
            retriever.set_attribute("openinference.span.kind", "RETRIEVER")
            retriever.set_attribute("retrieval.documents.0.document.content", "Refunds are accepted within 30 days.")
        trace_id = format(root.get_span_context().trace_id, "032x")
    provider.shutdown()
    with hooked.client() as http:
        submitted = http.post("/v2/failure-analysis/analyze", json={"trace_id": trace_id})
        assert submitted.status_code in (200, 202), submitted.text
        run_id = submitted.json()["run_id"]
        assert hooked.wait_completed(run_id)["status"] == "completed"
        result = http.get(f"/v2/failure-analysis/runs/{run_id}").json()
    assert result["mode"] == "full" and result["input_type"] == "trace"
    assert result["inputs"][0]["trace_id"] == trace_id
    assert result["inputs"][0]["context"] == ["Refunds are accepted within 30 days."]
    unsupported = next(t for t in result["failure_tags"] if t["subcategory_id"] == "unsupported_claim")
    assert unsupported["decision"] == "fail"


def test_generate_all_explains_only_the_agents_unexplained_traces(hooked: Service) -> None:
    ids = _create_traces(hooked, "agent_gen", 4)
    with hooked.client() as http:
        first = http.post("/api/v1/explainer/generate-all/agent_gen", params={"tier": "rule_based"}).json()["data"]
        assert first["queued"] == 4 and first["skipped"] == 0 and first["estimatedCredits"] == 0
        assert first["status"] == "completed"  # four rule_based traces: analysed inline, inside the request
        deadline = time.monotonic() + 30
        while http.get(f"{V2}/results/{first['jobId']}").json()["data"]["status"] != "completed":
            assert time.monotonic() < deadline
            time.sleep(0.05)
        listed = http.get("/api/v1/explainer/list", params={"agentId": "agent_gen"}).json()
        again = http.post("/api/v1/explainer/generate-all/agent_gen", params={"tier": "rule_based"}).json()["data"]
        small = http.post(
            f"{V2}/batch", json={"agentId": "agent_gen", "traceIds": ids[:2], "config": {"tier": "rule_based"}}
        )
    assert {row["traceId"] for row in listed["data"]} == set(ids)
    assert again["queued"] == 0 and again["skipped"] == 4
    batch = small.json()["data"]  # a small rule_based batch is answered already done, and says so
    assert small.status_code == 202 and batch["status"] == "completed"
    assert batch["progress"] == {"completed": 2, "failed": 0, "pending": 0}


def _settled(service: Service, batch_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    with service.client() as http:
        while time.monotonic() < deadline:
            rows = http.get("/api/webhooks/deliveries", params={"batchId": batch_id}).json()["data"]
            if rows and rows[0]["status"] != "pending":
                return dict(rows[0])
            time.sleep(0.1)
    raise AssertionError(f"the callback of batch {batch_id} did not settle")


def test_a_500_trace_batch_calls_back_once_signed_even_when_the_receiver_is_down_at_first(
    hooked: Service, receiver: Receiver
) -> None:
    ids = _create_traces(hooked, "agent_batch", 500)
    receiver.script = [503, 503]
    with hooked.client() as http:
        answer = http.post(
            f"{V2}/batch",
            json={
                "agentId": "agent_batch",
                "traceIds": ids,
                "config": {"tier": "rule_based", "priority": "low", "callbackUrl": receiver.url},
            },
        )
        assert answer.status_code == 202, answer.text
        batch = answer.json()["data"]
        assert (
            batch["status"] == "queued" and batch["totalTraces"] == 500 and batch["pollUrl"].endswith(batch["batchId"])
        )
        secret = http.get("/api/webhooks/secret").json()["data"]["secret"]
    delivery = _settled(hooked, batch["batchId"])
    assert delivery["status"] == "delivered" and delivery["attemptCount"] == 3
    requests = receiver.received()
    assert len(requests) == 3 and len({r.headers["webhook-id"] for r in requests}) == 1
    payload = Webhook(secret).verify(requests[-1].body, requests[-1].headers)
    assert payload["type"] == "analysis.batch.completed"
    assert payload["data"]["batchId"] == batch["batchId"] and payload["data"]["totalTraces"] == 500
    with hooked.client() as http:
        result = http.get(f"{V2}/results/{batch['batchId']}").json()["data"]
    assert result["status"] == "completed" and result["progress"] == {"completed": 500, "failed": 0, "pending": 0}
    assert sorted(r["traceId"] for r in result["results"]) == sorted(ids)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/",
        "http://10.0.0.1/",
        "http://169.254.169.254/",
        "http://[::1]/",
        "http://[::ffff:127.0.0.1]/",
    ],
)
def test_internal_callback_urls_are_refused_for_batches(service: Service, url: str) -> None:
    [trace_id] = _create_traces(service, "agent_ssrf", 1)
    with service.client() as http:
        before = http.get(f"{V2}/history").json()["data"]["summary"]["totalAnalyses"]
        answer = http.post(
            f"{V2}/batch",
            json={
                "agentId": "agent_ssrf",
                "traceIds": [trace_id],
                "config": {"tier": "rule_based", "callbackUrl": url},
            },
        )
        after = http.get(f"{V2}/history").json()["data"]["summary"]["totalAnalyses"]
    assert answer.status_code == 400, answer.text
    body = answer.json()
    assert body["code"] == "VALIDATION_ERROR" and body["error"]["field"] == "callback_url"
    assert before == after
