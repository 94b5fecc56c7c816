"""The `misstep` command: analyze a dataset file in-process, serve the API, run a worker, run both, eval.

misstep analyze FILE [--json] [--feature-kind K] [--buckets B,..] [--subcategories S,..]
    exit 0 = no gating failure, 1 = should_gate_ci is true, 2 = the input is invalid
misstep serve [--host H] [--port P]       the HTTP API
misstep worker                            one arq worker process
misstep run                               Redis (found or started) + API + worker; Ctrl-C stops all
misstep eval [--split dev] [--data-dir ../shared/eval] [--json]
misstep keys create --tenant T [--plan P] [--credits N] | keys list | keys revoke KEY_ID
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import TextIO

import msgspec

from app import keys_cli
from workers.contract import RunResult
from workers.datasets import DatasetFileError, load_dataset
from workers.settings import Settings, SettingsError
from workers.submission import SubmissionError

EXIT_OK, EXIT_GATE, EXIT_INVALID = 0, 1, 2


def _csv_list(value: str | None) -> list[str] | None:
    return [v.strip() for v in value.split(",") if v.strip()] if value else None


def _progress_bar(stream: TextIO) -> object:
    def show(done: int, total: int) -> None:
        width = 30
        filled = int(width * done / max(1, total))
        stream.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} items")
        if done >= total:
            stream.write("\n")
        stream.flush()

    return show


def render_summary(result: RunResult, source: str) -> str:
    """A readable report of a run: verdict, counts, and the failures with their evidence."""
    s = result.summary
    lines = [
        f"misstep analysis of {source}: {s.total_items} item(s), feature_kind={result.feature_kind}, "
        f"tier={result.tier}, {result.duration_ms} ms",
        f"  failures: {s.total_failures_detected}   passes: {s.total_passes}   unsure: {s.total_uncertain}   "
        f"items with failures: {s.items_with_failures}/{s.total_items}",
        f"  overall severity: {s.overall_severity:.1f}/5   primary failure: {s.primary_failure_name or '-'}",
        f"  should_alert={s.should_alert}  should_gate_ci={s.should_gate_ci}  "
        f"needs_human_review={s.needs_human_review}",
    ]
    fails = sorted((t for t in result.failure_tags if t.decision == "fail"), key=lambda t: (-t.severity, t.item_index))
    if fails:
        lines.append("")
        lines.append("Failures (most severe first):")
    for tag in fails[:50]:
        lines.append(
            f"  item {tag.item_index:>4}  {tag.bucket_id}.{tag.subcategory_id}  "
            f"severity {tag.severity:.1f}  confidence {tag.confidence:.2f}"
        )
        if tag.judge_rationale:
            lines.append(f"             {tag.judge_rationale}")
        for ev in tag.evidence_items[:3]:
            lines.append(f"             [{ev.source}] {ev.content_snippet or ev.description}")
    if len(fails) > 50:
        lines.append(f"  … and {len(fails) - 50} more (use --json for everything)")
    if result.eval_metrics:
        lines.append("")
        lines.append("Eval metrics: " + ", ".join(f"{k}={v:.3f}" for k, v in result.eval_metrics.items()))
    if result.detectors_skipped:
        lines.append(
            f"Skipped (needs an LLM tier, or inputs not present): {len(result.detectors_skipped)} subcategories"
        )
    return "\n".join(lines)


def cmd_analyze(args: argparse.Namespace, settings: Settings) -> int:
    from workers.inprocess import analyze_dataset

    path = Path(args.file)
    try:
        dataset, input_type = load_dataset(path)
        bar = _progress_bar(sys.stderr) if len(dataset) >= 50 and sys.stderr.isatty() else None
        result = analyze_dataset(
            dataset,
            settings=settings,
            feature_kind=args.feature_kind,
            buckets=_csv_list(args.buckets),
            subcategories=_csv_list(args.subcategories),
            input_type=input_type,
            progress=bar,  # type: ignore[arg-type]
        )
    except (DatasetFileError, SubmissionError) as exc:
        sys.stderr.write(f"misstep: invalid input: {exc}\n")
        return EXIT_INVALID
    if args.json:
        sys.stdout.write(msgspec.json.encode(result).decode() + "\n")
    else:
        sys.stdout.write(render_summary(result, str(path)) + "\n")
    return EXIT_GATE if result.summary.should_gate_ci else EXIT_OK


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    """The HTTP API: one process, or API_PROCESSES processes on one port (each builds its app from the env)."""
    import uvicorn

    from app.main import create_app

    host, port = args.host or settings.host, args.port or settings.port
    server = {
        "host": host,
        "port": port,
        "log_config": None,
        "access_log": False,  # app.request_id writes the access lines (ACCESS_LOG)
        "timeout_keep_alive": settings.http_keep_alive_s,
    }
    if settings.api_processes > 1:
        from workers.logs import configure_logging

        configure_logging(settings)
        os.environ.update(HOST=host, PORT=str(port))  # each process's Settings (dev mode) see the real bind
        uvicorn.run("app.main:create_app", factory=True, workers=settings.api_processes, **server)
    else:
        uvicorn.run(create_app(settings), **server)
    return EXIT_OK


def cmd_worker(args: argparse.Namespace, settings: Settings) -> int:
    from workers.runner import main as run_worker

    run_worker(settings)
    return EXIT_OK


def _raise_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    """Redis (REDIS_URL, or a local one started here), then the API and one worker in the foreground."""
    from workers.localredis import RedisUnavailableError, ensure_redis

    try:
        url, redis_process = ensure_redis(settings.redis_url)
    except RedisUnavailableError as exc:
        sys.stderr.write(f"misstep: {exc}\n")
        return EXIT_INVALID
    if redis_process is not None:
        sys.stderr.write(f"misstep: started a local Redis at {url} (no persistence; stops with misstep run)\n")
    env = {**os.environ, "REDIS_URL": url}
    port = str(args.port or settings.port)
    children = [
        subprocess.Popen([sys.executable, "-m", "app.cli", "serve", "--port", port], env=env),
        subprocess.Popen([sys.executable, "-m", "app.cli", "worker"], env=env),
    ]
    sys.stderr.write(f"misstep: API on http://{settings.host}:{port} (OpenAPI at /schema); Ctrl-C stops\n")
    signal.signal(signal.SIGTERM, _raise_interrupt)  # a supervisor's SIGTERM stops everything like Ctrl-C
    try:
        while all(child.poll() is None for child in children):
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        for child in children:
            try:
                child.wait(timeout=25)
            except subprocess.TimeoutExpired:
                child.kill()
        if redis_process is not None:
            redis_process.terminate()
            redis_process.wait(timeout=10)
    return EXIT_OK


def cmd_eval(args: argparse.Namespace, settings: Settings) -> int:
    from workers.evaluation import format_table, run_eval

    data_dir = Path(args.data_dir)
    if not data_dir.is_dir():
        sys.stderr.write(f"misstep: eval data directory {data_dir} not found (--data-dir)\n")
        return EXIT_INVALID
    rows = run_eval(data_dir, args.split, settings, only=_csv_list(args.only))
    if args.json:
        sys.stdout.write(json.dumps(rows, indent=1) + "\n")
    else:
        sys.stdout.write(f"rule_based tier on {data_dir}/*/{args.split}.jsonl (unsure counts as negative)\n")
        sys.stdout.write(format_table(rows) + "\n")
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="misstep", description="Find out why LLM applications fail.")
    sub = parser.add_subparsers(dest="command", required=True)
    analyze = sub.add_parser("analyze", help="analyze a .json/.jsonl/.csv dataset in this process")
    analyze.add_argument("file")
    analyze.add_argument("--json", action="store_true", help="print the full result as JSON")
    analyze.add_argument("--feature-kind", choices=["rag", "agent", "agentic_rag", "generic_llm"])
    analyze.add_argument("--buckets", help="comma-separated bucket ids")
    analyze.add_argument("--subcategories", help="comma-separated subcategory ids")
    serve = sub.add_parser("serve", help="run the HTTP API")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    sub.add_parser("worker", help="run one arq worker")
    run = sub.add_parser("run", help="Redis + API + worker in the foreground (development)")
    run.add_argument("--port", type=int)
    ev = sub.add_parser("eval", help="score the rule_based tier on labelled benchmark sets")
    ev.add_argument("--split", default="dev", choices=["dev", "heldout"])
    ev.add_argument("--data-dir", default="../shared/eval")
    ev.add_argument("--only", help="comma-separated dataset names")
    ev.add_argument("--json", action="store_true")
    keys_cli.add_parser(sub)
    return parser


COMMANDS = {
    "analyze": cmd_analyze,
    "serve": cmd_serve,
    "worker": cmd_worker,
    "run": cmd_run,
    "eval": cmd_eval,
    "keys": keys_cli.cmd_keys,
}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        sys.stderr.write(f"misstep: {exc}\n")
        return EXIT_INVALID
    if args.command in ("analyze", "eval"):
        from workers.logs import configure_logging

        configure_logging(msgspec.structs.replace(settings, log_level="ERROR"), stream=sys.stderr)
    return COMMANDS[args.command](args, settings)


if __name__ == "__main__":
    sys.exit(main())
