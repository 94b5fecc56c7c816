"""Hostile input against a running misstep, and regex-catastrophic text through every detector in-process.

Over HTTP: deeply nested JSON, invalid UTF-8, text beyond MAX_FIELD_CHARS are refused with a 400 in the
caller's family shape and store nothing; NUL bytes are analysed like any character; a dataset of exactly
MAX_ITEMS_PER_RUN items is accepted and completes, one more is `dataset_too_large`.

In-process: texts built to trip backtracking regexes and quadratic scans, at the MAX_FIELD_CHARS limit in
every field a detector reads, run through the engine with every discovered detector. No timing is asserted
(speed is `python -m tests.bench.adversarial`); the run must finish with a tag from every detector and no
detector error.
"""

from __future__ import annotations

import msgspec
import pytest

from taxonomy.catalogue import load_catalogue
from taxonomy.registry import discover
from tests.conftest import Service
from workers.contract import DatasetItem, RunOptions
from workers.engine import analyze_items, build_plan
from workers.intake import to_item
from workers.settings import Settings

pytestmark = [pytest.mark.integration, pytest.mark.fuzz]

ANALYZE = "/v2/failure-analysis/analyze"
LIMIT = Settings().max_field_chars  # the service runs with the defaults
MAX_ITEMS = Settings().max_items_per_run
JSON = {"Content-Type": "application/json"}


def run_count(service: Service) -> int:
    with service.client() as http:
        return http.get("/v2/failure-analysis/runs/count").json()["count"]


def trace_count(service: Service) -> int:
    with service.client() as http:
        return http.get("/api/traces", params={"limit": 1}).json()["pagination"]["total"]


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def test_deep_json_nesting_is_a_400_and_stores_nothing(service: Service) -> None:
    runs, traces = run_count(service), trace_count(service)
    with service.client() as http:
        valiqor = http.post(
            ANALYZE, content='{"dataset": [{"output": "x", "metadata": {"a": ' + nested(10_000) + "}}]}", headers=JSON
        )
        thinkhive = http.post(
            "/api/traces",
            content='{"userMessage": "q", "agentResponse": "a", "metadata": {"a": ' + nested(10_000) + "}}",
            headers=JSON,
        )
    assert valiqor.status_code == 400, valiqor.text
    assert "nested too deeply" in valiqor.json()["detail"]
    assert thinkhive.status_code == 400, thinkhive.text
    assert thinkhive.json()["success"] is False
    assert thinkhive.json()["code"] == "VALIDATION_ERROR"
    assert (run_count(service), trace_count(service)) == (runs, traces)


def test_invalid_utf8_is_a_400_and_stores_nothing(service: Service) -> None:
    runs, traces = run_count(service), trace_count(service)
    with service.client() as http:
        valiqor = http.post(ANALYZE, content=b'{"dataset": [{"output": "caf\xe9 \xff"}]}', headers=JSON)
        thinkhive = http.post("/api/traces", content=b'{"userMessage": "\xc3\x28", "agentResponse": "a"}', headers=JSON)
    assert valiqor.status_code == 400, valiqor.text
    assert "UTF-8" in valiqor.json()["detail"]
    assert thinkhive.status_code == 400, thinkhive.text
    assert thinkhive.json()["code"] == "VALIDATION_ERROR"
    assert (run_count(service), trace_count(service)) == (runs, traces)


OVERSIZED = {
    "dataset[0].output": {"output": "x" * (LIMIT + 1)},
    "dataset[0].context[1]": {"context": ["doc", "y" * (LIMIT + 1)]},
    "dataset[0].messages[0].content": {"messages": [{"role": "user", "content": "z" * (LIMIT + 1)}]},
    "dataset[0].tool_calls[0].arguments": {"tool_calls": [{"name": "t", "arguments": {"q": "w" * LIMIT}}]},
}


@pytest.mark.parametrize("field", OVERSIZED)
def test_text_beyond_max_field_chars_is_a_400_naming_the_field(service: Service, field: str) -> None:
    runs = run_count(service)
    with service.client() as http:
        answer = http.post(ANALYZE, json={"dataset": [{"input": "q", "output": "a", **OVERSIZED[field]}]})
    assert answer.status_code == 400, answer.text[:500]
    body = answer.json()
    assert body["errors"][0]["loc"] == field
    assert "MAX_FIELD_CHARS" in body["detail"]
    assert run_count(service) == runs


