"""`misstep run`: starts Redis when none answers, serves API + worker, and SIGTERM stops all of it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import REPO
from workers.localredis import answers, free_port

pytestmark = pytest.mark.integration


def test_run_starts_local_redis_api_and_worker_then_stops_cleanly(tmp_path: Path) -> None:
    redis_port, api_port = free_port(), free_port()
    redis_url = f"redis://127.0.0.1:{redis_port}/0"
    env = {**os.environ, "REDIS_URL": redis_url, "PORT": str(api_port), "QUEUE_NAME": "run-test", "LOG_JSON": "true"}
    log = (tmp_path / "run.log").open("wb")
    process = subprocess.Popen([sys.executable, "-m", "app.cli", "run"], env=env, cwd=REPO, stdout=log, stderr=log)
    base = f"http://127.0.0.1:{api_port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        body = json.loads((REPO / "examples" / "seed-request.json").read_text())
        run_id = httpx.post(f"{base}/v2/failure-analysis/analyze", json=body).json()["run_id"]
        status = {}
        while time.monotonic() < deadline and status.get("status") != "completed":
            status = httpx.get(f"{base}/v2/failure-analysis/runs/{run_id}/status").json()
            time.sleep(0.05)
        assert status["status"] == "completed"
        assert "started a local Redis" in (tmp_path / "run.log").read_text()
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=40)
    assert not answers(redis_url), "the Redis started by misstep run must stop with it"
    with pytest.raises(httpx.HTTPError):
        httpx.get(f"{base}/healthz", timeout=1)
