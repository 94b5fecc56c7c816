"""DeepEval's and RAGAS's faithfulness metrics on a file of items, judged by an OpenAI-compatible server.

Runs inside the separate peer virtualenv made by tests/bench/peers.py (it imports nothing from misstep). One
framework per run, so the caller can read the judge server's call and token counters for each on its own:

    python peer_faithfulness.py --framework deepeval|ragas --items ITEMS.json --base-url URL [--model M]

Items are [{"input", "output", "context": [str]}]. Each item is scored through the library's own single-item API
(DeepEval `FaithfulnessMetric.a_measure`, RAGAS `collections.Faithfulness.ascore`), up to --concurrency at once.
Prints one JSON line: {"framework", "version", "stack", "items", "scored", "failed", "nan", "errors", "seconds"}.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import sys
import time
from collections.abc import Awaitable, Callable
from importlib import metadata
from typing import Any

API_KEY = "sk-bench"
OFFLINE_ENV = {
    "DEEPEVAL_TELEMETRY_OPT_OUT": "YES",
    "DEEPEVAL_DISABLE_DOTENV": "1",
    "DEEPEVAL_EVAL_MODE": "llm",
    "RAGAS_DO_NOT_TRACK": "true",
    "HF_HUB_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "NO_PROXY": "127.0.0.1,localhost",
    "no_proxy": "127.0.0.1,localhost",
    "OPENAI_API_KEY": API_KEY,
}

Scorer = Callable[[dict[str, Any]], Awaitable[float]]


def deepeval_scorer(base_url: str, model: str) -> Scorer:
    """DeepEval FaithfulnessMetric with its defaults (include_reason=True), judge = OpenAIModel at base_url."""
    from deepeval.metrics import FaithfulnessMetric
    from deepeval.models import OpenAIModel
    from deepeval.test_case import LLMTestCase

    judge = OpenAIModel(model=model, api_key=API_KEY, base_url=base_url)

    async def score(item: dict[str, Any]) -> float:
        metric = FaithfulnessMetric(model=judge, eval_mode="llm", async_mode=True)
        case = LLMTestCase(input=item["input"], actual_output=item["output"], retrieval_context=item["context"])
        return float(await metric.a_measure(case, _show_indicator=False))

    return score


def ragas_scorer(base_url: str, model: str) -> Scorer:
    """RAGAS collections.Faithfulness (statements -> NLI), LLM from llm_factory over an AsyncOpenAI client."""
    from openai import AsyncOpenAI
    from ragas.llms import llm_factory
    from ragas.metrics.collections import Faithfulness

    metric = Faithfulness(llm=llm_factory(model, client=AsyncOpenAI(api_key=API_KEY, base_url=base_url)))

    async def score(item: dict[str, Any]) -> float:
        result = await metric.ascore(
            user_input=item["input"], response=item["output"], retrieved_contexts=item["context"]
        )
        return float(result.value)

    return score


FRAMEWORKS: dict[str, tuple[Callable[[str, str], Scorer], tuple[str, ...]]] = {
    "deepeval": (deepeval_scorer, ("deepeval", "openai")),
    "ragas": (ragas_scorer, ("ragas", "instructor", "openai")),
}


async def run(framework: str, items: list[dict[str, Any]], base_url: str, model: str, concurrency: int) -> dict:
    make, packages = FRAMEWORKS[framework]
    score = make(base_url, model)
    gate = asyncio.Semaphore(concurrency)
    errors: list[str] = []

    async def one(item: dict[str, Any]) -> float | None:
        async with gate:
            try:
                return await score(item)
            except Exception as exc:  # a peer's failure on one item is a measurement, not a crash
                errors.append(f"{type(exc).__name__}: {str(exc)[:300]}")
                return None

    started = time.perf_counter()
    scores = await asyncio.gather(*(one(item) for item in items))
    done = [s for s in scores if s is not None]
    return {
        "framework": framework,
        "version": metadata.version(packages[0]),
        "stack": {name: metadata.version(name) for name in packages},
        "items": len(items),
        "scored": len(done),
        "failed": len(items) - len(done),
        "nan": sum(1 for s in done if math.isnan(s)),
        "mean_score": round(sum(s for s in done if not math.isnan(s)) / max(1, len(done)), 4),
        "errors": errors[:5],
        "seconds": round(time.perf_counter() - started, 2),
    }


def main() -> int:
    parser = argparse.ArgumentParser(prog="peer_faithfulness.py")
    parser.add_argument("--framework", choices=sorted(FRAMEWORKS), required=True)
    parser.add_argument("--items", required=True)
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--model", default="gpt-4o-mini")
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    for name, value in OFFLINE_ENV.items():
        os.environ.setdefault(name, value)
    with open(args.items) as handle:
        items = json.load(handle)
    report = asyncio.run(run(args.framework, items, args.base_url, args.model, args.concurrency))
    sys.stdout.write(json.dumps(report) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
