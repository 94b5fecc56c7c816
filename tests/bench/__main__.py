"""`make bench`: speed, scale and memory of misstep, printed as a table and written to bench-results.json.

Starts its own Redis, API and worker processes (nothing shared with a running misstep). Ratios are taken
from numbers measured in this one run. Usage: python -m tests.bench [--data-dir ../shared/eval] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
from pathlib import Path

from tests.bench.engine import engine_throughput
from tests.bench.machine import machine_parallelism
from tests.bench.service import run_service_benchmarks
from workers.localredis import free_port, start_redis

REPO = Path(__file__).resolve().parents[2]


def batch_items(data_dir: Path, n: int) -> list[dict[str, object]]:
    """`n` realistic items cycling over the eval dev sets (or the example dataset without them)."""
    rows: list[dict[str, object]] = []
    for path in sorted(data_dir.glob("*/dev.jsonl")):
        for line in path.read_text().splitlines():
            row = json.loads(line)
            rows.append({"input": row["input"], "output": row["output"], "context": row["context"]})
    if not rows:
        rows = json.loads((REPO / "examples" / "support-bot.json").read_text())
    return [rows[i % len(rows)] for i in range(n)]


def table(results: dict[str, object]) -> str:
    engine = results["engine"]
    lines = [
        f"misstep bench on {results['machine']}",
        "",
        f"Engine (rule_based, one process): {engine['items_per_s_overall']} items/s over {engine['items']} dev items",
    ]
    lines += [f"  {name:30} {rate:>10} items/s" for name, rate in engine["items_per_s_by_set"].items()]
    lines.append("  CPU per item by detector (slowest first):")
    lines += [f"    {name:34} {us:>8} µs" for name, us in list(engine["cpu_us_per_item_by_detector"].items())[:12]]
    service = results["service"]
    lines.append("")
    lines.append("End-to-end latency, single-item rule_based run, submit -> completed (polling client):")
    for row in service["latency"]:
        lines.append(
            f"  {row['concurrency']:>3} clients: p50 {row['p50_ms']:>7} ms  p90 {row['p90_ms']:>7} ms  "
            f"p99 {row['p99_ms']:>7} ms  (n={row['n']})"
        )
    front = service["http_front"]
    lines.append(
        f"HTTP front (one API process): {front['submits_per_s']} submits/s, p50 {front['p50_ms']} ms, "
        f"p99 {front['p99_ms']} ms"
    )
    for workers in (1, 2):
        b = service[f"batch_{workers}_worker"]
        lines.append(
            f"Batch {b['items']} items, {workers} worker(s): processing {b['processing_items_per_s']} items/s "
            f"({b['processing_seconds']} s); with submit {b['items_per_s']} items/s ({b['seconds']} s); "
            f"peak RSS API {b['api_peak_rss_mb']} MB, workers {b['worker_peak_rss_mb']} MB"
        )
    lines.append(
        f"2 workers vs 1: {service['batch_speedup_2_vs_1']}x processing "
        f"({service['batch_speedup_2_vs_1_with_submit']}x including the submit); this machine's own ceiling, "
        f"two CPU-bound processes vs one, measured in this run: {results['machine_parallelism_2_vs_1']}x"
    )
    lines.append("LLM tiers: not measured (no LLM tier is built yet)")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.bench")
    parser.add_argument("--data-dir", default=str(REPO.parent / "shared" / "eval"))
    parser.add_argument("--out", default=str(REPO / "bench-results.json"))
    parser.add_argument("--batch-items", type=int, default=10_000)
    args = parser.parse_args()
    data_dir = Path(args.data_dir)
    results: dict[str, object] = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "machine_parallelism_2_vs_1": machine_parallelism(),
        "engine": engine_throughput(data_dir),
    }
    port = free_port()
    redis = start_redis(port)
    try:
        with tempfile.TemporaryDirectory(prefix="misstep-bench-") as tmp:
            results["service"] = run_service_benchmarks(
                f"redis://127.0.0.1:{port}/0", Path(tmp), batch_items(data_dir, args.batch_items)
            )
    finally:
        redis.terminate()
    Path(args.out).write_text(json.dumps(results, indent=1))
    sys.stdout.write(table(results) + f"\n\n(JSON: {args.out})\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
