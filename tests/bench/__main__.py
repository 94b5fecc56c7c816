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
from typing import Any

from tests.bench.adversarial import MB, adversarial_worst_case
from tests.bench.adversarial import render as render_adversarial
from tests.bench.engine import engine_throughput
from tests.bench.llm import answered_items, fast_llm_wall_time, tier_costs
from tests.bench.machine import machine_parallelism
from tests.bench.peers import faithfulness_items, peer_faithfulness
from tests.bench.service import run_service_benchmarks
from tests.llm_server import LLMServer
from workers.localredis import free_port, start_redis
from workers.logs import configure_logging
from workers.settings import Settings

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
    lines.append("End-to-end latency, single-item rule_based run, submit -> completed as the client sees it:")
    for row in service["latency"]:
        lines.append(
            f"  {row['concurrency']:>3} clients: p50 {row['p50_ms']:>7} ms  p90 {row['p90_ms']:>7} ms  "
            f"p99 {row['p99_ms']:>7} ms  (n={row['n']})"
        )
    for key, label in (
        ("latency_2_api_processes", "the same with API_PROCESSES=2"),
        ("latency_respond_async", "the same, answered 202 (Prefer: respond-async) and polled"),
        ("latency_queued", "every run queued for a worker (INLINE_MAX_ITEMS=0), polled"),
    ):
        lines.append(f"  {label}:")
        for row in service[key]:
            lines.append(
                f"    {row['concurrency']:>3} clients: p50 {row['p50_ms']:>7} ms  p90 {row['p90_ms']:>7} ms  "
                f"p99 {row['p99_ms']:>7} ms  (n={row['n']})"
            )
    for key, label in (("http_front", "inline analysis"), ("http_front_enqueue_only", "enqueue only")):
        front = service[key]
        lines.append(
            f"HTTP front (one API process, single-item submits, {label}): {front['submits_per_s']} submits/s, "
            f"p50 {front['p50_ms']} ms, p99 {front['p99_ms']} ms"
        )
    for workers in (1, 2):
        b = service[f"batch_{workers}_worker"]
        lines.append(
            f"Batch {b['items']} items, {workers} worker(s): processing {b['processing_items_per_s']} items/s "
            f"({b['processing_seconds']} s); with submit {b['items_per_s']} items/s ({b['seconds']} s); "
            f"peak RSS API {b['api_peak_rss_mb']} MB, workers {b['worker_peak_rss_mb']} MB"
        )
    lines.append(
        f"  processing items/s of each run, 1 worker: {service['batch_1_worker_all_items_per_s']}, "
        f"2 workers: {service['batch_2_worker_all_items_per_s']} (alternating; the best of each is compared)"
    )
    lines.append(
        f"2 workers vs 1: {service['batch_speedup_2_vs_1']}x processing "
        f"({service['batch_speedup_2_vs_1_with_submit']}x including the submit); this machine's own ceiling, "
        f"two CPU-bound processes vs one: {results['machine_parallelism_2_vs_1']}x at the start of this run, "
        f"{service['machine_parallelism_by_batch_round']} just before each round of batches"
    )
    lines += ["", render_adversarial(results["adversarial"], MB, 2)]
    lines += llm_table(results["llm"])
    return "\n".join(lines)


