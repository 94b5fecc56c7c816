"""Fault injection against real worker processes, a real API and a real Redis.

Each test asserts the exact set of item indexes in the final result, not just a count.
Run alone with: .venv/bin/python -m pytest -m faults
"""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import Service, _spawn, start_service
from tests.loadgen import encode_post, send_all
from workers.localredis import free_port, start_redis

pytestmark = [pytest.mark.integration, pytest.mark.faults]
FA = "/v2/failure-analysis"


def dataset(n: int, marker_at: int | None = None) -> list[dict[str, object]]:
    return [
        {
            "input": f"What does plan {i} cost per month?",
            "output": ("FAULT-INJECT " if i == marker_at else "") + f"Plan {i} costs 20 dollars per month.",
            "context": ["All plans cost 20 dollars per month, billed monthly."],
        }
        for i in range(n)
    ]


def submit(service: Service, items: list[dict[str, object]], **options: object) -> str:
    with service.client() as http:
        response = http.post(f"{FA}/analyze", json={"dataset": items, **options})
    assert response.status_code in (200, 202), response.text  # 200: a small run, analysed inline
    return str(response.json()["run_id"])


def status(service: Service, run_id: str) -> dict[str, object]:
    with service.client() as http:
        return http.get(f"{FA}/runs/{run_id}/status").json()


def wait_for_chunks(service: Service, run_id: str, done: int, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        current = status(service, run_id)
        if int(current.get("chunks_done") or 0) >= done or current["status"] == "completed":
            return
        time.sleep(0.01)
    raise AssertionError(f"run {run_id} never reached {done} chunks")


def final_indexes(service: Service, run_id: str) -> list[int]:
    with service.client() as http:
        result = http.get(f"{FA}/runs/{run_id}").json()
    assert result["status"] == "completed"
    return [item["item_index"] for item in result["inputs"]]


def add_worker(service: Service, name: str) -> subprocess.Popen[bytes]:
    process = _spawn(["worker"], service.env, service.logs / f"{name}.log")
    service.processes.append(process)
    return process


@pytest.mark.parametrize("kill_points", [(1,), (3, 8), (2, 6, 12)], ids=["early", "twice", "three-times"])
def test_sigkilled_workers_lose_no_items(redis_url: str, tmp_path: Path, kill_points: tuple[int, ...]) -> None:
    # JOB_TIMEOUT_S bounds arq's in-progress lock: a killed worker's job is picked up again after timeout + 10 s.
    service = start_service(
        redis_url,
        tmp_path,
        workers=2,
        CHUNK_SIZE="25",
        WORKER_MAX_JOBS="1",
        JOB_TIMEOUT_S="2",
        DETECTOR_BUDGET_MS="100000",
    )
    try:
        run_id = submit(service, dataset(400))  # 16 chunks
        for n, point in enumerate(kill_points):
            wait_for_chunks(service, run_id, point)
            victim = next(p for p in service.processes[1:] if p.poll() is None)
            victim.send_signal(signal.SIGKILL)
            victim.wait(timeout=10)
            add_worker(service, f"replacement-{n}")
        final = service.wait_completed(run_id, timeout_s=90)
        assert final["status"] == "completed", final
        assert final_indexes(service, run_id) == list(range(400))
    finally:
        service.stop()


def test_sigterm_hands_running_jobs_back_and_loses_nothing(redis_url: str, tmp_path: Path) -> None:
    service = start_service(redis_url, tmp_path, workers=2, CHUNK_SIZE="25", WORKER_MAX_JOBS="1")
    try:
        run_id = submit(service, dataset(600))
        wait_for_chunks(service, run_id, 4)
        deploying = service.processes[1]
        deploying.send_signal(signal.SIGTERM)
        assert deploying.wait(timeout=30) is not None  # it exits after finishing or handing back its job
        add_worker(service, "after-deploy")
        final = service.wait_completed(run_id, timeout_s=60)
        assert final["status"] == "completed"
        assert final_indexes(service, run_id) == list(range(600))
    finally:
        service.stop()


def test_a_detector_that_raises_on_one_item_leaves_that_tag_unsure(redis_url: str, tmp_path: Path) -> None:
    service = start_service(redis_url, tmp_path, DETECTOR_PLUGINS="tests.faults.raising_plugin")
    try:
        run_id = submit(service, dataset(30, marker_at=17), feature_kind="generic_llm")
        assert service.wait_completed(run_id)["status"] == "completed"
        assert final_indexes(service, run_id) == list(range(30))
        with service.client() as http:
            tags = http.get(f"{FA}/runs/{run_id}/tags", params={"subcategory_id": "fabricated_fact"}).json()["tags"]
    finally:
        service.stop()
    by_item = {t["item_index"]: t for t in tags}
    assert sorted(by_item) == list(range(30))
    assert by_item[17]["decision"] == "unsure" and "injected failure on item 17" in by_item[17]["judge_rationale"]
    assert all(by_item[i]["decision"] == "pass" for i in range(30) if i != 17)


def test_redis_outage_answers_503_quickly_and_recovers(tmp_path: Path) -> None:
    port = free_port()
    redis = start_redis(port)
    url = f"redis://127.0.0.1:{port}/0"
    api_port = free_port()
    env_overrides = {"REDIS_TIMEOUT_S": "1"}
    service = Service(base_url=f"http://127.0.0.1:{api_port}", env={}, logs=tmp_path)
    import os

    service.env = {**os.environ, "ENV": "test", "REDIS_URL": url, "LOG_JSON": "true", **env_overrides}
    service.processes.append(_spawn(["serve", "--port", str(api_port)], service.env, tmp_path / "api.log"))
    try:
        _wait_ok(service.base_url)
        run_id = submit(service, dataset(2))
        redis.terminate()
        redis.wait(timeout=10)
        for method, path in (("GET", f"{FA}/runs/{run_id}/status"), ("POST", f"{FA}/analyze"), ("GET", "/healthz")):
            started = time.monotonic()
            response = httpx.request(method, f"{service.base_url}{path}", json={"dataset": dataset(1)}, timeout=10)
            assert time.monotonic() - started < 5, f"{path} hung"
            assert response.status_code == 503, (path, response.text)
            assert "storage unavailable" in response.json()["detail"] and response.headers["retry-after"]
        redis = start_redis(port)  # back, empty (no persistence): the API reconnects by itself
        _wait_ok(service.base_url)
        new_run = submit(service, dataset(1))  # small: analysed inline, so stored completed without a worker
        assert status(service, new_run)["status"] == "completed"
    finally:
        service.stop()
        redis.terminate()


def _wait_ok(base_url: str, timeout_s: float = 20) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base_url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"{base_url} did not become healthy")


