"""Projections of domain objects onto the Valiqor wire shapes (taxonomy, job status, list items)."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

import msgspec

from taxonomy.model import Bucket, Subcategory
from workers.contract import TERMINAL_STATUSES, RunRecord, RunResult, Summary
from workers.submission import now_iso, parse_iso


def subcategory(sub: Subcategory) -> dict[str, Any]:
    return {
        "subcategory_id": sub.id,
        "subcategory_name": sub.name,
        "bucket_id": sub.bucket_id,
        "description": sub.definition,
        "detection_approach": sub.detection,
        "applies_to": list(sub.applies_to),
        "requires_retrieval": sub.requires_retrieval,
        "requires_tools": sub.requires_tools,
        "minimal_mode_compatible": sub.minimal_mode_compatible,
        "required_inputs": list(sub.required_inputs),
        "related_eval_metrics": list(sub.related_eval_metrics),
        "related_security_categories": list(sub.related_security_categories),
        "impact_score": sub.default_impact,
        "risk_category": sub.default_risk,
        "benchmarks": list(sub.benchmarks),
    }


def bucket(b: Bucket) -> dict[str, Any]:
    return {
        "bucket_id": b.id,
        "bucket_name": b.name,
        "description": b.description,
        "subcategories": [subcategory(s) for s in b.subcategories],
    }


def _items_done(record: RunRecord, done_chunks: int) -> int:
    if record.status == "completed":
        return record.total_items
    return min(record.total_items, done_chunks * record.chunk_size)


def _seconds_since(iso: str) -> float:
    started = parse_iso(iso)
    return max(0.0, (datetime.now(UTC) - started).total_seconds())


def job_status(record: RunRecord, *, done_chunks: int, workers: dict[str, int]) -> dict[str, Any]:
    """The FAJobStatus of a run, plus which workers analysed its chunks."""
    done = _items_done(record, done_chunks)
    progress = 100.0 if record.status == "completed" else round(100.0 * done / max(1, record.total_items), 1)
    remaining = None
    if record.status == "processing" and record.started_at and 0 < done < record.total_items:
        elapsed = _seconds_since(record.started_at)
        remaining = math.ceil(elapsed * (record.total_items - done) / done)
    return {
        "job_id": record.run_id,
        "run_id": record.run_id,
        "job_type": "failure_analysis",
        "status": record.status,
        "progress_percent": progress,
        "current_item": done,
        "total_items": record.total_items,
        "started_at": record.started_at,
        "finished_at": record.finished_at,
        "estimated_remaining_seconds": remaining,
        "error": record.error,
        "chunks_total": record.n_chunks,
        "chunks_done": record.n_chunks if record.status == "completed" else done_chunks,
        "workers": workers,
    }


def pending_result(record: RunRecord) -> RunResult:
    """The result shape of a run that has no final result (queued, processing, failed, cancelled)."""
    return RunResult(
        run_id=record.run_id,
        status=record.status,
        mode=record.mode,
        input_type=record.input_type,
        feature_kind=record.options.feature_kind,
        summary=Summary(total_items=record.total_items),
        created_at=record.created_at,
        project_name=record.project_name,
        tier=record.options.tier,
        error=record.error,
    )


def list_item(record: RunRecord) -> dict[str, Any]:
    return {
        "run_id": record.run_id,
        "status": record.status,
        "input_type": record.input_type,
        "minimal_mode": record.mode == "minimal",
        "dataset_item_count": record.total_items,
        "created_at": record.created_at,
        "feature_kind": record.options.feature_kind,
        "project_name": record.project_name,
        "trace_id": record.trace_id,
        "duration_ms": record.duration_ms,
        "tier": record.options.tier,
        **(_summary_fields(record.summary) if record.summary else {}),
    }


def _summary_fields(summary: Summary) -> dict[str, Any]:
    return {
        "total_failures_detected": summary.total_failures_detected,
        "total_passes": summary.total_passes,
        "primary_failure": summary.primary_failure,
        "overall_severity": summary.overall_severity,
        "has_security_issues": "safety_security" in summary.buckets_affected,
    }


def cancel_change(record: RunRecord) -> RunRecord | None:
    """Record change for a cancel request: only queued or processing runs become cancelled."""
    if record.status in TERMINAL_STATUSES:
        return None
    return msgspec.structs.replace(record, status="cancelled", finished_at=now_iso(), error="cancelled by client")
