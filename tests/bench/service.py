"""Service benchmarks against real processes: end-to-end latency, HTTP submit rate, batch scaling, memory."""

from __future__ import annotations

import asyncio
import gc
import json
import time
from pathlib import Path
from typing import Any

import msgspec

from tests.bench.machine import machine_parallelism
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


_decode = msgspec.json.decode  # the client's own CPU comes off the same two cores as the server's


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)

    def at(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 2)

    return {"p50_ms": at(0.50), "p90_ms": at(0.90), "p99_ms": at(0.99), "n": len(ordered)}


def mint_key(redis_url: str) -> dict[str, str]:
    """The Authorization header of a key minted for the bench, as a production client sends one: the API
    looks the key up in Redis on every request (KeyStore.lookup), which a keyless dev-mode call skips."""
    from redis.asyncio import Redis

    from workers.keys import KeyStore

    async def mint() -> str:
        redis = Redis.from_url(redis_url)
        try:
            key, _ = await KeyStore(redis).create("bench", "pro")
            return key
        finally:
            await redis.aclose()

    return {"authorization": f"Bearer {asyncio.run(mint())}"}


async def _client(
    base: str, host: str, runs: int, poll_s: float, prefer_async: bool, auth: dict[str, str]
) -> list[float]:
    """One client submitting runs one after another, as the Valiqor SDK does: a 200 answer is the completed
    result; a 202 is polled on the status endpoint until the run is finished."""
    from urllib.parse import urlsplit

    url = urlsplit(base)
    reader, writer = await asyncio.open_connection(url.hostname, url.port)
    headers = {**auth, "prefer": "respond-async"} if prefer_async else dict(auth)
    latencies = []
    try:
        for _ in range(runs):
            started = time.perf_counter()
            writer.write(encode_post(host, f"{FA}/analyze", SINGLE, headers))
            status, _, body = await _read_reply(reader)
            assert status in (200, 202), body
            answer = _decode(body)
            if status == 202:  # like the SDK, poll without reading the envelope's status
                poll = encode_get(host, f"{FA}/runs/{answer['run_id']}/status", auth)
                while True:
                    writer.write(poll)
                    _, _, body = await _read_reply(reader)
                    answer = _decode(body)
                    if answer["status"] in ("completed", "failed", "cancelled"):
                        break
                    await asyncio.sleep(poll_s)
            assert answer["status"] == "completed", answer
            latencies.append(time.perf_counter() - started)
    finally:
        writer.close()
    return latencies


def end_to_end_latency(
    service: Service,
    concurrency: int,
    runs_per_client: int,
    poll_s: float = 0.001,
    *,
    prefer_async: bool = False,
    auth: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Submit-to-completed latency of single-item rule_based runs as a client sees it: the 200 answer of an
    inline run, or (with `prefer_async`, or for a queued run) polling the status endpoint after the 202."""
    host = service.base_url.removeprefix("http://")

    async def main() -> list[float]:
        results = await asyncio.gather(
            *(
                _client(service.base_url, host, runs_per_client, poll_s, prefer_async, auth or {})
                for _ in range(concurrency)
            )
        )
        return [x for r in results for x in r]

    return {"concurrency": concurrency, **percentiles(asyncio.run(main()))}


def http_front(
    service: Service, requests: int = 4000, concurrency: int = 32, auth: dict[str, str] | None = None
) -> dict[str, Any]:
    """Submit requests/s and latency on one API process (no worker draining the queue)."""
    host = service.base_url.removeprefix("http://")
    payload = [encode_post(host, f"{FA}/analyze", SINGLE, auth)] * requests
    started = time.perf_counter()
    replies = asyncio.run(send_all(service.base_url, payload, concurrency))
    elapsed = time.perf_counter() - started
    ok = sum(r.status in (200, 202) for r in replies)
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
        run_id = response.json()["run_id"]
        while http.get(f"{FA}/runs/{run_id}/status").json()["status"] not in ("completed", "failed"):
            time.sleep(BATCH_POLL_S)
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


# How often the batch client polls: "processing" comes from the run's own timestamps, and polling faster would
# only take CPU from the workers on the same two cores (the Valiqor SDK polls every few seconds).
BATCH_POLL_S = 0.1
PRODUCTION_LIKE = {"ENV": "dev", "MAX_ACTIVE_RUNS_PER_TENANT": "100000"}  # loggers cached as in production
BATCH_ROUNDS = 3  # each batch configuration runs this often, alternating; the best run of each is reported


def run_service_benchmarks(redis_url: str, workdir: Path, batch_items: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    # This process is the load generator: its heap (the batch items, the engine figures) goes out of its full
    # GC passes, or a collector pause in the client would be counted as server latency.
    gc.collect()
    gc.freeze()
    auth = mint_key(redis_url)  # every latency and HTTP-front request carries it, as a production client's does
    for key, processes in (("latency", "1"), ("latency_2_api_processes", "2")):
        service = start_service(redis_url, workdir / key, workers=2, API_PROCESSES=processes, **PRODUCTION_LIKE)
        try:
            end_to_end_latency(service, 8, 10, auth=auth)  # warm-up
            out[key] = [
                end_to_end_latency(service, 1, 200, auth=auth),
                end_to_end_latency(service, 8, 100, auth=auth),
                end_to_end_latency(service, 64, 10, auth=auth),
            ]
            if processes == "1":  # the same runs, answered 202 and polled (Prefer: respond-async)
                out["latency_respond_async"] = [
                    end_to_end_latency(service, 1, 200, prefer_async=True, auth=auth),
                    end_to_end_latency(service, 8, 100, prefer_async=True, auth=auth),
                ]
        finally:
            service.stop()
    queued = start_service(redis_url, workdir / "queued", workers=2, INLINE_MAX_ITEMS="0", **PRODUCTION_LIKE)
    try:  # every run through the queue and a worker
        out["latency_queued"] = [
            end_to_end_latency(queued, 1, 200, auth=auth),
            end_to_end_latency(queued, 8, 100, auth=auth),
        ]
    finally:
        queued.stop()
    for name, extra in (("http_front", {}), ("http_front_enqueue_only", {"INLINE_MAX_ITEMS": "0"})):
        front = start_service(redis_url, workdir / name, workers=0, **PRODUCTION_LIKE, **extra)
        try:
            out[name] = http_front(front, auth=auth)
        finally:
            front.stop()
    runs: dict[int, list[dict[str, Any]]] = {1: [], 2: []}
    out["machine_parallelism_by_batch_round"] = []
    for attempt in range(BATCH_ROUNDS):  # 1, 2, 1, 2 workers: both see the same spells of a noisy machine
        out["machine_parallelism_by_batch_round"].append(machine_parallelism())  # the ceiling, just before
        for workers in (1, 2):
            service = start_service(
                redis_url,
                workdir / f"batch{workers}-{attempt}",
                workers=workers,
                **PRODUCTION_LIKE,
            )
            try:
                runs[workers].append(batch(service, batch_items))
            finally:
                service.stop()
    for workers, measured in runs.items():
        out[f"batch_{workers}_worker"] = max(measured, key=lambda r: r["processing_items_per_s"])
        out[f"batch_{workers}_worker_all_items_per_s"] = [r["processing_items_per_s"] for r in measured]
    one, two = out["batch_1_worker"], out["batch_2_worker"]
    out["batch_speedup_2_vs_1"] = round(two["processing_items_per_s"] / one["processing_items_per_s"], 2)
    out["batch_speedup_2_vs_1_with_submit"] = round(two["items_per_s"] / one["items_per_s"], 2)
    return out
