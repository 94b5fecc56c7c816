"""Judge cost of the peers' faithfulness metrics: DeepEval's and RAGAS's calls and tokens per item, measured.

`peer_faithfulness()` installs DeepEval and RAGAS (pinned) into a virtualenv of their own, runs
tests/bench/peer_faithfulness.py there once per framework against the loopback LLM server, and reads the server's
counters, so the numbers come from the libraries' real code paths on the same items misstep's tiers are given.
The server answers with PeerResponder, whose answers parse on the first try, so no retry inflates a count.

Standalone: python -m tests.bench.peers [--data-dir ../shared/eval] [--venv-dir .bench-peers-venv] [--n 50]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from tests.bench.peer_faithfulness import OFFLINE_ENV
from tests.bench.peer_responder import PeerResponder
from tests.llm_server import LLMServer

REPO = Path(__file__).resolve().parents[2]
SCRIPT = Path(__file__).with_name("peer_faithfulness.py")
# ragas 0.4.3 imports langchain_community.chat_models.vertexai, which langchain-community 0.4.2 removed.
PEER_PINS = ("deepeval==4.3.1", "ragas==0.4.3", "langchain-community==0.4.1")
MARKER = ".misstep-peers-installed"
METRICS = {
    "deepeval": "FaithfulnessMetric() defaults (include_reason=True), a_measure per item",
    "ragas": "metrics.collections.Faithfulness via llm_factory (instructor JSON mode), ascore per item",
}
DATA_SETS = ("ragtruth", "halueval_qa")


def faithfulness_items(data_dir: Path, n: int = 50) -> list[dict[str, Any]]:
    """The first `n` items with an output and a context from ragtruth/dev.jsonl (then halueval_qa/dev.jsonl)."""
    items: list[dict[str, Any]] = []
    for name in DATA_SETS:
        path = data_dir / name / "dev.jsonl"
        if not path.exists():
            continue
        for line in path.read_text().splitlines():
            row = json.loads(line) if line.strip() else {}
            if row.get("output", "").strip() and row.get("input", "").strip() and any(row.get("context") or []):
                items.append({"input": row["input"], "output": row["output"], "context": list(row["context"])})
            if len(items) == n:
                return items
    return items


def ensure_peer_venv(venv_dir: Path) -> Path:
    """The peer venv's python, creating the venv and installing PEER_PINS unless its marker says they are there."""
    python = venv_dir / "bin" / "python"
    marker = venv_dir / MARKER
    if python.exists() and marker.exists() and marker.read_text().split() == list(PEER_PINS):
        return python
    sys.stderr.write(f"bench: installing {' '.join(PEER_PINS)} into {venv_dir} (once; takes a minute or two)\n")
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv_dir)], check=True)
    (venv_dir / ".gitignore").write_text("*\n")  # keeps the venv out of git status, as Python 3.13's venv does
    install = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *PEER_PINS],
        capture_output=True,
        text=True,
        check=False,
    )
    if install.returncode != 0:
        raise RuntimeError(f"installing the peers failed:\n{install.stdout[-2000:]}\n{install.stderr[-2000:]}")
    marker.write_text("\n".join(PEER_PINS) + "\n")
    return python


def _peer_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    env.update(OFFLINE_ENV)
    env["PYTHONNOUSERSITE"] = "1"
    return env


def _run_framework(python: Path, framework: str, items_file: Path, server: LLMServer, options: dict) -> dict:
    """One framework's run in the peer venv; its report plus the server's counts for it."""
    server.reset()
    command = [str(python), str(SCRIPT), "--framework", framework, "--items", str(items_file)]
    command += ["--base-url", server.openai_base_url, "--model", options["model"]]
    command += ["--concurrency", str(options["concurrency"])]
    started = time.perf_counter()
    try:
        done = subprocess.run(
            command, cwd=items_file.parent, env=_peer_env(), capture_output=True, text=True, timeout=options["timeout"]
        )
        lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
        report = json.loads(lines[-1]) if done.returncode == 0 and lines else {"error": done.stderr[-1500:]}
    except subprocess.TimeoutExpired:
        report = {"error": f"timed out after {options['timeout']} s"}
    n = options["n"]
    calls, tokens_in, tokens_out = len(server.calls), server.input_tokens, server.output_tokens
    return {
        "items": n,
        "scored": report.get("scored", 0),
        "mean_score": report.get("mean_score"),
        "failed_items": report.get("failed", n),
        "calls": calls,
        "calls_per_item": round(calls / n, 2),
        "input_tokens_per_item": round(tokens_in / n),
        "output_tokens_per_item": round(tokens_out / n),
        "tokens_per_item": round((tokens_in + tokens_out) / n),
        "seconds": round(time.perf_counter() - started, 2),
        "version": report.get("version", "?"),
        "stack": report.get("stack", {}),
        "metric": METRICS[framework],
        "errors": report.get("errors", []) or ([report["error"]] if "error" in report else []),
    }


def peer_faithfulness(
    items: list[dict[str, Any]],
    server: LLMServer,
    *,
    venv_dir: Path,
    model: str = "gpt-4o-mini",
    concurrency: int = 8,
    timeout_s: float = 300.0,
) -> dict[str, dict[str, Any]]:
    """{"deepeval": {...}, "ragas": {...}}: items, calls/tokens per item, failed items and version of each peer.

    `server` must be started; its responder and latency are replaced for the run and restored afterwards.
    Token counts are the server's own estimate (tests.llm_server.count_tokens), the same as for misstep's tiers.
    """
    if not items:
        raise ValueError("peer_faithfulness needs at least one item")
    python = ensure_peer_venv(venv_dir)
    responder = PeerResponder()
    saved = server.responder, server.latency_s
    server.responder, server.latency_s = responder, 0.0
    options = {"model": model, "concurrency": concurrency, "timeout": timeout_s, "n": len(items)}
    results: dict[str, dict[str, Any]] = {}
    try:
        with tempfile.TemporaryDirectory(prefix="misstep-peers-") as tmp:
            items_file = Path(tmp) / "items.json"
            items_file.write_text(json.dumps(items))
            for framework in METRICS:
                before = responder.fallbacks
                results[framework] = _run_framework(python, framework, items_file, server, options)
                results[framework]["unrecognised_prompts"] = responder.fallbacks - before
    finally:
        server.responder, server.latency_s = saved
        server.reset()
    return results


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.peers")
    parser.add_argument("--data-dir", default=str(REPO.parent / "shared" / "eval"))
    parser.add_argument("--venv-dir", default=str(REPO / ".bench-peers-venv"))
    parser.add_argument("--n", type=int, default=50)
    args = parser.parse_args()
    items = faithfulness_items(Path(args.data_dir), args.n)
    started = time.perf_counter()
    with LLMServer() as server:
        results = peer_faithfulness(items, server, venv_dir=Path(args.venv_dir))
    sys.stdout.write(json.dumps(results, indent=1) + f"\n({time.perf_counter() - started:.1f} s)\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
