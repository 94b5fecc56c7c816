"""The Valiqor-compatible HTTP API against a real API process, worker process and Redis."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from tests.conftest import REPO, Service

pytestmark = pytest.mark.integration
FA = "/v2/failure-analysis"
SEED = json.loads((REPO / "examples" / "seed-request.json").read_text())


def submit(service: Service, body: dict[str, object]) -> str:
    """The run id of a submit: 200 with the complete result for a small (inline) run, else 202 with a job."""
    with service.client() as http:
        response = http.post(f"{FA}/analyze", json=body)
    assert response.status_code in (200, 202), response.text
    answer = response.json()
    assert response.status_code == 202 or answer["status"] == "completed", answer
    return str(answer["run_id"])


def test_seed_example_tags_berlin_as_unsupported_and_passes_the_faithful_answer(service: Service) -> None:
    run_id = submit(service, SEED)
    assert service.wait_completed(run_id)["status"] == "completed"
    with service.client() as http:
        result = http.get(f"{FA}/runs/{run_id}").json()
    assert result["status"] == "completed" and result["feature_kind"] == "rag"
    fails = [t for t in result["failure_tags"] if t["decision"] == "fail"]
    berlin = [t for t in fails if t["item_index"] == 0 and t["bucket_id"] == "hallucination_grounding"]
    assert berlin, result["failure_tags"]
    snippets = [ev["content_snippet"] for ev in berlin[0]["evidence_items"]]
    assert any("Berlin" in (s or "") for s in snippets)
    assert berlin[0]["evidence_items"][0]["source"] == "output"
    faithful = [
        t for t in result["failure_tags"] if t["item_index"] == 1 and t["subcategory_id"] == "unsupported_claim"
    ]
    assert [t["decision"] for t in faithful] == ["pass"]
    assert not [t for t in fails if t["item_index"] == 1]
    summary = result["summary"]
    assert summary["total_items"] == 2 and summary["items_with_failures"] == 1
    assert "hallucination_grounding" in summary["buckets_affected"]
    assert summary["primary_failure"] == "unsupported_claim" and summary["should_gate_ci"] is True
    assert result["inputs"][1]["failure_count"] == 0 and result["inputs"][0]["max_severity"] >= 3
    assert "context_coverage" in result["eval_metrics"] and result["security_flags"] == {}
    assert "fabricated_fact" in result["detectors_skipped"] and "unsupported_claim" in result["detectors_run"]
    assert "llm_judge" in result["skipped_reasons"]["fabricated_fact"]


def test_feature_kind_is_detected_and_filters_are_a_union(service: Service) -> None:
    body = {
        "dataset": [{"input": "Book it", "output": "Booked.", "tool_calls": [{"name": "book", "status_code": 500}]}],
        "buckets": ["system_execution"],
        "subcategories": ["degenerate_output"],
    }
    run_id = submit(service, body)
    service.wait_completed(run_id)
    with service.client() as http:
        result = http.get(f"{FA}/runs/{run_id}").json()
    assert result["feature_kind"] == "agent"
    assert {t["bucket_id"] for t in result["failure_tags"]} <= {"system_execution", "conversation_quality"}
    assert any(
        t["subcategory_id"] == "upstream_service_error" and t["decision"] == "fail" for t in result["failure_tags"]
    )


BAD_INPUTS = [
    pytest.param(b'{"dataset": [', "JSON", id="malformed-json"),
    pytest.param(b"", "body", id="empty-body"),
    pytest.param(json.dumps({"project_name": "p"}).encode(), "either trace_id or dataset", id="neither"),
    pytest.param(json.dumps({"dataset": []}).encode(), "dataset", id="empty-dataset"),
    pytest.param(json.dumps({"dataset": [{"input": "hi"}]}).encode(), "output", id="item-without-output"),
    pytest.param(
        json.dumps({"dataset": [{"input": "hi", "output": 42}]}).encode(),
        "dataset[0].output",
        id="wrong-type",
    ),
    pytest.param(
        json.dumps({"dataset": [{"output": "x", "context": [1]}]}).encode(),
        "context",
        id="wrong-context-type",
    ),
    pytest.param(
        json.dumps({"dataset": [{"output": "x"}], "run_eval": "yes"}).encode(),
        "run_eval",
        id="wrong-flag-type",
    ),
    pytest.param(
        json.dumps({"dataset": [{"output": "x"}], "buckets": ["nonsense"]}).encode(),
        "bucket 'nonsense'",
        id="unknown-bucket",
    ),
    pytest.param(
        json.dumps({"dataset": [{"output": "x"}], "subcategories": ["made_up"]}).encode(),
        "subcategory 'made_up'",
        id="unknown-subcategory",
    ),
    pytest.param(
        json.dumps({"dataset": [{"output": "x"}], "feature_kind": "robot"}).encode(),
        "feature_kind",
        id="bad-feature-kind",
    ),
    pytest.param(json.dumps({"dataset": [{"output": "x"}], "tier": "deep"}).encode(), "tier", id="tier-unavailable"),
]


@pytest.mark.parametrize(("body", "named"), BAD_INPUTS)
def test_bad_input_is_refused_naming_the_problem_and_stores_nothing(service: Service, body: bytes, named: str) -> None:
    with service.client() as http:
        before = http.get(f"{FA}/runs/count").json()["count"]
        response = http.post(f"{FA}/analyze", content=body, headers={"content-type": "application/json"})
        after = http.get(f"{FA}/runs/count").json()["count"]
    assert 400 <= response.status_code < 500, response.text
    assert named.lower() in response.json()["detail"].lower()
    assert after == before


def test_unknown_trace_id_is_a_clear_404(service: Service) -> None:
    with service.client() as http:
        response = http.post(f"{FA}/analyze", json={"trace_id": "trace_missing"})
    assert response.status_code == 404
    assert "trace_missing" in response.json()["detail"]


def test_dataset_too_large_uses_the_valiqor_top_level_shape(redis_url: str, tmp_path: Path) -> None:
    from tests.conftest import start_service

    small = start_service(redis_url, tmp_path, MAX_ITEMS_PER_RUN="3")
    try:
        with small.client() as http:
            response = http.post(f"{FA}/analyze", json={"dataset": [{"output": "x"}] * 4})
    finally:
        small.stop()
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "dataset_too_large" and body["dataset_size"] == 4 and body["max_allowed"] == 3


@pytest.mark.parametrize(
    "path",
    [
        f"{FA}/runs/nope",
        f"{FA}/runs/nope/status",
        f"{FA}/runs/nope/inputs",
        f"{FA}/runs/nope/tags",
        f"{FA}/buckets/nope",
    ],
)
def test_unknown_ids_are_404_with_detail(service: Service, path: str) -> None:
    with service.client() as http:
        response = http.get(path)
    assert response.status_code == 404
    assert "nope" in response.json()["detail"]


def test_missing_or_wrong_key_is_401(service: Service) -> None:
    import httpx

    assert httpx.get(f"{service.base_url}{FA}/runs").status_code == 401
    wrong = httpx.get(f"{service.base_url}{FA}/runs", headers={"Authorization": "Bearer vq_wrong"})
    assert wrong.status_code == 401 and "invalid API key" in wrong.json()["detail"]


def test_tags_filters_list_paging_and_projects(service: Service) -> None:
    body = {**SEED, "project_name": "paging-demo"}
    run_ids = [submit(service, body) for _ in range(3)]
    for run_id in run_ids:
        service.wait_completed(run_id)
    with service.client() as http:
        fails = http.get(f"{FA}/runs/{run_ids[0]}/tags", params={"decision": "fail", "min_severity": 2.5}).json()
        page1 = http.get(f"{FA}/runs", params={"project_name": "paging-demo", "page": 1, "page_size": 2}).json()
        page2 = http.get(f"{FA}/runs", params={"project_name": "paging-demo", "page": 2, "page_size": 2}).json()
        count = http.get(f"{FA}/runs/count", params={"project_name": "paging-demo"}).json()
        projects = http.get(f"{FA}/projects").json()
        bad_filter = http.get(f"{FA}/runs/{run_ids[0]}/tags", params={"decision": "maybe"})
    assert fails["tags"] and all(t["decision"] == "fail" and t["severity"] >= 2.5 for t in fails["tags"])
    assert page1["total"] == 3 and len(page1["items"]) == 2 and page1["has_more"] is True
    assert len(page2["items"]) == 1 and page2["has_more"] is False
    assert {i["run_id"] for i in page1["items"] + page2["items"]} == set(run_ids)
    assert page1["items"][0]["total_failures_detected"] >= 1
    assert count == {"count": 3} and "paging-demo" in projects["projects"]
    assert bad_filter.status_code == 400 and "decision" in bad_filter.json()["detail"]


def test_cancel_stops_a_queued_run_and_refuses_a_finished_one(service: Service) -> None:
    big = {"dataset": [{"input": f"q{i}", "output": f"answer {i}"} for i in range(3000)]}
    run_id = submit(service, big)
    with service.client() as http:
        cancelled = http.post(f"{FA}/runs/{run_id}/cancel")
        status = http.get(f"{FA}/runs/{run_id}/status").json()
        done_id = submit(service, SEED)
        service.wait_completed(done_id)
        again = http.post(f"{FA}/runs/{done_id}/cancel")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert status["status"] == "cancelled"
    assert again.status_code == 409 and "completed" in again.json()["detail"]


def test_taxonomy_endpoints_serve_the_whole_catalogue(service: Service) -> None:
    with service.client() as http:
        taxonomy = http.get(f"{FA}/taxonomy").json()
        subs = http.get(f"{FA}/taxonomy/subcategories", params={"bucket_id": "tool_usage"}).json()
        det = http.get(f"{FA}/taxonomy/subcategories", params={"detection_approach": "deterministic"}).json()
        bucket = http.get(f"{FA}/buckets/safety_security").json()
    assert len(taxonomy["buckets"]) == 8
    assert sum(len(b["subcategories"]) for b in taxonomy["buckets"]) == 41
    assert {s["subcategory_id"] for s in subs["subcategories"]} == {
        "wrong_tool_selection",
        "invalid_tool_call",
        "missing_tool_call",
        "redundant_tool_calls",
        "unhandled_tool_error",
    }
    assert all(s["detection_approach"] == "deterministic" for s in det["subcategories"]) and det["subcategories"]
    assert bucket["bucket_id"] == "safety_security" and len(bucket["subcategories"]) == 5


def test_logs_carry_request_and_run_ids(service: Service) -> None:
    queued = {"dataset": SEED["dataset"] * 6}  # 12 items: over INLINE_MAX_ITEMS, so a worker analyses it
    with service.client() as http:
        response = http.post(f"{FA}/analyze", json=queued, headers={"X-Request-ID": "req-trace-me-42"})
        inline = http.post(f"{FA}/analyze", json=SEED, headers={"X-Request-ID": "req-inline-43"})
    assert inline.status_code == 200
    run_id = response.json()["job_id"]
    service.wait_completed(run_id)
    assert response.headers["x-request-id"] == "req-trace-me-42"
    lines = [json.loads(line) for line in service.log_text().splitlines() if line.startswith("{")]
    submitted = [e for e in lines if e.get("event") == "run.submitted" and e.get("run_id") == run_id]
    analysed = [e for e in lines if e.get("event") == "chunk.analyzed" and e.get("run_id") == run_id]
    assert submitted and submitted[0]["request_id"] == "req-trace-me-42"
    assert analysed and analysed[0]["request_id"] == "req-trace-me-42" and analysed[0]["job_id"].startswith(run_id)
    inline_id = inline.json()["run_id"]  # an inline run logs one line, in its request's context
    completed = [e for e in lines if e.get("event") == "run.completed" and e.get("run_id") == inline_id]
    assert [(e["request_id"], e["lane"]) for e in completed] == [("req-inline-43", "inline")]
    access = [e for e in lines if e.get("event") == "http.request" and e.get("request_id") == "req-inline-43"]
    assert [(e["method"], e["path"], e["status"], e["logger"]) for e in access] == [
        ("POST", f"{FA}/analyze", 200, "misstep.access")
    ]
    assert access[0]["duration_ms"] > 0 and access[0]["client"].startswith("127.0.0.1:")
    assert not [e for e in lines if e.get("logger") == "uvicorn.access"]  # one access line per request, ours


def test_active_runs_are_bounded_per_tenant_with_429_and_retry_after(redis_url: str, tmp_path: Path) -> None:
    from tests.conftest import start_service

    tenant = f"busy-{uuid.uuid4().hex[:8]}"  # its own tenant: other tests' runs must not count
    idle = start_service(  # no worker, no inline lane: submitted runs stay queued
        redis_url, tmp_path, workers=0, MAX_ACTIVE_RUNS_PER_TENANT="2", DEFAULT_TENANT=tenant, INLINE_MAX_ITEMS="0"
    )
    try:
        with idle.client() as http:
            before = http.get(f"{FA}/runs/count").json()["count"]
            first, second = (http.post(f"{FA}/analyze", json=SEED) for _ in range(2))
            refused = http.post(f"{FA}/analyze", json=SEED)
            http.post(f"{FA}/runs/{first.json()['job_id']}/cancel")
            after_cancel = http.post(f"{FA}/analyze", json=SEED)
            count = http.get(f"{FA}/runs/count").json()["count"]
    finally:
        idle.stop()
    assert first.status_code == second.status_code == 202
    assert refused.status_code == 429 and refused.headers["retry-after"] == "5"
    assert "too many runs in progress" in refused.json()["detail"]
    assert after_cancel.status_code == 202
    assert count == before + 3  # the refused submission stored nothing


def test_api_processes_serve_one_port_from_several_processes(redis_url: str, tmp_path: Path) -> None:
    from tests.conftest import start_service

    served = start_service(redis_url, tmp_path, workers=0, API_PROCESSES="2")
    try:
        supervisor = served.processes[0].pid
        children = [
            pid
            for pid in Path(f"/proc/{supervisor}/task/{supervisor}/children").read_text().split()
            if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()  # not multiprocessing's tracker
        ]
        with served.client() as http:
            answers = [http.post(f"{FA}/analyze", json=SEED) for _ in range(4)]
            listed = http.get(f"{FA}/runs/count").json()["count"]
    finally:
        served.stop()
    assert len(children) == 2  # uvicorn's supervisor started two API processes
    assert [a.status_code for a in answers] == [200] * 4 and listed >= 4
