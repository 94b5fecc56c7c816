"""Engine throughput: rule_based items/s in one process over the eval dev sets, and CPU µs per detector."""

from __future__ import annotations

import gc
import json
import time
from collections import Counter
from pathlib import Path
from typing import Any

from taxonomy.catalogue import load_catalogue
from taxonomy.registry import discover
from workers.contract import RunOptions
from workers.engine import analyze_items, build_plan, context_order
from workers.evaluation import EVAL_SETS, to_dataset_item
from workers.intake import detect_feature_kind, to_item
from workers.settings import Settings


def load_sets(data_dir: Path) -> dict[str, list[Any]]:
    settings = Settings()
    sets = {}
    for spec in EVAL_SETS:
        path = data_dir / spec.name / "dev.jsonl"
        if path.exists():
            rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
            sets[spec.name] = [to_item(to_dataset_item(r, spec), i, settings) for i, r in enumerate(rows)]
    return sets


def engine_throughput(data_dir: Path, repeats: int = 3) -> dict[str, Any]:
    """Items/s per set (best of `repeats`) and overall, plus CPU µs/item for each detector.

    What is loaded before the clock starts (catalogue, detectors, the dev sets) is frozen out of the garbage
    collector's full passes, as a worker freezes its start-up state: otherwise a full pass over thousands of
    loaded items, landing inside a small set's few milliseconds, halves its figure at random."""
    catalogue, detectors = load_catalogue(), discover()
    sets = load_sets(data_dir)
    gc.collect()
    gc.freeze()
    per_set: dict[str, float] = {}
    total_items, total_seconds = 0, 0.0
    detector_ns: Counter[str] = Counter()
    detector_items = 0
    for name, items in sets.items():
        options = RunOptions(feature_kind=detect_feature_kind(items), feature_kind_detected=True, tier="rule_based")
        plan = build_plan(catalogue, detectors, options)
        best = min(_timed(items, plan) for _ in range(repeats))
        per_set[name] = len(items) / best
        total_items += len(items)
        total_seconds += best
        detector_items += len(items)
        in_engine_order = [items[at] for at in context_order(items)]
        for sub, found in plan.checks:
            for item in in_engine_order:
                if set(sub.applies_to) & item.kinds(options.feature_kind) and all(item.has(n) for n in found.needs):
                    started = time.process_time_ns()
                    found.detect(item)
                    detector_ns[sub.id] += time.process_time_ns() - started
    return {
        "items_per_s_by_set": {k: round(v, 1) for k, v in per_set.items()},
        "items_per_s_overall": round(total_items / total_seconds, 1) if total_seconds else 0.0,
        "items": total_items,
        "cpu_us_per_item_by_detector": {k: round(v / 1000 / detector_items, 1) for k, v in detector_ns.most_common()},
    }


def _timed(items: list[Any], plan: Any) -> float:
    started = time.perf_counter()
    analyze_items(items, plan, run_id="bench")
    return time.perf_counter() - started
