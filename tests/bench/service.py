"""Service benchmarks against real processes: end-to-end latency, HTTP submit rate, batch scaling, memory."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

from tests.conftest import Service, start_service
from tests.loadgen import _read_reply, encode_get, encode_post, send_all

FA = "/v2/failure-analysis"
SINGLE = json.dumps(
    {
        "dataset": [
            {
                "input": "How long do I have to return an item?",
                "output": "You can return an item within 30 days of delivery for a full refund.",
                "context": ["Refund policy: items can be returned within 30 days of delivery for a full refund."],
            }
        ]
    }
).encode()


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)

    def at(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 2)

    return {"p50_ms": at(0.50), "p90_ms": at(0.90), "p99_ms": at(0.99), "n": len(ordered)}


async def _client(base: str, host: str, runs: int, poll_s: float) -> list[float]:
    from urllib.parse import urlsplit

    url = urlsplit(base)
    reader, writer = await asyncio.open_connection(url.hostname, url.port)
    latencies = []
    try:
        for _ in range(runs):
            started = time.perf_counter()
            writer.write(encode_post(host, f"{FA}/analyze", SINGLE))
            status, _, body = await _read_reply(reader)
            assert status == 202, body
            run_id = json.loads(body)["job_id"]
            poll = encode_get(host, f"{FA}/runs/{run_id}/status")
            while True:
                writer.write(poll)
                _, _, body = await _read_reply(reader)
                if json.loads(body)["status"] in ("completed", "failed", "cancelled"):
                    break
                await asyncio.sleep(poll_s)
            latencies.append(time.perf_counter() - started)
    finally:
        writer.close()
    return latencies


def end_to_end_latency(
    service: Service, concurrency: int, runs_per_client: int, poll_s: float = 0.001
) -> dict[str, Any]:
    """Submit-to-completed latency of single-item rule_based runs, as a client polling the status sees it."""
    host = service.base_url.removeprefix("http://")

    async def main() -> list[float]:
        results = await asyncio.gather(
            *(_client(service.base_url, host, runs_per_client, poll_s) for _ in range(concurrency))
        )
        return [x for r in results for x in r]

    return {"concurrency": concurrency, **percentiles(asyncio.run(main()))}


def http_front(service: Service, requests: int = 4000, concurrency: int = 32) -> dict[str, Any]:
    """Submit requests/s and latency on one API process (no worker draining the queue)."""
    host = service.base_url.removeprefix("http://")
    payload = [encode_post(host, f"{FA}/analyze", SINGLE)] * requests
    started = time.perf_counter()
    replies = asyncio.run(send_all(service.base_url, payload, concurrency))
    elapsed = time.perf_counter() - started
    ok = sum(r.status == 202 for r in replies)
    return {
        "requests": requests,
        "accepted": ok,
        "submits_per_s": round(requests / elapsed, 1),
        **percentiles([r.seconds for r in replies]),
    }


def _ms_between(start: str, end: str) -> float:
    from datetime import datetime

    def parse(value: str) -> datetime:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))

    return (parse(end) - parse(start)).total_seconds() * 1000


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def batch(service: Service, items: list[dict[str, Any]]) -> dict[str, Any]:
    """Submit one run of `items` and time it to completion; peak RSS of the API and each worker."""
    import httpx

    body = json.dumps({"dataset": items}).encode()
    with httpx.Client(base_url=service.base_url, timeout=120) as http:
        started = time.perf_counter()
        response = http.post(f"{FA}/analyze", content=body, headers={"content-type": "application/json"})
        assert response.status_code == 202, response.text[:500]
        run_id = response.json()["job_id"]
        while http.get(f"{FA}/runs/{run_id}/status").json()["status"] not in ("completed", "failed"):
            time.sleep(0.02)
        elapsed = time.perf_counter() - started
        final = http.get(f"{FA}/runs/{run_id}/status").json()
        workers = final["workers"]
        processing_ms = _ms_between(final["started_at"], final["finished_at"])  # first chunk start -> completed
    api, *worker_processes = service.processes
    return {
        "items": len(items),
        "seconds": round(elapsed, 2),
        "items_per_s": round(len(items) / elapsed, 1),
        "processing_seconds": round(processing_ms / 1000, 2),
        "processing_items_per_s": round(len(items) * 1000 / processing_ms, 1) if processing_ms else None,
        "chunks_by_worker": workers,
        "api_peak_rss_mb": peak_rss_mb(api.pid),
        "worker_peak_rss_mb": [peak_rss_mb(p.pid) for p in worker_processes],
    }


def run_service_benchmarks(redis_url: str, workdir: Path, batch_items: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    service = start_service(redis_url, workdir / "latency", workers=2, MAX_ACTIVE_RUNS_PER_TENANT="100000")
    try:
        out["latency"] = [
            end_to_end_latency(service, 1, 200),
            end_to_end_latency(service, 8, 60),
            end_to_end_latency(service, 64, 10),
        ]
    finally:
        service.stop()
    front = start_service(redis_url, workdir / "front", workers=0, MAX_ACTIVE_RUNS_PER_TENANT="100000")
    try:
        out["http_front"] = http_front(front)
    finally:
        front.stop()
    for workers in (1, 2):
        service = start_service(redis_url, workdir / f"batch{workers}", workers=workers, WORKER_MAX_JOBS="2")
        try:
            out[f"batch_{workers}_worker"] = batch(service, batch_items)
        finally:
            service.stop()
    one, two = out["batch_1_worker"], out["batch_2_worker"]
    out["batch_speedup_2_vs_1"] = round(two["processing_items_per_s"] / one["processing_items_per_s"], 2)
    out["batch_speedup_2_vs_1_with_submit"] = round(two["items_per_s"] / one["items_per_s"], 2)
    return out
