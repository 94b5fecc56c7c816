"""ThinkHive Explainer v1 and Analyzer v2 against a running misstep (rule_based tier; no LLM configured)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tests.conftest import Service

pytestmark = pytest.mark.integration

DOC = (
    "Enterprise Refund Policy: All enterprise subscriptions are eligible for a full refund within 30 calendar days "
    "of the billing date. Refund requests must be submitted through your designated account manager."
)
SEED = {
    "traces": [
        {
            "traceId": "tr_abc123",
            "userMessage": "What is the refund policy for enterprise plans?",
            "agentResponse": "Enterprise plans have a 30-day refund policy. Contact your account manager to initiate a "
            "refund request within the first 30 days of your billing cycle.",
            "outcome": "success",
            "retrievedDocuments": [{"content": DOC, "source": "knowledge-base/billing/enterprise.md", "score": 0.94}],
            "metadata": {"model": "gpt-4o", "agentId": "agent_support_01", "customerId": "cust_ent_500"},
        }
    ],
    "options": {
        "tier": "rule_based",
        "includeRagEvaluation": True,
        "includeHallucinationDetection": True,
        "includeBusinessImpact": True,
        "includeCounterfactuals": False,
    },
}
API = "/api/v1/explainer"
V2 = "/api/v2/analyzer"


def _variant(trace_id: str, days: int) -> dict[str, Any]:
    body = copy.deepcopy(SEED)
    trace = body["traces"][0]
    trace["traceId"] = trace_id
    trace["agentResponse"] = trace["agentResponse"].replace("30", str(days))
    return body


def _error(answer: Any, status: int, code: str) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    body = answer.json()
    assert body["success"] is False and body["code"] == code and body["error"]["code"] == code
    assert isinstance(body["message"], str) and body["message"] == body["error"]["message"]
    return body


def test_the_seed_explainer_example_answers_the_seed_shape_with_high_groundedness(service: Service) -> None:
    with service.client() as http:
        answer = http.post(f"{API}/analyze", json=SEED)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["success"] is True
    data = body["data"]
    [result] = data["results"]
    assert result["traceId"] == "tr_abc123"
    analysis = result["analysis"]
    assert set(analysis) >= {
        "overallScore",
        "outcome",
        "ragEvaluation",
        "hallucinationReport",
        "businessImpact",
        "insights",
    }
    rag = analysis["ragEvaluation"]
    assert set(rag) == {"groundedness", "faithfulness", "citationAccuracy", "contextRelevance", "answerRelevance"}
    assert rag["groundedness"] >= 0.8 and rag["faithfulness"] == 1.0
    assert analysis["hallucinationReport"] == {
        "detected": False,
        "hallucinations": [],
        "confidence": pytest.approx(analysis["hallucinationReport"]["confidence"]),
    }
    assert analysis["businessImpact"]["category"] == "billing_inquiry"
    assert analysis["outcome"] == "success" and analysis["overallScore"] >= 0.8
    assert result["creditsUsed"] == 0
    assert data["summary"] == {"totalAnalyzed": 1, "avgScore": analysis["overallScore"], "totalCreditsUsed": 0}


def test_a_sixty_day_answer_is_reported_as_a_hallucination_naming_the_claim(service: Service) -> None:
    with service.client() as http:
        data = http.post(f"{API}/analyze", json=_variant("tr_sixty", 60)).json()["data"]
    report = data["results"][0]["analysis"]["hallucinationReport"]
    assert report["detected"] is True
    claims = [h["claim"] for h in report["hallucinations"]]
    assert any("60-day refund" in claim for claim in claims), claims
    assert report["hallucinations"][0]["severity"] in ("medium", "high", "critical")
    assert data["results"][0]["analysis"]["overallScore"] < 0.8


def test_stored_explanations_can_be_read_listed_and_filtered(service: Service) -> None:
    with service.client() as http:
        http.post(f"{API}/analyze", json=_variant("tr_list_good", 30))
        http.post(f"{API}/analyze", json=_variant("tr_list_bad", 90))
        stored = http.get(f"{API}/trace/tr_list_good").json()["data"]
        legacy = http.get(f"{API}/tr_list_good").json()["data"]
        everything = http.get(f"{API}/list", params={"agentId": "agent_support_01", "limit": 100}).json()
        good = http.get(f"{API}/list", params={"agentId": "agent_support_01", "minScore": 0.8, "limit": 100}).json()
        paged = http.get(f"{API}/list", params={"agentId": "agent_support_01", "limit": 1}).json()
        missing = http.get(f"{API}/trace/tr_never")
    assert stored == legacy
    explanation = stored["explanation"]
    assert stored["traceId"] == "tr_list_good" and explanation["tier"] == "rule_based"
    assert explanation["generatedAt"] < explanation["expiresAt"]
    assert set(explanation["ragMetrics"]) >= {"groundedness", "faithfulness", "citationAccuracy", "contextRelevance"}
    ids = [row["traceId"] for row in everything["data"]]
    assert {"tr_list_good", "tr_list_bad"} <= set(ids)
    assert "tr_list_good" in {row["traceId"] for row in good["data"]}
    assert "tr_list_bad" not in {row["traceId"] for row in good["data"]}
    assert all(row["qualityScore"] >= 0.8 for row in good["data"])
    assert paged["pagination"]["limit"] == 1 and paged["pagination"]["hasMore"] is True
    assert paged["pagination"]["total"] == everything["pagination"]["total"] >= 2
    _error(missing, 404, "TRACE_NOT_FOUND")


def test_analyzer_estimates_always_and_a_dry_run_runs_nothing(service: Service) -> None:
    body = {
        "traces": [dict(SEED["traces"][0], traceId="tr_dry")],
        "config": {"tier": "full_llm", "modules": ["rag_evaluation"], "dryRun": True},
    }
    with service.client() as http:
        before = http.get(f"{V2}/history", params={"limit": 100}).json()["data"]["summary"]["totalAnalyses"]
        dry = http.post(f"{V2}/analyze", json=body)
        after = http.get(f"{V2}/history", params={"limit": 100}).json()["data"]["summary"]["totalAnalyses"]
        never_stored = http.get(f"{V2}/tr_dry")
    assert dry.status_code == 200, dry.text
    estimate = dry.json()["data"]["costEstimate"]
    assert estimate["totalCredits"] == 1 and sum(estimate["breakdown"].values()) == pytest.approx(1)
    assert dry.json()["data"]["creditsUsed"] == 0
    assert before == after
    _error(never_stored, 404, "TRACE_NOT_FOUND")


def test_analyzer_analyses_stored_traces_by_id_and_keeps_history(service: Service) -> None:
    with service.client() as http:
        http.post(f"{API}/analyze", json=_variant("tr_v2", 30))  # stores the trace
        answer = http.post(
            f"{V2}/analyze", json={"traceIds": ["tr_v2"], "options": {"tier": None, "includeRootCause": True}}
        )
        assert answer.status_code == 200, answer.text
        data = answer.json()["data"]
        fetched = http.get(f"{V2}/results/{data['id']}").json()["data"]
        by_trace = http.get(f"{V2}/tr_v2").json()["data"]
        estimate = http.post(f"{V2}/estimate-cost", json={"tier": "fast", "traceIds": ["tr_v2"]}).json()["data"]
        history = http.get(f"{V2}/history", params={"agentId": "agent_support_01", "tier": "rule_based"}).json()["data"]
        windows = {  # the SDK sends datetime.isoformat(): naive or with any offset
            when: http.get(f"{V2}/history", params={"agentId": "agent_support_01", "startDate": when}).json()
            for when in ("2020-01-01", "2020-01-01T00:00:00-05:00", "2999-01-01T00:00:00+00:00")
        }
        bad_date = http.get(f"{V2}/history", params={"startDate": "last tuesday"})
        unknown = http.post(f"{V2}/analyze", json={"traceIds": ["tr_v2", "tr_nope"]})
    assert data["status"] == "completed" and data["costEstimate"]["totalCredits"] == 0
    [result] = data["results"]
    assert result["traceId"] == "tr_v2" and set(result["modules"]) >= {"ragEvaluation", "hallucinationDetection"}
    assert fetched["results"] == data["results"] and fetched["traceCount"] == 1
    assert by_trace["traceId"] == "tr_v2" and by_trace["analysisId"] == data["id"]
    assert estimate["tier"] == "fast_llm" and estimate["estimatedCredits"] == 0.5 and estimate["estimated_cost"] == 0.5
    assert data["id"] in {row["id"] for row in history["analyses"]}
    assert history["summary"]["totalAnalyses"] >= 1
    found = {when: {row["id"] for row in answer["data"]["analyses"]} for when, answer in windows.items()}
    assert data["id"] in found["2020-01-01"] and data["id"] in found["2020-01-01T00:00:00-05:00"]
    assert not found["2999-01-01T00:00:00+00:00"]
    assert _error(bad_date, 400, "VALIDATION_ERROR")["error"]["field"] == "startDate"
    body = _error(unknown, 404, "TRACE_NOT_FOUND")
    assert body["error"]["resourceId"] == "tr_nope"


def test_thinkhive_errors_use_the_envelope_and_name_the_field(service: Service) -> None:
    with service.client() as http:
        missing_field = http.post(f"{API}/analyze", json={"traces": [{"agentResponse": "hi"}]})
        bad_tier = http.post(f"{API}/analyze", json={**SEED, "options": {"tier": "ultra"}})
        no_llm = http.post(f"{API}/analyze", json={**SEED, "options": {"tier": "full_llm"}})
        too_many = http.post(f"{V2}/batch", json={"agentId": "a", "traceIds": [f"t{i}" for i in range(501)]})
        unauthorised = http.get(f"{V2}/history", headers={"Authorization": "Bearer wrong"})
    assert "userMessage" in _error(missing_field, 400, "VALIDATION_ERROR")["message"]
    assert _error(bad_tier, 400, "VALIDATION_ERROR")["error"]["field"] == "options.tier"
    _error(no_llm, 403, "TIER_NOT_AVAILABLE")
    assert _error(too_many, 400, "BATCH_TOO_LARGE")["error"]["maxAllowed"] == 500
    _error(unauthorised, 401, "UNAUTHORIZED")
