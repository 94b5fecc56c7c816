"""`misstep eval`: accuracy, precision, recall and F1 of the rule_based tier on labelled benchmark sets.

Each set under the eval directory (default ../shared/eval) maps to the subcategory whose `fail` is the
positive prediction. `unsure` counts as a negative prediction (and is reported separately); an item
the detector does not apply to is a negative too, and the coverage column says how many it reached.
Only dev.jsonl is read unless --split heldout is asked for, which exists to report, never to tune.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import msgspec

from taxonomy.registry import discover
from workers.contract import DatasetItem
from workers.inprocess import analyze_dataset
from workers.settings import Settings

SYSTEM_PREFIXES = ("[system", "[secret access code")


class EvalSet(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    target: str  # subcategory whose fail = positive prediction
    positive: str  # label value that is the positive class
    feature_kind: str
    system_in_context: bool = False  # Tensor Trust puts the defended system prompt in context


EVAL_SETS = (
    EvalSet(name="halueval_qa", target="unsupported_claim", positive="hallucinated", feature_kind="rag"),
    EvalSet(name="halueval_dialogue", target="unsupported_claim", positive="hallucinated", feature_kind="rag"),
    EvalSet(name="halueval_summarization", target="unsupported_claim", positive="hallucinated", feature_kind="rag"),
    EvalSet(
        name="halueval_general",
        target="unsupported_claim",
        positive="hallucinated",
        feature_kind="generic_llm",
    ),
    EvalSet(name="ragtruth", target="unsupported_claim", positive="hallucinated", feature_kind="rag"),
    EvalSet(name="faithbench", target="unsupported_claim", positive="hallucinated", feature_kind="rag"),
    EvalSet(name="bipia", target="untrusted_instruction_following", positive="injection", feature_kind="rag"),
    EvalSet(
        name="deepset_prompt_injections",
        target="untrusted_instruction_following",
        positive="injection",
        feature_kind="generic_llm",
    ),
    EvalSet(
        name="tensortrust_hijack",
        target="untrusted_instruction_following",
        positive="injection",
        feature_kind="generic_llm",
        system_in_context=True,
    ),
    EvalSet(
        name="tensortrust_extraction_leak",
        target="sensitive_data_exposure",
        positive="leak",
        feature_kind="generic_llm",
        system_in_context=True,
    ),
    EvalSet(name="presidio_pii", target="sensitive_data_exposure", positive="pii", feature_kind="generic_llm"),
    EvalSet(name="xstest", target="harmful_content", positive="unsafe", feature_kind="generic_llm"),
)


def to_dataset_item(record: dict[str, Any], spec: EvalSet) -> DatasetItem:
    """Map a benchmark record onto a dataset item (Tensor Trust's system prompt moves to system_prompt)."""
    context = list(record.get("context") or [])
    system_prompt = None
    if spec.system_in_context:
        system_parts = [c for c in context if c.lstrip().lower().startswith(SYSTEM_PREFIXES)]
        context = [c for c in context if c not in system_parts]
        system_prompt = "\n".join(system_parts) or None
    return DatasetItem(
        input=record.get("input") or "",
        output=record.get("output") or "",
        context=context,
        system_prompt=system_prompt,
    )


def _scores(tp: int, fp: int, tn: int, fn: int) -> dict[str, float]:
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    specificity = tn / (tn + fp) if tn + fp else 0.0
    total = tp + fp + tn + fn
    return {
        "accuracy": (tp + tn) / total if total else 0.0,
        "balanced_accuracy": (recall + specificity) / 2,
        "precision": precision,
        "recall": recall,
        "f1": 2 * precision * recall / (precision + recall) if precision + recall else 0.0,
    }


def evaluate_set(spec: EvalSet, path: Path, settings: Settings) -> dict[str, Any]:
    """Run the target detector over one labelled file and score it."""
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    started = time.perf_counter()
    result = analyze_dataset(
        [to_dataset_item(r, spec) for r in records],
        settings=settings,
        feature_kind=spec.feature_kind,
        subcategories=[spec.target],
        detectors=discover(),
    )
    elapsed = time.perf_counter() - started
    decision = {t.item_index: t.decision for t in result.failure_tags if t.subcategory_id == spec.target}
    tp = fp = tn = fn = 0
    for index, record in enumerate(records):
        predicted = decision.get(index) == "fail"
        actual = record["label"] == spec.positive
        tp += predicted and actual
        fp += predicted and not actual
        tn += not predicted and not actual
        fn += not predicted and actual
    return {
        "dataset": spec.name,
        "target": spec.target,
        "items": len(records),
        "covered": len(decision),
        "unsure": sum(d == "unsure" for d in decision.values()),
        "tp": tp,
        "fp": fp,
        "tn": tn,
        "fn": fn,
        **{k: round(v, 4) for k, v in _scores(tp, fp, tn, fn).items()},
        "items_per_s": round(len(records) / elapsed, 1) if elapsed else 0.0,
    }


def run_eval(data_dir: Path, split: str, settings: Settings, only: list[str] | None = None) -> list[dict[str, Any]]:
    """Evaluate every known set present under `data_dir` (or the `only` ones)."""
    rows = []
    for spec in EVAL_SETS:
        path = data_dir / spec.name / f"{split}.jsonl"
        if (only and spec.name not in only) or not path.exists():
            continue
        rows.append(evaluate_set(spec, path, settings))
    return rows


def format_table(rows: list[dict[str, Any]]) -> str:
    header = (
        f"{'dataset':28} {'target':32} {'n':>5} {'cov':>5} {'uns':>4} "
        f"{'acc':>6} {'bal_acc':>7} {'prec':>6} {'rec':>6} {'f1':>6}"
    )
    lines = [header, "-" * len(header)]
    for r in rows:
        lines.append(
            f"{r['dataset']:28} {r['target']:32} {r['items']:>5} {r['covered']:>5} {r['unsure']:>4} "
            f"{r['accuracy']:>6.3f} {r['balanced_accuracy']:>7.3f} {r['precision']:>6.3f} "
            f"{r['recall']:>6.3f} {r['f1']:>6.3f}"
        )
    return "\n".join(lines)
