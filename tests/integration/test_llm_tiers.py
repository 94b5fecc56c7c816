"""LLM tiers end to end: real API and worker processes judging through the real OpenAI SDK.

The judge is tests/llm_server.LLMServer on loopback, scripted per test: it answers every subcategory the
judge asks about, failing `fabricated_fact` when the judged output mentions "Berlin", and counts calls.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from tests.conftest import Service, start_service
from tests.llm_server import Fault, LLMServer, RecordedCall

pytestmark = pytest.mark.integration

SERVER_KEY = "sk-server-key-0123456789"
OWN_KEY = "sk-own-key-REQUEST-ONLY-5f2a9c"
DATASET = [
    {"input": "What is the capital of France?", "output": "The capital of France is Berlin."},
    {"input": "What is 2 + 2?", "output": "2 + 2 is 4."},
    {"input": "Name a primary colour.", "output": "Red is a primary colour."},
    {"input": "Who wrote Hamlet?", "output": "Shakespeare wrote Hamlet."},
]
RAG = [
    {
        "input": "How long is the refund window?",
        "output": "You can get a refund within 60 days.",
        "context": ["Refunds are accepted within 30 days of purchase."],
    },
    {
        "input": "Do you ship to Canada?",
        "output": "Yes, we ship to Canada.",
        "context": ["We ship to the US, Canada and Mexico."],
    },
]


def _asked_ids(call: RecordedCall) -> list[str]:
    schema = json.dumps(call.schema or {})
    match = re.search(r'"subcategory": \{[^{}]*"enum": \[([^\]]*)\]', schema)
    return json.loads(f"[{match.group(1)}]") if match else []


def scripted(call: RecordedCall) -> str:
    """Verdicts for every asked subcategory; claims for a claims call."""
    if call.schema and "claims" in call.schema.get("properties", {}):
        supported = "60 days" not in call.user
        claim = {
            "claim": "The refund window is 60 days." if not supported else "The answer is supported.",
            "verdict": "supported" if supported else "contradicted",
            "context_index": 0,
            "context_snippet": "Refunds are accepted within 30 days of purchase.",
        }
        return json.dumps({"claims": [claim]})
    berlin = "Berlin" in call.user
    verdicts = []
    for sub in _asked_ids(call):
        fail = sub == "fabricated_fact" and berlin
        verdicts.append(
            {
                "subcategory": sub,
                "decision": "fail" if fail else "pass",
                "severity": 4.0 if fail else 0.0,
                "confidence": 0.9,
                "rationale": "Paris is the capital of France." if fail else "Nothing wrong.",
                "evidence": "Berlin" if fail else "",
                "counterfactual": "",
            }
        )
    return json.dumps({"verdicts": verdicts, "root_cause": ""})


@pytest.fixture(scope="module")
def judge_server() -> Iterator[LLMServer]:
    with LLMServer(scripted) as server:
        yield server


@pytest.fixture(scope="module")
def llm_service(redis_url: str, judge_server: LLMServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    running = start_service(
        redis_url,
        tmp_path_factory.mktemp("llm-service"),
        API_KEY="vq_test_llm_0123456789",
        LLM_PROVIDER="openai",
        LLM_MODEL="gpt-4o-mini",
        LLM_BASE_URL=judge_server.openai_base_url,
        LLM_API_KEY=SERVER_KEY,
        LLM_TIMEOUT_S="1",
        LLM_MAX_RETRIES="1",
    )
    yield running
    running.stop()


@pytest.fixture
def server(judge_server: LLMServer) -> Iterator[LLMServer]:
    judge_server.reset()
    judge_server.responder = scripted
    yield judge_server
    judge_server.reset()


def _run(service: Service, body: dict[str, Any]) -> dict[str, Any]:
    with service.client() as http:
        submitted = http.post("/v2/failure-analysis/analyze", json=body)
        assert submitted.status_code == 202, submitted.text
        run_id = submitted.json()["run_id"]
        status = service.wait_completed(run_id, timeout_s=60)
        assert status["status"] == "completed", status
        return http.get(f"/v2/failure-analysis/runs/{run_id}").json()


def _decisions(result: dict[str, Any]) -> list[tuple[int, str, str, float, float, str]]:
    return sorted(
        (t["item_index"], t["subcategory_id"], t["decision"], t["severity"], t["confidence"], t["detector_type_used"])
        for t in result["failure_tags"]
    )


def test_fast_llm_makes_one_call_per_item_and_a_rerun_makes_none(llm_service: Service, server: LLMServer) -> None:
    body = {"dataset": DATASET, "tier": "fast_llm", "feature_kind": "generic_llm"}
    first = _run(llm_service, body)
    assert len(server.calls) == len(DATASET)
    assert first["judge_calls"] == len(DATASET)
    assert first["tokens_used"] == server.input_tokens + server.output_tokens > 0
    assert first["input_tokens"] == server.input_tokens
    assert first["cost_usd"] > 0
    assert first["credits_used"] == 0.5 * len(DATASET)
    assert first["tier"] == "fast_llm" and first["llm_model"] == "gpt-4o-mini"
    assert all(call.body.get("temperature") == 0 for call in server.calls)
    assert all(call.headers["authorization"] == f"Bearer {SERVER_KEY}" for call in server.calls)
    fabricated = {t["item_index"]: t for t in first["failure_tags"] if t["subcategory_id"] == "fabricated_fact"}
    assert fabricated[0]["decision"] == "fail" and fabricated[0]["detector_type_used"] == "llm_judge"
    assert fabricated[0]["judge_rationale"]
    assert fabricated[0]["scoring_breakdown"]["judge_weight"] == 1.0
    assert {fabricated[i]["decision"] for i in (1, 2, 3)} == {"pass"}
    hybrid = [t for t in first["failure_tags"] if t["detector_type_used"] == "hybrid"]
    assert hybrid, "hybrid subcategories combine both signals"
    for tag in hybrid:
        weights = tag["scoring_breakdown"]
        assert weights["deterministic_weight"] > 0 and weights["judge_weight"] > 0

    calls_before = len(server.calls)
    second = _run(llm_service, body)
    assert len(server.calls) == calls_before, "the judge cache answers a re-analysis"
    assert second["judge_calls"] == 0 and second["judge_cache_hits"] == len(DATASET)
    assert second["tokens_used"] == 0 and second["cost_usd"] == 0.0
    assert _decisions(second) == _decisions(first)


def test_full_llm_adds_one_claims_call_and_names_the_contradicted_claim(
    llm_service: Service, server: LLMServer
) -> None:
    result = _run(llm_service, {"dataset": RAG, "tier": "full_llm", "feature_kind": "rag"})
    assert len(server.calls) == result["judge_calls"] <= 2 * len(RAG)
    assert len(server.calls) == 2 * len(RAG)  # both items have context: judge call + claims call
    claims = [
        ev
        for t in result["failure_tags"]
        if t["item_index"] == 0 and t["subcategory_id"] == "unsupported_claim"
        for ev in t["evidence_items"]
        if ev["evidence_type"].startswith("claim_")
    ]
    assert any(ev["evidence_type"] == "claim_contradicted" and "60 days" in ev["description"] for ev in claims)
    unsupported = next(
        t for t in result["failure_tags"] if t["item_index"] == 0 and t["subcategory_id"] == "unsupported_claim"
    )
    assert unsupported["decision"] == "fail"
    assert result["credits_used"] == 1.0 * len(RAG)


@pytest.mark.parametrize(
    ("faults", "expect_unsure", "reason_word", "calls"),
    [
        ([Fault.malformed(), Fault.malformed()], True, "invalid", 2),  # answer and repair attempt both invalid
        ([Fault.malformed()], False, "", 2),  # the repair attempt fixes it
        ([Fault.truncated(), Fault.truncated()], True, "invalid", 2),
        ([Fault.status(429, retry_after=1)], False, "", 2),  # retried after Retry-After, then fine
        ([Fault.delay(3.0), Fault.delay(3.0)], True, "unavailable", 2),  # slower than LLM_TIMEOUT_S, twice
        ([Fault.status(500), Fault.status(500)], True, "unavailable", 2),
    ],
    ids=["malformed", "repaired", "truncated", "429", "timeouts", "5xx"],
)
def test_a_misbehaving_judge_never_fails_the_run(
    llm_service: Service,
    server: LLMServer,
    faults: list[Fault],
    expect_unsure: bool,
    reason_word: str,
    calls: int,
    request: pytest.FixtureRequest,
) -> None:
    server.inject(*faults)
    item = {"input": f"Question for {request.node.callspec.id}?", "output": "An answer that mentions Berlin."}
    result = _run(llm_service, {"dataset": [item], "tier": "fast_llm", "feature_kind": "generic_llm"})
    assert result["status"] == "completed" and result["error"] is None
    assert len(server.calls) == calls
    judge_only = [t for t in result["failure_tags"] if t["detector_type_used"] == "llm_judge"]
    assert judge_only
    if expect_unsure:
        assert {t["decision"] for t in judge_only} == {"unsure"}
        assert all(reason_word in (t["judge_rationale"] or "") for t in judge_only)
        assert all(t["confidence"] == 0 for t in judge_only)
    else:
        fabricated = next(t for t in judge_only if t["subcategory_id"] == "fabricated_fact")
        assert fabricated["decision"] == "fail"


def test_unusable_provider_fails_the_run_with_a_clear_reason(llm_service: Service, server: LLMServer) -> None:
    server.inject(*[Fault.status(401)] * 8)
    with llm_service.client() as http:
        run_id = http.post(
            "/v2/failure-analysis/analyze",
            json={"dataset": [{"input": "Never judged before?", "output": "No."}], "tier": "fast_llm"},
        ).json()["run_id"]
        status = llm_service.wait_completed(run_id)
    assert status["status"] == "failed"
    assert len(server.calls) == 1, "a refused key is not retried"
    assert "API key" in json.dumps(status)
    assert SERVER_KEY not in json.dumps(status)


def _redis_dump(url: str) -> str:
    """Every key and value in the Redis database, as text."""
    client = redis.Redis.from_url(url)
    parts: list[str] = []
    for key in client.scan_iter(count=1000):
        kind = client.type(key).decode()
        parts.append(key.decode(errors="replace"))
        if kind == "string":
            parts.append(repr(client.get(key)))
        elif kind == "hash":
            parts.append(repr(client.hgetall(key)))
        elif kind == "list":
            parts.append(repr(client.lrange(key, 0, -1)))
        elif kind == "set":
            parts.append(repr(client.smembers(key)))
        elif kind == "zset":
            parts.append(repr(client.zrange(key, 0, -1)))
        elif kind == "stream":
            parts.append(repr(client.xrange(key)))
    client.close()
    return "\n".join(parts)


def test_a_requests_own_key_reaches_the_provider_and_is_stored_nowhere(
    llm_service: Service, server: LLMServer, redis_url: str
) -> None:
    body = {"dataset": DATASET[:2], "tier": "fast_llm", "feature_kind": "generic_llm", "openai_api_key": OWN_KEY}
    body["dataset"] = [dict(item, input=item["input"] + " (own key)") for item in body["dataset"]]  # no cache hit
    result = _run(llm_service, body)
    assert len(server.calls) == 2
    assert {call.headers["authorization"] for call in server.calls} == {f"Bearer {OWN_KEY}"}
    assert result["judge_calls"] == 2
    assert OWN_KEY not in json.dumps(result)
    assert OWN_KEY not in _redis_dump(redis_url)
    assert OWN_KEY not in llm_service.log_text()
    assert OWN_KEY[-12:] not in llm_service.log_text()


def test_llm_tier_without_a_provider_is_refused(service: Service) -> None:
    with service.client() as http:
        answer = http.post("/v2/failure-analysis/analyze", json={"dataset": DATASET[:1], "tier": "full_llm"})
    assert answer.status_code == 403
    assert "LLM_PROVIDER" in answer.json()["detail"]


def test_workers_logs_name_the_judge(llm_service: Service) -> None:
    logs = [
        json.loads(line)
        for p in Path(llm_service.logs).glob("worker-*.log")
        for line in p.read_text().splitlines()
        if line.startswith("{")
    ]
    started = [entry for entry in logs if entry.get("event") == "worker.started"]
    assert started and started[0]["llm_provider"] == "openai" and started[0]["llm_model"] == "gpt-4o-mini"