def llm_table(llm: dict[str, Any]) -> list[str]:
    lines = ["", "LLM tiers against the loopback judge (tokens: the server's estimate, ~4 characters a token):"]
    lines.append(f"  {'':34} {'calls/item':>10} {'tokens/item':>12}   (50 RAGTruth items with context)")
    for tier, row in llm["tiers"].items():
        f, d = row["faithfulness_items"], row["dev_sample"]
        lines.append(
            f"  misstep {tier:26} {f['calls_per_item']:>10} {f['tokens_per_item']:>12}   "
            f"dev sample ({d['items']} items): {d['calls_per_item']} calls, {d['tokens_per_item']} tokens"
        )
    for name, peer in llm["peers"].items():
        if "calls_per_item" not in peer:
            lines.append(f"  {name} faithfulness: not measured ({peer.get('error', 'failed')})")
            continue
        lines.append(
            f"  {name + ' ' + peer['version'] + ' faithfulness':34} {peer['calls_per_item']:>10} "
            f"{peer['tokens_per_item']:>12}   (failed items {peer['failed_items']})"
        )
    for name, ratio in llm.get("ratios", {}).items():
        lines.append(f"  {name}: {ratio}")
    wall = llm["fast_llm_500"]
    lines.append(
        f"  fast_llm run of {wall['items']} items, judge latency {wall['judge_latency_ms']} ms, "
        f"{wall['workers']} worker at LLM_MAX_CONCURRENCY={wall['concurrency_per_worker']}: {wall['seconds']} s "
        f"({wall['judge_calls']} calls, peak {wall['peak_concurrency']} in flight)"
    )
    return lines


def llm_benchmarks(data_dir: Path, redis_url: str, workdir: Path) -> dict[str, Any]:
    """Judge cost per tier, the peers' faithfulness metrics on the same items, and a 500-item fast_llm run."""
    peer_items = faithfulness_items(data_dir, n=50)
    out: dict[str, Any] = {}
    with LLMServer() as server:
        out["tiers"] = tier_costs(data_dir, peer_items, server)
        try:
            out["peers"] = peer_faithfulness(peer_items, server, venv_dir=REPO / ".bench-peers-venv")
        except Exception as exc:  # the peers' install needs PyPI; report instead of losing the other numbers
            out["peers"] = {"deepeval": {"error": str(exc)[:300]}, "ragas": {"error": str(exc)[:300]}}
        ours = out["tiers"]
        out["ratios"] = {}
        for name, peer in out["peers"].items():
            if "calls_per_item" in peer:
                for tier in ("fast_llm", "full_llm"):
                    mine = ours[tier]["faithfulness_items"]
                    out["ratios"][f"{name} / misstep {tier}"] = (
                        f"{round(peer['calls_per_item'] / mine['calls_per_item'], 2)}x the calls, "
                        f"{round(peer['tokens_per_item'] / mine['tokens_per_item'], 2)}x the tokens"
                    )
        out["fast_llm_500"] = fast_llm_wall_time(redis_url, workdir / "llm", answered_items(data_dir, 500), server)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.bench")
    parser.add_argument("--data-dir", default=str(REPO.parent / "shared" / "eval"))
    parser.add_argument("--out", default=str(REPO / "bench-results.json"))
    parser.add_argument("--batch-items", type=int, default=10_000)
    parser.add_argument("--only", choices=("all", "llm"), default="all", help="llm: only the LLM-tier figures")
    args = parser.parse_args()
    data_dir = Path(args.data_dir)
    configure_logging(Settings(log_level="WARNING"))
    results: dict[str, Any] = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
    }
    if args.only == "all":
        results["machine_parallelism_2_vs_1"] = machine_parallelism()
        results["engine"] = engine_throughput(data_dir)
        results["adversarial"] = adversarial_worst_case(MB, repeat=2)
    port = free_port()
    redis = start_redis(port)
    try:
        with tempfile.TemporaryDirectory(prefix="misstep-bench-") as tmp:
            if args.only == "all":
                results["service"] = run_service_benchmarks(
                    f"redis://127.0.0.1:{port}/0", Path(tmp), batch_items(data_dir, args.batch_items)
                )
            results["llm"] = llm_benchmarks(data_dir, f"redis://127.0.0.1:{port}/0", Path(tmp))
    finally:
        redis.terminate()
    Path(args.out).write_text(json.dumps(results, indent=1))
    text = table(results) if args.only == "all" else "\n".join(llm_table(results["llm"]))
    sys.stdout.write(text + f"\n\n(JSON: {args.out})\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
