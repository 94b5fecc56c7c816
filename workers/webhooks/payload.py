"""The webhook payload of a finished run, in the API family the run was submitted through.

Payloads are thin (Standard Webhooks: ids, status, counts and a link to the full result), encoded once
as compact JSON when the delivery is created, so every attempt sends (and signs) the same bytes.
"""

from __future__ import annotations

from typing import Any

import msgspec

from workers.contract import RunRecord, Summary
from workers.submission import now_iso

_encode = msgspec.json.Encoder().encode
_VALIQOR_PREFIX = "failure_analysis"
_THINKHIVE_PREFIX = "analysis.batch"


def event_type(record: RunRecord) -> str:
    """`failure_analysis.<status>` (Valiqor) or `analysis.batch.<status>` (ThinkHive) of a finished run."""
    prefix = _THINKHIVE_PREFIX if record.family == "thinkhive" else _VALIQOR_PREFIX
    return f"{prefix}.{record.status}"


def _valiqor_data(record: RunRecord) -> dict[str, Any]:
    return {
        "run_id": record.run_id,
        "job_id": record.run_id,
        "status": record.status,
        "total_items": record.total_items,
        "summary": msgspec.to_builtins(record.summary) if record.summary is not None else None,
        "error": record.error,
        "result_url": f"/v2/failure-analysis/runs/{record.run_id}",
    }


def thinkhive_summary(summary: Summary | None) -> dict[str, Any] | None:
    """The counts of a run's summary, camelCased for the ThinkHive family (None before completion)."""
    if summary is None:
        return None
    return {
        "totalFailures": summary.total_failures_detected,
        "totalPasses": summary.total_passes,
        "totalUncertain": summary.total_uncertain,
        "tracesWithFailures": summary.items_with_failures,
        "tracesAllPassed": summary.items_all_passed,
        "primaryFailure": summary.primary_failure,
        "overallSeverity": summary.overall_severity,
        "shouldAlert": summary.should_alert,
    }


def _thinkhive_data(record: RunRecord) -> dict[str, Any]:
    return {
        "batchId": record.run_id,
        "status": record.status,
        "totalTraces": record.total_items,
        "summary": thinkhive_summary(record.summary),
        "error": record.error,
        "resultUrl": f"/api/v2/analyzer/results/{record.run_id}",
    }


def build_payload(record: RunRecord) -> dict[str, Any]:
    """The payload object of a finished run: {"type", "timestamp", "data"}."""
    data = _thinkhive_data(record) if record.family == "thinkhive" else _valiqor_data(record)
    return {"type": event_type(record), "timestamp": record.finished_at or now_iso(), "data": data}


def encode_payload(record: RunRecord) -> bytes:
    """The exact body sent for a finished run (compact JSON)."""
    return _encode(build_payload(record))
