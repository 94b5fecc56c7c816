"""Trace ingestion against a running misstep, driven by real clients: the public `thinkhive` 4.2.2 SDK,
the `opentelemetry-sdk` OTLP/HTTP exporter with OpenInference attributes, and the `valiqor` SDK's tracer
uploading its trace.

Tenant isolation is checked twice: over HTTP with a second tenant's minted key, and at the store level
(tests/test_trace_store.py: another tenant sees nothing through any read).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import thinkhive
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from redis.asyncio import Redis
from thinkhive.api import traces
from valiqor.trace.tracer import TracerV2

from tests.conftest import Service
from workers.keys import KeyStore

pytestmark = [pytest.mark.integration, pytest.mark.sdk]


@pytest.fixture
def sdk(service: Service) -> Iterator[None]:
    thinkhive.configure(api_key=service.env["API_KEY"], endpoint=service.base_url, max_retries=0, timeout=10)
    yield


def _agent() -> str:
    return f"agent-{uuid.uuid4().hex[:8]}"


def test_thinkhive_sdk_creates_reads_and_lists_traces(sdk: None) -> None:
    agent = _agent()
    created = traces.create(
        agent_id=agent,
        user_message="What is the refund window?",
        agent_response="Refunds are accepted within 30 days.",
        outcome="success",
        session_id="sess-1",
        conversation_history=[{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"}],
        custom_flags=["retrieval_miss"],
        duration=420,
        metadata={"channel": "web"},
        business_context={"plan": "enterprise"},
        run_evaluation=True,
    )
    assert created.id.startswith("tr_") and created.agent_id == agent and created.company_id == "default"
    assert created.user_message == "What is the refund window?" and created.outcome == "success"
    assert created.evaluation_queued is False and created.created_at.endswith("Z")

    stored = traces.get_by_id(created.id)
    assert stored["id"] == created.id and stored["agentId"] == agent and stored["sessionId"] == "sess-1"
    assert stored["agentResponse"] == "Refunds are accepted within 30 days."
    assert stored["conversationHistory"][1] == {"role": "assistant", "content": "Hello!"}
    assert stored["customFlags"] == ["retrieval_miss"] and stored["duration"] == 420
    assert stored["metadata"] == {"channel": "web", "businessContext": {"plan": "enterprise"}, "runEvaluation": True}

    second = traces.create(agent_id=agent, user_message="Q2", agent_response="A2", outcome="failure")
    newest = traces.list_for_agent(agent, limit=1)
    assert [t["id"] for t in newest] == [second.id] and "spans" not in newest[0]
    assert [t["id"] for t in traces.list_for_agent(agent, limit=10, offset=1)] == [created.id]
    assert [t["id"] for t in traces.list_for_agent(agent, outcome="failure")] == [second.id]


def test_a_missing_trace_is_trace_not_found_naming_the_resource(service: Service, sdk: None) -> None:
    with pytest.raises(thinkhive.NotFoundError) as caught:
        traces.get_by_id("tr_does_not_exist")
    assert caught.value.status_code == 404 and "tr_does_not_exist" in caught.value.message
    with service.client() as http:
        body = http.get("/api/v1/traces/tr_does_not_exist").json()
    assert body["code"] == "TRACE_NOT_FOUND"
    assert body["error"]["resourceType"] == "trace" and body["error"]["resourceId"] == "tr_does_not_exist"


def test_an_oversized_field_is_refused_naming_it_and_nothing_is_stored(service: Service, sdk: None) -> None:
    agent = _agent()
    with pytest.raises(thinkhive.ThinkHiveApiError) as caught:
        traces.create(agent_id=agent, user_message="x" * 200_001, agent_response="a")
    assert caught.value.status_code == 400 and "userMessage" in caught.value.message
    assert traces.list_for_agent(agent) == []
    with service.client() as http:
        answer = http.post("/api/traces", json={"agentId": agent, "userMessage": 5, "agentResponse": "a"})
    body = answer.json()
    assert answer.status_code == 400 and body["code"] == "VALIDATION_ERROR" and "userMessage" in body["message"]


def test_list_query_is_validated_and_paginated(service: Service) -> None:
    agent = _agent()
    with service.client() as http:
        for n in range(3):
            http.post("/api/v1/traces", json={"agentId": agent, "userMessage": f"q{n}", "agentResponse": "a"})
        page = http.get("/api/traces", params={"agentId": agent, "limit": 2, "offset": 0}).json()
        too_many = http.get("/api/traces", params={"limit": 101})
    assert page["success"] is True and [t["userMessage"] for t in page["data"]] == ["q2", "q1"]
    assert page["pagination"] == {"total": 3, "limit": 2, "offset": 0, "hasMore": True}
    assert too_many.status_code == 400 and too_many.json()["error"]["field"] == "limit"


def test_thinkhive_2_0_0_body_keys_are_accepted_under_api_v1(service: Service) -> None:
    body = {
        "userMessage": "Where is my order?",
        "agentResponse": "It ships tomorrow.",
        "agentId": _agent(),
        "timestamp": "2026-01-01T00:00:00",
        "sessionId": None,
        "conversationId": "conv-1",
        "latencyMs": 812.4,
        "tokenCount": 77,
        "modelVersion": "gpt-4o-2024-08-06",
        "retrievedContexts": ["Orders ship within 2 days.", {"content": "Tracking is emailed.", "score": 0.4}],
        "error": None,
    }
    with service.client() as http:
        answer = http.post("/api/v1/traces", json=body)
        assert answer.status_code == 201
        trace_id = answer.json()["traceId"]
        stored = http.get(f"/api/v1/traces/{trace_id}").json()["data"]
    assert answer.json()["data"]["id"] == trace_id
    assert stored["conversationId"] == "conv-1" and stored["durationMs"] == 812
    assert stored["model"] == "gpt-4o-2024-08-06" and stored["createdAt"] == "2026-01-01T00:00:00"
    assert [d["content"] for d in stored["retrievedDocuments"]] == [
        "Orders ship within 2 days.",
        "Tracking is emailed.",
    ]
    assert stored["metadata"] == {"tokenCount": 77}


def test_otlp_export_lands_as_a_trace_readable_through_the_thinkhive_api(service: Service, sdk: None) -> None:
    service_name = f"otel-{uuid.uuid4().hex[:8]}"
    exporter = OTLPSpanExporter(
        endpoint=f"{service.base_url}/v1/traces",
        headers={"authorization": f"Bearer {service.env['API_KEY']}"},
        compression=Compression.Gzip,
    )
    provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))  # one export per span: merged server-side
    tracer = provider.get_tracer("rag-app")
    with tracer.start_as_current_span("answer") as llm:
        llm.set_attributes(
            {
                "openinference.span.kind": "LLM",
                "llm.model_name": "gpt-4o-mini",
                "session.id": "otel-session",
                "llm.input_messages.0.message.role": "system",
                "llm.input_messages.0.message.content": "Answer from the documents.",
                "llm.input_messages.1.message.role": "user",
                "llm.input_messages.1.message.content": "How long do I have to ask for a refund?",
                "llm.output_messages.0.message.role": "assistant",
                "llm.output_messages.0.message.content": "You have 30 days to ask for a refund.",
            }
        )
        with tracer.start_as_current_span("retrieve") as retriever:
            retriever.set_attributes(
                {
                    "openinference.span.kind": "RETRIEVER",
                    "retrieval.documents.0.document.id": "kb-1",
                    "retrieval.documents.0.document.score": 0.9,
                    "retrieval.documents.0.document.content": "Refunds are accepted within 30 days of purchase.",
                }
            )
    provider.shutdown()

    [listed] = traces.list_for_agent(service_name)  # agent id falls back to the resource's service.name
    stored = traces.get_by_id(listed["id"])
    assert stored["source"] == "otlp" and stored["sessionId"] == "otel-session"
    assert stored["userMessage"] == "How long do I have to ask for a refund?"
    assert stored["agentResponse"] == "You have 30 days to ask for a refund."
    assert stored["systemPrompt"] == "Answer from the documents." and stored["model"] == "gpt-4o-mini"
    assert stored["retrievedDocuments"] == [
        {"id": "kb-1", "content": "Refunds are accepted within 30 days of purchase.", "source": None, "score": 0.9}
    ]
    assert [(s["kind"], s["name"]) for s in stored["spans"]] == [("LLM", "answer"), ("RETRIEVER", "retrieve")]


OTLP_JSON = {
    "resourceSpans": [
        {
            "resource": {"attributes": [{"key": "agent.id", "value": {"stringValue": "json-agent"}}]},
            "scopeSpans": [
                {
                    "spans": [
                        {
                            "traceId": "",
                            "spanId": "00f067aa0ba902b7",
                            "name": "llm",
                            "startTimeUnixNano": "1700000000000000000",
                            "endTimeUnixNano": "1700000000250000000",
                            "attributes": [
                                {"key": "openinference.span.kind", "value": {"stringValue": "LLM"}},
                                {"key": "input.value", "value": {"stringValue": "Ping?"}},
                                {"key": "output.value", "value": {"stringValue": "Pong."}},
                            ],
                        }
                    ]
                }
            ],
        }
    ]
}


def test_otlp_json_answers_in_json_and_bad_requests_are_refused(service: Service) -> None:
    trace_id = uuid.uuid4().hex
    document = json.loads(json.dumps(OTLP_JSON))
    document["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["traceId"] = trace_id
    with service.client() as http:
        answer = http.post("/v1/traces", content=json.dumps(document), headers={"content-type": "application/json"})
        assert answer.status_code == 200 and answer.json() == {}
        assert answer.headers["content-type"].startswith("application/json")
        stored = http.get(f"/api/traces/{trace_id}").json()["data"]
        assert (stored["agentId"], stored["userMessage"], stored["agentResponse"]) == ("json-agent", "Ping?", "Pong.")

        wrong_type = http.post("/v1/traces", content=b"hello", headers={"content-type": "text/plain"})
        assert wrong_type.status_code == 415 and wrong_type.json()["code"] == "UNSUPPORTED_MEDIA_TYPE"
        garbage = http.post("/v1/traces", content=b"\xff\xff\xff", headers={"content-type": "application/x-protobuf"})
        assert garbage.status_code == 400 and "protobuf" in garbage.json()["message"]
        big_id = uuid.uuid4().hex
        span = document["resourceSpans"][0]["scopeSpans"][0]["spans"][0]
        spans = [dict(span, traceId=big_id, spanId=f"{n + 1:016x}") for n in range(1001)]  # MAX_TRACE_SPANS 1000
        document["resourceSpans"][0]["scopeSpans"][0]["spans"] = spans
        too_many = http.post("/v1/traces", content=json.dumps(document), headers={"content-type": "application/json"})
        assert too_many.status_code == 400 and too_many.json()["error"]["field"] == "spans"
        assert too_many.json()["error"]["traceId"] == big_id and "MAX_TRACE_SPANS" in too_many.json()["message"]
        assert http.get(f"/api/traces/{big_id}").status_code == 404
    anonymous = service.client()
    anonymous.headers.pop("Authorization")
    with anonymous:
        assert (
            anonymous.post("/v1/traces", content=b"", headers={"content-type": "application/json"}).status_code == 401
        )


def _valiqor_trace(service: Service, trace_dir: Path) -> dict[str, Any]:
    tracer = TracerV2(
        trace_dir=str(trace_dir),
        backend_url=f"{service.base_url}/api/v1/traces/upload",
        api_key=service.env["API_KEY"],
        project_name="upload-suite",
    )
    tracer.start_trace("rag", {"user_query": "What is the refund window?"}, session_id="vq-session")
    span = tracer.create_span("retrieve_docs")
    tracer.log_extra(
        {
            "retrieval": {
                "query": "refund",
                "retriever_type": "bm25",
                "hits": [
                    {
                        "doc_id": "policy",
                        "rank": 1,
                        "score": 0.9,
                        "snippet_preview": "Refunds within 30 days.",
                        "metadata": {"source": "policy.md"},
                    }
                ],
            }
        }
    )
    span.finish()
    tracer.add_message({"type": "ai", "content": "", "tool_calls": [{"id": "c1", "name": "lookup", "args": {"id": 7}}]})
    tracer.add_message({"type": "tool", "name": "lookup", "tool_call_id": "c1", "content": "order 7: shipped"})
    tracer.add_message({"type": "ai", "content": "You can get a refund within 30 days."})
    return tracer.end_trace({"answer": "done"})


def test_valiqor_tracer_upload_is_stored_and_readable(service: Service, tmp_path: Path) -> None:
    uploaded = _valiqor_trace(service, tmp_path)  # TracerV2 POSTs it to /api/v1/traces/upload itself
    trace_id = uploaded["metadata"]["trace_id"]
    with service.client() as http:
        stored = http.get(f"/api/traces/{trace_id}").json()["data"]
        refused = http.post("/api/v1/traces/upload", json={"project_name": "p"})
        direct = http.post("/api/v1/traces/upload", json={"trace": uploaded, "project_name": "again"})
    assert stored["source"] == "upload" and stored["projectName"] == "upload-suite"
    assert stored["userMessage"] == "What is the refund window?"
    assert stored["agentResponse"] == "You can get a refund within 30 days."
    assert stored["sessionId"] == "vq-session" and stored["outcome"] == "success"
    assert [(d["id"], d["content"], d["source"]) for d in stored["retrievedDocuments"]] == [
        ("policy", "Refunds within 30 days.", "policy.md")
    ]
    assert stored["toolCalls"] == [{"id": "c1", "name": "lookup", "arguments": {"id": 7}, "output": "order 7: shipped"}]
    assert refused.status_code == 400 and "trace" in refused.json()["detail"]  # the Valiqor error shape
    assert direct.status_code == 201 and direct.json() == {
        "trace_id": trace_id,
        "status": "stored",
        "project_name": "again",
    }


async def test_another_tenant_cannot_read_or_list_the_trace(service: Service) -> None:
    """A second tenant's key (minted like `misstep keys create` does) sees a 404 and an empty list."""
    redis = Redis.from_url(service.env["REDIS_URL"])
    try:
        other_key, _ = await KeyStore(redis).create(f"tenant-b-{uuid.uuid4().hex[:6]}")
    finally:
        await redis.aclose()
    agent = _agent()
    with service.client() as http:
        trace_id = http.post("/api/traces", json={"agentId": agent, "userMessage": "q", "agentResponse": "a"}).json()[
            "data"
        ]["id"]
    with httpx.Client(base_url=service.base_url, headers={"Authorization": f"Bearer {other_key}"}) as other:
        missing = other.get(f"/api/traces/{trace_id}")
        assert missing.status_code == 404 and missing.json()["code"] == "TRACE_NOT_FOUND"
        assert other.get("/api/traces", params={"agentId": agent}).json()["data"] == []
        own = other.post(
            "/api/traces", json={"traceId": trace_id, "agentId": agent, "userMessage": "mine", "agentResponse": "b"}
        )
        assert own.status_code == 201 and own.json()["data"]["companyId"] != "default"
    with service.client() as http:  # the same id in another tenant overwrote nothing here
        assert http.get(f"/api/traces/{trace_id}").json()["data"]["userMessage"] == "q"
