"""Webhook payloads: thin JSON in the family the run was submitted through."""

from __future__ import annotations

import json

import msgspec
import pytest

from workers.contract import RunOptions, RunRecord, Summary
from workers.webhooks.payload import encode_payload, event_type

SUMMARY = Summary(
    primary_failure="unsupported_claim",
    total_failures_detected=3,
    total_passes=40,
    total_uncertain=1,
    total_items=5,
    items_with_failures=2,
    items_all_passed=3,
    overall_severity=3.5,
    should_alert=True,
)


def finished(family: str = "valiqor", status: str = "completed", **changes: object) -> RunRecord:
    record = RunRecord(
        run_id="run123",
        tenant="t",
        status=status,  # type: ignore[arg-type]
        created_at="2026-01-01T00:00:00.000Z",
        finished_at="2026-01-01T00:00:05.000Z",
        options=RunOptions(feature_kind="rag", feature_kind_detected=True, tier="rule_based"),
        total_items=5,
        n_chunks=1,
        callback_url="https://hooks.example.com/x",
        family=family,  # type: ignore[arg-type]
        summary=SUMMARY if status == "completed" else None,
    )
    return msgspec.structs.replace(record, **changes)


def test_valiqor_payload() -> None:
    body = encode_payload(finished())
    assert b'": ' not in body and b", " not in body  # compact JSON: the exact bytes signed
    payload = json.loads(body)
    assert payload["type"] == "failure_analysis.completed"
    assert payload["timestamp"] == "2026-01-01T00:00:05.000Z"
    data = payload["data"]
    assert data["run_id"] == data["job_id"] == "run123"
    assert (data["status"], data["total_items"], data["error"]) == ("completed", 5, None)
    assert data["summary"]["primary_failure"] == "unsupported_claim" and data["summary"]["items_with_failures"] == 2
    assert data["result_url"] == "/v2/failure-analysis/runs/run123"
    assert len(body) < 2048


def test_thinkhive_payload() -> None:
    payload = json.loads(encode_payload(finished("thinkhive")))
    assert payload["type"] == "analysis.batch.completed"
    data = payload["data"]
    assert (data["batchId"], data["status"], data["totalTraces"]) == ("run123", "completed", 5)
    assert data["summary"]["tracesWithFailures"] == 2 and data["summary"]["totalFailures"] == 3
    assert data["resultUrl"] == "/api/v2/analyzer/results/run123"


@pytest.mark.parametrize("family", ["valiqor", "thinkhive"])
@pytest.mark.parametrize("status", ["failed", "cancelled"])
def test_unsuccessful_runs_name_their_status_and_error(family: str, status: str) -> None:
    record = finished(family, status, error="boom" if status == "failed" else None)
    payload = json.loads(encode_payload(record))
    assert payload["type"] == event_type(record)
    assert payload["type"].endswith(f".{status}") and payload["data"]["status"] == status
    assert payload["data"]["summary"] is None
    assert payload["data"]["error"] == ("boom" if status == "failed" else None)
