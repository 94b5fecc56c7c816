"""Shared fixtures: a real Redis for the session, and real API and worker processes against it.

The suite starts its own redis-server on a free port (clean state, stopped at the end); when the
binary is missing it falls back to a Redis answering at 127.0.0.1:6379 (database 15).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from redis.asyncio import Redis

from taxonomy.catalogue import Catalogue, load_catalogue
from workers.localredis import RedisUnavailableError, answers, free_port, start_redis
from workers.settings import Settings

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    try:
        process = start_redis(free_port())
    except RedisUnavailableError:
        fallback = "redis://127.0.0.1:6379/15"
        if not answers(fallback):
            pytest.exit("no redis-server binary and no Redis on 127.0.0.1:6379: install redis-server", 3)
        yield fallback
        return
    port = process.args[process.args.index("--port") + 1]  # type: ignore[union-attr]
    yield f"redis://127.0.0.1:{port}/0"
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    """An asyncio Redis client on the session's Redis, closed after the test."""
    client = Redis.from_url(redis_url)
    yield client
    await client.aclose()


@pytest.fixture(scope="session")
def catalogue() -> Catalogue:
    """The failure taxonomy, loaded once."""
    return load_catalogue()


@pytest.fixture
def settings(redis_url: str) -> Settings:
    """Settings for in-process tests: an isolated queue per test, fast polling."""
    return Settings(
        env="test",
        redis_url=redis_url,
        queue_name=f"misstep-test:{uuid.uuid4().hex[:8]}",
        worker_poll_delay_s=0.01,
    )


@dataclass
class Service:
    """A running misstep: one API process and N worker processes sharing one Redis and queue."""

    base_url: str
    env: dict[str, str]
    logs: Path
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def client(self, **kwargs: object) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.env['API_KEY']}"} if "API_KEY" in self.env else {}
        return httpx.Client(base_url=self.base_url, headers=headers, timeout=30, **kwargs)  # type: ignore[arg-type]

    def wait_completed(self, run_id: str, timeout_s: float = 60.0) -> dict[str, object]:
        deadline = time.monotonic() + timeout_s
        with self.client() as http:
            while time.monotonic() < deadline:
                status = http.get(f"/v2/failure-analysis/runs/{run_id}/status").json()
                if status["status"] in ("completed", "failed", "cancelled"):
                    return status
                time.sleep(0.05)
        raise AssertionError(f"run {run_id} did not finish within {timeout_s}s: {status}")

    def log_text(self) -> str:
        return "\n".join(p.read_text(errors="replace") for p in sorted(self.logs.glob("*.log")))

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=25)
            except subprocess.TimeoutExpired:
                process.kill()


def _spawn(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    handle = log.open("wb")
    return subprocess.Popen(
        [sys.executable, "-m", "app.cli", *args], env=env, stdout=handle, stderr=subprocess.STDOUT, cwd=REPO
    )


def start_service(redis_url: str, tmp: Path, *, workers: int = 1, **overrides: str) -> Service:
    """Start the API and `workers` worker processes; returns once the API answers and workers are up."""
    tmp.mkdir(parents=True, exist_ok=True)
    port = free_port()
    env = {
        **os.environ,
        "ENV": "test",
        "REDIS_URL": redis_url,
        "QUEUE_NAME": f"misstep-test:{uuid.uuid4().hex[:8]}",
        "WORKER_POLL_DELAY_S": "0.01",
        "LOG_JSON": "true",
        # generous limits: tests of rate limiting pass their own; every other test is not about them
        "RATE_SUBMIT_PER_S": "10000",
        "RATE_SUBMIT_BURST": "100000",
        "RATE_INGEST_PER_S": "10000",
        "RATE_INGEST_BURST": "100000",
        "RATE_READ_PER_S": "10000",
        "RATE_READ_BURST": "100000",
        **overrides,
    }
    service = Service(base_url=f"http://127.0.0.1:{port}", env=env, logs=tmp)
    service.processes.append(_spawn(["serve", "--port", str(port)], env, tmp / "api.log"))
    for n in range(workers):
        service.processes.append(_spawn(["worker"], env, tmp / f"worker-{n}.log"))
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        started = sum("worker.started" in (tmp / f"worker-{n}.log").read_text(errors="replace") for n in range(workers))
        try:
            ready = httpx.get(f"{service.base_url}/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            ready = False
        if ready and started == workers:
            return service
        if any(p.poll() is not None for p in service.processes):
            break
        time.sleep(0.1)
    service.stop()
    raise RuntimeError(f"misstep did not start:\n{service.log_text()[-4000:]}")


@pytest.fixture(scope="module")
def service(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """A running misstep with one worker and an API key (vq_ prefixed, as the Valiqor SDK requires)."""
    running = start_service(redis_url, tmp_path_factory.mktemp("service"), API_KEY="vq_test_0123456789abcdef")
    yield running
    running.stop()
