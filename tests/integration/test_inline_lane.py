"""The inline lane against a real API process, worker process and Redis: small rule_based runs are analysed
inside their submit and stored completed; everything else still goes through the queue and a worker."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from tests.conftest import REPO, Service, start_service

pytestmark = pytest.mark.integration
FA = "/v2/failure-analysis"
SEED = json.loads((REPO / "examples" / "seed-request.json").read_text())
COMPARED = ("subcategory_id", "decision", "severity", "confidence", "evidence_items", "scoring_breakdown")


@pytest.fixture(scope="module")
def lanes(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """A misstep with one worker, INLINE_MAX_ITEMS=2 and a small INLINE_MAX_BYTES."""
    running = start_service(redis_url, tmp_path_factory.mktemp("inline"), INLINE_MAX_ITEMS="2", INLINE_MAX_BYTES="4000")
    yield running
    running.stop()


def _submit(service: Service, body: dict[str, object], **headers: str) -> dict[str, object]:
    """The submit answer with its HTTP status under "http"; both shapes carry run_id and status."""
    with service.client() as http:
        response = http.post(f"{FA}/analyze", json=body, headers=headers)
    assert response.status_code in (200, 202), response.text
    return {**response.json(), "http": response.status_code}


def _result(service: Service, run_id: str) -> dict[str, object]:
    service.wait_completed(run_id)
    with service.client() as http:
        return http.get(f"{FA}/runs/{run_id}").json()


def _status(service: Service, run_id: str) -> dict[str, object]:
    with service.client() as http:
        return http.get(f"{FA}/runs/{run_id}/status").json()


def _analysed_by(status: dict[str, object]) -> list[str]:
    return list(status["workers"])  # type: ignore[arg-type]


def _tags_by_item(result: dict[str, object]) -> dict[tuple[int, str], dict[str, object]]:
    return {
        (t["item_index"], t["subcategory_id"]): {k: t[k] for k in COMPARED}
        for t in result["failure_tags"]  # type: ignore[union-attr]
    }


def test_a_small_run_is_answered_200_with_its_complete_result_and_leaves_no_job(lanes: Service) -> None:
    queue = redis.Redis.from_url(lanes.env["REDIS_URL"])
    answer = _submit(lanes, SEED)
    assert answer.pop("http") == 200 and answer["status"] == "completed"
    run_id = str(answer["run_id"])
    assert answer == _result(lanes, run_id)  # the answer is the stored result, tags and inputs included
    assert answer["summary"]["total_items"] == 2 and answer["summary"]["items_with_failures"] == 1  # type: ignore[index]
    assert [i["item_index"] for i in answer["inputs"]] == [0, 1]  # type: ignore[union-attr]
    assert any(t["subcategory_id"] == "unsupported_claim" for t in answer["failure_tags"])  # type: ignore[union-attr]
    status = _status(lanes, run_id)
    assert status["status"] == "completed" and status["progress_percent"] == 100.0
    assert [w.endswith(":inline") for w in _analysed_by(status)] == [True]
    assert queue.zcard(lanes.env["QUEUE_NAME"]) == 0 and not list(queue.scan_iter(f"arq:job:{run_id}*"))


def test_prefer_respond_async_gets_the_job_envelope_of_a_run_already_completed(lanes: Service) -> None:
    answer = _submit(lanes, SEED, Prefer="respond-async")
    assert answer["http"] == 202 and answer["status"] == "completed" and answer["job_id"] == answer["run_id"]
    assert "completed" in str(answer["message"]) and answer["poll_url"].endswith(f"{answer['run_id']}/status")
    assert _status(lanes, str(answer["job_id"]))["status"] == "completed"


def test_inline_and_queued_runs_of_the_same_items_get_the_same_tags(lanes: Service) -> None:
    items = SEED["dataset"]
    inline = _submit(lanes, {"dataset": items})
    queued = _submit(lanes, {"dataset": [*items, items[1]]})  # three items: over INLINE_MAX_ITEMS
    assert (inline["http"], queued["http"], queued["status"]) == (200, 202, "queued")
    inline_result = _result(lanes, str(inline["run_id"]))
    queued_result = _result(lanes, str(queued["run_id"]))
    assert not any(w.endswith(":inline") for w in _analysed_by(_status(lanes, str(queued["run_id"]))))
    inline_tags = _tags_by_item(inline_result)
    queued_tags = {key: tag for key, tag in _tags_by_item(queued_result).items() if key[0] < 2}
    assert inline_tags and inline_tags == queued_tags
    for field in ("detectors_run", "detectors_skipped", "eval_metrics", "feature_kind"):
        if field == "eval_metrics":
            assert set(inline_result[field]) == set(queued_result[field])  # type: ignore[arg-type]
        else:
            assert inline_result[field] == queued_result[field], field


def test_runs_over_the_byte_bound_or_on_a_judged_tier_go_to_the_queue(lanes: Service) -> None:
    big = {"input": "What is the refund window?", "output": "Thirty days. " * 400, "context": ["Refunds: 30 days."]}
    answer = _submit(lanes, {"dataset": [big]})
    assert answer["http"] == 202 and answer["status"] == "queued"
    _result(lanes, str(answer["run_id"]))
    assert not any(w.endswith(":inline") for w in _analysed_by(_status(lanes, str(answer["run_id"]))))
    with lanes.client() as http:  # no LLM provider here: a judged tier is refused, not run inline
        refused = http.post(f"{FA}/analyze", json={**SEED, "tier": "fast_llm"})
    assert refused.status_code == 403 and "tier" in refused.text


def test_an_inline_run_is_listed_counted_and_cancelling_it_is_refused_as_finished(lanes: Service) -> None:
    with lanes.client() as http:
        before = http.get(f"{FA}/runs/count").json()["count"]
        run_id = http.post(f"{FA}/analyze", json=SEED).json()["run_id"]
        assert http.get(f"{FA}/runs/count").json()["count"] == before + 1
        listed = http.get(f"{FA}/runs").json()["items"]
        assert any(r["run_id"] == run_id and r["status"] == "completed" for r in listed)
        cancel = http.post(f"{FA}/runs/{run_id}/cancel")
    assert cancel.status_code == 409 and "already completed" in cancel.text


def test_inline_lane_is_off_with_zero_items(redis_url: str, tmp_path: Path) -> None:
    queued_only = start_service(redis_url, tmp_path, INLINE_MAX_ITEMS="0")
    try:
        answer = _submit(queued_only, SEED)
        assert answer["http"] == 202 and answer["status"] == "queued"
        assert queued_only.wait_completed(str(answer["job_id"]))["status"] == "completed"
    finally:
        queued_only.stop()


def test_an_inline_answer_is_replayed_for_the_same_idempotency_key(lanes: Service) -> None:
    key = {"Idempotency-Key": f"inline-{uuid.uuid4().hex}"}
    with lanes.client() as http:
        before = http.get(f"{FA}/runs/count").json()["count"]
        first = http.post(f"{FA}/analyze", json=SEED, headers=key)
        again = http.post(f"{FA}/analyze", json=SEED, headers=key)
        after = http.get(f"{FA}/runs/count").json()["count"]
    assert first.status_code == again.status_code == 200
    assert again.content == first.content and again.headers["idempotent-replayed"] == "true"
    assert after == before + 1  # one run, answered twice
