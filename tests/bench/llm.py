"""LLM tiers in `make bench`: judge calls and tokens per item per tier, and a 500-item fast_llm run's wall time.

Everything runs against tests/llm_server.LLMServer on loopback (no real provider, no network), answering
with `judge_responder`: a verdict for every subcategory the judge asks about and one claim per sentence of
the output, so every answer parses on the first try and no repair call inflates a count.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from pathlib import Path
from typing import Any

import httpx

from taxonomy.catalogue import load_catalogue
from taxonomy.model import Item
from taxonomy.registry import discover
from tests.conftest import start_service
from tests.llm_server import LLMServer, RecordedCall
from workers.contract import RunOptions
from workers.engine import build_plan
from workers.judged_engine import analyze_items_judged
from workers.llm.judge import Judge
from workers.llm.providers import make_provider
from workers.settings import Settings

TIERS = ("fast_llm", "full_llm", "deep")
FA = "/v2/failure-analysis"
_ENUM = re.compile(r'"subcategory": \{[^{}]*"enum": \[([^\]]*)\]')


def judge_responder(call: RecordedCall) -> str:
    """A well-formed judgment for whatever the judge asked: pass verdicts, or one supported claim per sentence."""
    schema = call.schema or {}
    if "claims" in schema.get("properties", {}):
        output = call.user.rsplit("### output", 1)[-1].split("</item-", 1)[0]
        sentences = [s.strip() for s in re.split(r"(?<=[.!?])\s+", output) if len(s.strip()) > 20][:8]
        claims = [
            {"claim": s[:200], "verdict": "supported", "context_index": 0, "context_snippet": s[:80]} for s in sentences
        ]
        return json.dumps({"claims": claims})
    match = _ENUM.search(json.dumps(schema))
    ids = json.loads(f"[{match.group(1)}]") if match else []
    verdicts = [
        {
            "subcategory": sub,
            "decision": "pass",
            "severity": 0.0,
            "confidence": 0.8,
            "rationale": "No problem found.",
            "evidence": "",
            "counterfactual": "",
        }
        for sub in ids
    ]
    return json.dumps({"verdicts": verdicts, "root_cause": ""})


def dev_sample(data_dir: Path, per_set: int = 10) -> list[dict[str, Any]]:
    """The first `per_set` items of every dev set (all kinds of item: RAG, chat, agent transcripts)."""
    rows: list[dict[str, Any]] = []
    for path in sorted(data_dir.glob("**/dev.jsonl")):
        for line in path.read_text().splitlines()[:per_set]:
            row = json.loads(line)
            rows.append(
                {"input": row.get("input", ""), "output": row.get("output", ""), "context": row.get("context") or []}
            )
    return rows


def answered_items(data_dir: Path, n: int) -> list[dict[str, Any]]:
    """`n` dev items that carry an answer (items without one have nothing to judge), cycling over the sets."""
    rows = [row for row in dev_sample(data_dir, per_set=200) if str(row["output"]).strip()]
    return [rows[i % len(rows)] for i in range(n)] if rows else []


def _items(rows: list[dict[str, Any]]) -> list[Item]:
    return [
        Item(index=i, input=str(r["input"]), output=str(r["output"]), context=tuple(str(c) for c in r["context"]))
        for i, r in enumerate(rows)
    ]


async def _tier_cost(rows: list[dict[str, Any]], tier: str, server: LLMServer) -> dict[str, Any]:
    settings = Settings(llm_provider="openai", llm_base_url=server.openai_base_url, llm_api_key="sk-bench")
    catalogue = load_catalogue()
    items = _items(rows)
    provider = make_provider(settings)
    calls = tokens = 0
    try:
        for kind in ("rag", "generic_llm"):
            subset = [item for item in items if bool(item.context) == (kind == "rag")]
            if not subset:
                continue
            options = RunOptions(feature_kind=kind, feature_kind_detected=False, tier=tier)  # type: ignore[arg-type]
            plan = build_plan(catalogue, discover(), options)
            result = await analyze_items_judged(
                subset, plan, Judge(provider, settings, None), settings=settings, run_id="bench"
            )
            calls += result.judge_calls
            tokens += result.tokens_used
    finally:
        await provider.aclose()
    return {
        "items": len(items),
        "calls_per_item": round(calls / len(items), 2),
        "tokens_per_item": round(tokens / len(items)),
    }


def tier_costs(data_dir: Path, peer_items: list[dict[str, Any]], server: LLMServer) -> dict[str, Any]:
    """Per tier: calls and tokens per item on the peers' 50 faithfulness items and on a sample of every dev set."""
    server.responder, server.latency_s = judge_responder, 0.0
    sample = dev_sample(data_dir)
    out: dict[str, Any] = {}
    for tier in TIERS:
        out[tier] = {
            "faithfulness_items": asyncio.run(_tier_cost(peer_items, tier, server)),
            "dev_sample": asyncio.run(_tier_cost(sample, tier, server)),
        }
    return out


def fast_llm_wall_time(redis_url: str, workdir: Path, rows: list[dict[str, Any]], server: LLMServer) -> dict[str, Any]:
    """Submit -> completed of one fast_llm run over the service, the judge answering after 300 ms."""
    server.responder, server.latency_s = judge_responder, 0.3
    server.reset()
    settings = Settings(llm_provider="openai")
    service = start_service(
        redis_url,
        workdir,
        workers=1,
        LLM_PROVIDER="openai",
        LLM_BASE_URL=server.openai_base_url,
        LLM_API_KEY="sk-bench",
    )
    try:
        marked = [dict(row, input=f"{row['input']} [wall-{i}]") for i, row in enumerate(rows)]  # no cache hits
        with httpx.Client(base_url=service.base_url, timeout=120) as http:
            started = time.perf_counter()
            answer = http.post(f"{FA}/analyze", json={"dataset": marked, "tier": "fast_llm"})
            assert answer.status_code == 202, answer.text[:500]
            run_id = answer.json()["run_id"]
            while http.get(f"{FA}/runs/{run_id}/status").json()["status"] not in ("completed", "failed"):
                time.sleep(0.05)
            elapsed = time.perf_counter() - started
            result = http.get(f"{FA}/runs/{run_id}").json()
    finally:
        service.stop()
        server.latency_s = 0.0
    return {
        "items": len(rows),
        "judge_latency_ms": 300,
        "concurrency_per_worker": settings.llm_max_concurrency,
        "workers": 1,
        "seconds": round(elapsed, 2),
        "judge_calls": result["judge_calls"],
        "peak_concurrency": server.peak_concurrency,
        "status": result["status"],
    }
