"""In-process analysis: the service's validation, engine and summary without Redis or a worker.

Used by `misstep analyze FILE` and `misstep eval`; the result is the same RunResult the API returns.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import msgspec

from taxonomy.catalogue import Catalogue, load_catalogue
from taxonomy.registry import Detector, discover
from workers.contract import AnalyzeRequest, DatasetItem, RunRecord, RunResult
from workers.engine import analyze_items, build_plan
from workers.settings import Settings
from workers.submission import new_run_id, now_iso, resolve_options, validate_dataset
from workers.summary import result_header, summarize_part

Progress = Callable[[int, int], None]


def analyze_dataset(
    dataset: list[DatasetItem],
    *,
    settings: Settings,
    feature_kind: str | None = None,
    buckets: list[str] | None = None,
    subcategories: list[str] | None = None,
    input_type: str = "json",
    progress: Progress | None = None,
    catalogue: Catalogue | None = None,
    detectors: dict[str, Detector] | None = None,
) -> RunResult:
    """Analyse `dataset` in this process and return the full result.

    Raises:
        SubmissionError: the same validation errors the API answers with.
    """
    catalogue = catalogue or load_catalogue()
    detectors = detectors if detectors is not None else discover(settings.plugin_modules)
    request = AnalyzeRequest(
        dataset=dataset,
        feature_kind=feature_kind,
        buckets=buckets,
        subcategories=subcategories,  # type: ignore[arg-type]
        tier="rule_based",  # the CLI and eval run the deterministic tier only
    )
    items = validate_dataset(request, settings)
    options = resolve_options(request, items, catalogue, settings)
    plan = build_plan(catalogue, detectors, options)
    run_id = new_run_id()
    created_at = now_iso()
    started = time.perf_counter()
    size = settings.chunk_size
    chunks = []
    for n, start in enumerate(range(0, len(items), size)):
        chunks.append(analyze_items(items[start : start + size], plan, run_id=run_id, chunk_index=n))
        if progress is not None:
            progress(min(len(items), start + size), len(items))
    record = RunRecord(
        run_id=run_id,
        tenant="local",
        status="completed",
        created_at=created_at,
        options=options,
        total_items=len(items),
        n_chunks=len(chunks),
        chunk_size=size,
        input_type=input_type,  # type: ignore[arg-type]
        started_at=created_at,
        finished_at=now_iso(),
        duration_ms=int((time.perf_counter() - started) * 1000),
    )
    parts = [summarize_part(chunk, settings, catalogue) for chunk in chunks]
    header = result_header(record, parts, catalogue=catalogue, skipped=plan.skipped)
    return msgspec.structs.replace(
        header,
        failure_tags=[tag for chunk in chunks for tag in chunk.tags],
        inputs=[record for chunk in chunks for record in chunk.inputs],
    )