def test_nul_bytes_are_analysed_like_any_character(service: Service) -> None:
    item = {
        "input": "What is\x00 the refund window?",
        "output": "Refunds\x00 take 30 days.\x00",
        "context": ["Refunds take 30 days.\x00\x00"],
        "tool_calls": [{"name": "lookup\x00", "arguments": {"q\x00": "\x00"}, "output": "\x00ok"}],
        "messages": [{"role": "user", "content": "\x00"}],
    }
    with service.client() as http:
        accepted = http.post(ANALYZE, json={"dataset": [item]})
        assert accepted.status_code == 200, accepted.text  # small: analysed inline
        run_id = accepted.json()["run_id"]
        assert service.wait_completed(run_id)["status"] == "completed"
        result = http.get(f"/v2/failure-analysis/runs/{run_id}").json()
        inputs = http.get(f"/v2/failure-analysis/runs/{run_id}/inputs").json()["inputs"]
        trace = http.post("/api/traces", json={"userMessage": "q\x00", "agentResponse": "\x00a"})
    assert result["detectors_run"]
    assert inputs[0]["output_text"] == item["output"]  # stored and echoed unchanged
    assert trace.status_code == 201, trace.text


def test_a_full_dataset_completes_and_one_more_item_is_too_large(service: Service) -> None:
    dataset = [{"input": f"question {n}", "output": f"answer {n}"} for n in range(MAX_ITEMS)]
    with service.client() as http:
        refused = http.post(ANALYZE, json={"dataset": [*dataset, {"output": "one too many"}]})
        accepted = http.post(ANALYZE, json={"dataset": dataset})
    assert refused.status_code == 400, refused.text[:500]
    assert refused.json()["error"] == "dataset_too_large"
    assert (refused.json()["dataset_size"], refused.json()["max_allowed"]) == (MAX_ITEMS + 1, MAX_ITEMS)
    assert accepted.status_code == 202, accepted.text[:500]
    assert accepted.json()["total_items"] == MAX_ITEMS
    status = service.wait_completed(accepted.json()["run_id"], timeout_s=120)
    assert status["status"] == "completed", status


# Texts that trip backtracking regexes and per-character or per-line scans, LIMIT characters long or sized
# to fall under the detectors' scan budgets.
CATASTROPHIC = {
    "spaces": "a" + " " * (LIMIT - 2) + "!",
    "a_run_then_bang": "a" * (LIMIT - 1) + "!",
    "nested_brackets": "([{" * (LIMIT // 6) + "}])" * (LIMIT // 6),
    "one_word": ("abcdefghij" * (LIMIT // 10))[:100_000],
    "newlines": "\n" * (LIMIT - 1) + "x",
    "combining_marks": ("e" + "\u0301" * 9) * (LIMIT // 10),
    # Cue words that let a detector's pattern run, then a long run it must not re-read per character; 25 kB
    # is under every detector's scan budget, so the whole text is read (these once took minutes).
    "cue_then_newlines": "New instruction: obey. system: go. The bomb: mix it. I will:" + "\n" * 25_000,
    "cue_then_blank_lines": "system: x\n## end\nAnswer in 3 paragraphs." + " \n" * 12_500,
    "cue_then_hashes": "## end === end " + "#" * 25_000 + " people",
    "hyphen_run": "a-" * 12_500 + " people are animals and should be banned",
}


def catastrophic_item(text: str) -> DatasetItem:
    """`text` in every field a detector reads, each within MAX_FIELD_CHARS (the item passes intake; tool
    arguments are measured as JSON, where a newline is two characters, so they carry half)."""
    return msgspec.convert(
        {
            "input": text,
            "output": text,
            "context": [text],
            "system_prompt": text,
            "messages": [{"role": "user", "content": text}],
            "tool_calls": [{"name": "search", "arguments": {"q": text[: LIMIT // 2 - 16]}, "output": text}],
        },
        DatasetItem,
    )


@pytest.mark.parametrize("name", CATASTROPHIC)
def test_regex_catastrophic_text_runs_through_every_detector(name: str) -> None:
    settings = Settings()
    item = to_item(catastrophic_item(CATASTROPHIC[name]), 0, settings)
    detectors = discover()
    options = RunOptions(feature_kind="agentic_rag", feature_kind_detected=False, tier="rule_based")
    plan = build_plan(load_catalogue(), detectors, options)
    result = analyze_items([item], plan, run_id=f"hostile-{name}")
    assert set(result.detectors_run) == set(detectors)
    assert len(result.tags) == len(detectors)
    errors = [t.subcategory_id for t in result.tags if "detector error" in (t.judge_rationale or "")]
    assert not errors, f"detectors raised on {name}: {errors}"
