"""`misstep analyze` and `misstep eval`: same engine in-process, readable output, CI exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from app.cli import main
from tests.conftest import REPO

BERLIN = {
    "input": "What is the capital of France?",
    "output": "The capital of France is Berlin.",
    "context": ["France is a country in Western Europe. Its capital is Paris."],
}
PARIS = {**BERLIN, "output": "The capital of France is Paris."}


def test_analyze_seed_file_prints_the_failure_and_gates_ci(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["analyze", str(REPO / "examples" / "seed-request.json")])
    out = capsys.readouterr().out
    assert code == 1
    assert "hallucination_grounding.unsupported_claim" in out and "Berlin" in out
    assert "should_gate_ci=True" in out


def test_analyze_json_prints_the_full_response(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "data.jsonl"
    path.write_text("\n".join(json.dumps(x) for x in (PARIS, PARIS)) + "\n")
    code = main(["analyze", str(path), "--json"])
    result = json.loads(capsys.readouterr().out)
    assert code == 0
    assert result["status"] == "completed" and len(result["inputs"]) == 2 and result["feature_kind"] == "rag"
    assert result["summary"]["total_failures_detected"] == 0


def test_analyze_reads_csv_with_a_json_context_column(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "data.csv"
    path.write_text(
        'input,output,context\n"What is the capital of France?","The capital of France is Berlin.",'
        '"[""France is a country in Western Europe. Its capital is Paris.""]"\n'
    )
    code = main(["analyze", str(path), "--json"])
    result = json.loads(capsys.readouterr().out)
    assert code == 1 and result["input_type"] == "csv"
    assert result["inputs"][0]["context"] == ["France is a country in Western Europe. Its capital is Paris."]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("bad.jsonl", '{"input": "a", "output": "b"}\n{"input": "no output"}\n', "bad.jsonl:2"),
        ("bad.json", '{"not": "a list"}', "expected a JSON list"),
        ("bad.csv", "input\nonly input\n", "row 2"),
        ("data.txt", "hello", "unsupported file type"),
        ("empty.json", "[]", "at least one item"),
    ],
)
def test_invalid_files_exit_2_naming_the_problem(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, content: str, message: str
) -> None:
    path = tmp_path / name
    path.write_text(content)
    assert main(["analyze", str(path)]) == 2
    assert message in capsys.readouterr().err


def test_installed_console_script_runs_the_example_dataset() -> None:
    script = Path(sys.executable).with_name("misstep")
    done = subprocess.run(
        [str(script), "analyze", str(REPO / "examples" / "support-bot.json")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1, done.stderr
    assert "9 item(s)" in done.stdout and "feature_kind=agentic_rag" in done.stdout


def test_eval_prints_per_dataset_scores(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "halueval_qa"
    folder.mkdir()
    rows = [{**BERLIN, "label": "hallucinated"}, {**PARIS, "label": "faithful"}]
    (folder / "dev.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    assert main(["eval", "--data-dir", str(tmp_path), "--json"]) == 0
    [row] = json.loads(capsys.readouterr().out)
    assert row["dataset"] == "halueval_qa" and row["items"] == 2
    assert (row["tp"], row["tn"], row["fp"], row["fn"]) == (1, 1, 0, 0)
    assert row["precision"] == 1.0 and row["recall"] == 1.0 and row["balanced_accuracy"] == 1.0
