"""The public `valiqor` SDK (PyPI 0.0.21), unmodified, against a running misstep."""

from __future__ import annotations

import pytest
from valiqor.failure_analysis import ValiqorFAClient

from tests.conftest import Service

pytestmark = [pytest.mark.integration, pytest.mark.sdk]

DATASET = [
    {
        "input": "What is the capital of France?",
        "output": "The capital of France is Berlin.",
        "context": ["France is a country in Western Europe. Its capital is Paris."],
    },
    {
        "input": "What is the capital of France?",
        "output": "The capital of France is Paris.",
        "context": ["France is a country in Western Europe. Its capital is Paris."],
    },
]


@pytest.fixture
def client(service: Service) -> ValiqorFAClient:
    return ValiqorFAClient(api_key=service.env["API_KEY"], base_url=service.base_url, project_name="sdk-suite")


def test_run_goes_through_202_and_polling_and_returns_a_populated_result(client: ValiqorFAClient) -> None:
    result = client.run(dataset=DATASET, feature_kind="rag")
    assert result.status == "completed" and result.run_id
    assert result.summary.total_items == 2 and result.summary.items_with_failures == 1
    fail = next(t for t in result.failure_tags if t.decision == "fail")
    assert fail.bucket_id == "hallucination_grounding" and fail.item_index == 0
    assert any("Berlin" in (ev.content_snippet or "") for ev in fail.evidence_items)
    assert fail.scoring_breakdown.deterministic_weight == 1.0
    assert len(result.inputs) == 2 and result.inputs[0].failure_count >= 1


def test_read_methods_return_populated_objects(client: ValiqorFAClient) -> None:
    run_id = client.run(dataset=DATASET).run_id
    run = client.get_run(run_id)
    assert run.run_id == run_id and run.failure_tags
    inputs = client.get_run_inputs(run_id)
    assert [i.item_index for i in inputs] == [0, 1] and inputs[1].output_text.endswith("Paris.")
    fails = client.get_tags(run_id, decision="fail", bucket_id="hallucination_grounding", min_severity=2.5)
    assert fails and all(t.decision == "fail" and t.severity >= 2.5 for t in fails)
    page = client.list_runs(page=1, page_size=5)
    assert page.items and run_id in {item.run_id for item in page.items} and page.total >= 1
    assert client.get_run_count() >= 1
    assert "sdk-suite" in client.get_projects()
    buckets = client.get_taxonomy()
    assert len(buckets) == 8 and sum(len(b.subcategories) for b in buckets) == 41
    subs = client.get_subcategories(bucket_id="safety_security")
    assert {s.subcategory_id for s in subs} >= {"sensitive_data_exposure", "untrusted_instruction_following"}
    assert all(s.detection_approach in ("deterministic", "llm_judge", "hybrid") for s in subs)
    bucket = client.get_bucket("tool_usage")
    assert bucket.bucket_id == "tool_usage" and len(bucket.subcategories) == 5


def test_cancel_run_cancels_a_queued_run(client: ValiqorFAClient) -> None:
    handle = client.run_async(dataset=[{"input": f"q{i}", "output": f"a{i}"} for i in range(3000)])
    answer = client.cancel_run(handle.job_id)
    assert answer["status"] == "cancelled"
    assert client.poll_status(handle.job_id).status == "cancelled"
