"""Horizontal scaling: two real worker processes share the chunks of one run."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import start_service

pytestmark = pytest.mark.integration


def test_two_workers_share_a_2000_item_run_and_every_item_appears_once(redis_url: str, tmp_path: Path) -> None:
    service = start_service(redis_url, tmp_path, workers=2, CHUNK_SIZE="50", WORKER_MAX_JOBS="1")
    try:
        dataset = [
            {
                "input": f"What is the refund window for order {i}?",
                "output": f"Order {i} can be refunded within 30 days.",
                "context": ["Refunds are accepted within 30 days of delivery."],
            }
            for i in range(2000)
        ]
        with service.client() as http:
            submitted = http.post("/v2/failure-analysis/analyze", json={"dataset": dataset})
            assert submitted.status_code == 202, submitted.text
            run_id = submitted.json()["job_id"]
            status = service.wait_completed(run_id, timeout_s=120)
            result = http.get(f"/v2/failure-analysis/runs/{run_id}").json()
    finally:
        service.stop()
    assert status["status"] == "completed" and status["chunks_total"] == 40
    workers = status["workers"]
    assert len(workers) == 2, workers
    assert all(count >= 1 for count in workers.values()) and sum(workers.values()) == 40
    assert [item["item_index"] for item in result["inputs"]] == list(range(2000))
    assert result["summary"]["total_items"] == 2000