def test_a_flood_of_submits_is_accepted_or_refused_never_dropped(redis_url: str, tmp_path: Path) -> None:
    service = start_service(  # the queue's flood: no inline lane, every run waits for a worker
        redis_url, tmp_path, workers=2, MAX_ACTIVE_RUNS_PER_TENANT="1500", INLINE_MAX_ITEMS="0"
    )

    body = json.dumps({"dataset": dataset(1)}).encode()
    host = service.base_url.removeprefix("http://")
    requests = [encode_post(host, f"{FA}/analyze", body)] * 5000
    try:
        replies = asyncio.run(send_all(service.base_url, requests, concurrency=32))
        codes = [r.status for r in replies]
        assert set(codes) <= {202, 429} and len(codes) == 5000, sorted(set(codes))
        refused = [r for r in replies if r.status == 429]
        assert all(r.headers.get("retry-after") for r in refused)
        accepted = {json.loads(r.body)["job_id"] for r in replies if r.status == 202}
        assert len(accepted) == codes.count(202) and accepted
        deadline = time.monotonic() + 180
        with service.client() as http:
            while time.monotonic() < deadline:
                page = http.get(f"{FA}/runs", params={"status": "completed", "page_size": 200}).json()
                if page["total"] >= len(accepted):
                    break
                time.sleep(0.5)
            completed = set()
            pages = -(-page["total"] // 200)
            for n in range(1, pages + 1):
                listing = http.get(f"{FA}/runs", params={"status": "completed", "page": n, "page_size": 200}).json()
                completed |= {item["run_id"] for item in listing["items"]}
        assert accepted <= completed
    finally:
        service.stop()
