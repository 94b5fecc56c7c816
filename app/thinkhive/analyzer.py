"""Analyzer v2 (ThinkHive): cost-aware analysis, estimates, results, history, per-trace lookup and batches.

`POST /api/v2/analyzer/analyze` takes the seed body (`traces` inline + `config {tier, modules, dryRun}`)
and the 4.2.2 SDK body (`traceIds` + `options {tier: fast|standard|deep|null, includeRootCause}`); the
cost estimate is always in the answer, and `dryRun` returns it without running or charging anything.
Batches run on the normal or low priority queue, so they never take the interactive queue's slots.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.params import Parameter

from app.auth import resolve_tenant
from app.credits import remaining_credits
from app.errors import ApiError
from app.services import Services
from app.thinkhive import views
from app.thinkhive.analysis import (
    TraceIn,
    cost_estimate,
    estimated_duration,
    inline_trace,
    load_traces,
    not_finished,
    resolve_tier,
    run_explanations,
    start_analysis,
    thinkhive_record,
    wait_finished,
)
from app.thinkhive.dates import query_timestamp_ms
from app.thinkhive.envelope import ok, pagination
from workers.contract import ExplainOptions, RunRecord
from workers.credits import run_charge
from workers.settings import Tier
from workers.submission import parse_iso
from workers.traces import Trace

MODULES = frozenset({"rag_evaluation", "hallucination_detection", "business_impact", "counterfactuals"})


class AnalyzerConfigIn(msgspec.Struct, kw_only=True, rename="camel"):
    tier: str | None = None
    modules: list[str] | None = None
    dry_run: bool = False
    priority: Literal["low", "normal", "high"] = "normal"
    callback_url: str | None = None


class AnalyzerOptionsIn(msgspec.Struct, kw_only=True, rename="camel"):
    """The 4.2.2 SDK's `options`."""

    tier: str | None = None
    include_root_cause: bool = True
    include_layers: bool = True


class AnalyzeIn(msgspec.Struct, kw_only=True, rename="camel"):
    traces: list[TraceIn] | None = None
    trace_ids: list[str] | None = None
    config: AnalyzerConfigIn | None = None
    options: AnalyzerOptionsIn | None = None


class EstimateIn(msgspec.Struct, kw_only=True, rename="camel"):
    tier: str | None = None
    trace_ids: list[str] | None = None
    agent_id: str | None = None
    start_date: str | None = None
    end_date: str | None = None


class BatchIn(msgspec.Struct, kw_only=True, rename="camel"):
    agent_id: str
    trace_ids: list[str]
    config: AnalyzerConfigIn | None = None


def _modules(config: AnalyzerConfigIn | None) -> tuple[str, ...]:
    chosen = tuple(config.modules or ()) if config else ()
    unknown = [m for m in chosen if m not in MODULES]
    if unknown:
        raise ApiError(
            400, "VALIDATION_ERROR", f"unknown module(s) {unknown}; use {sorted(MODULES)}", field="config.modules"
        )
    return chosen


def _tier(data: AnalyzeIn, svc: Services) -> Tier:
    if data.config is not None and data.config.tier is not None:
        return resolve_tier(data.config.tier, "full_llm", field="config.tier")
    if data.options is not None and data.options.tier is not None:
        return resolve_tier(data.options.tier, "full_llm", field="options.tier")
    return svc.settings.resolved_default_tier


def _explain(agent_id: str, modules: tuple[str, ...], kind: Any, root_cause: bool) -> ExplainOptions:
    return ExplainOptions(
        kind=kind,
        agent_id=agent_id,
        modules=modules,
        include_business_impact=not modules or "business_impact" in modules,
        include_counterfactuals="counterfactuals" in modules,
        include_root_cause=root_cause,
    )


def _too_large(count: int, limit: int) -> ApiError:
    return ApiError(
        400,
        "BATCH_TOO_LARGE",
        f"{count} traces exceed the maximum of {limit} per batch",
        field="traceIds",
        maxAllowed=limit,
        received=count,
    )


async def _analysis_body(svc: Services, record: RunRecord) -> dict[str, Any]:
    """GET results/{id}: status, progress, and the results once completed."""
    done = await svc.store.done_chunks(record.tenant, record.run_id) if record.status == "processing" else 0
    options = record.explain or ExplainOptions(kind="analyzer")
    body: dict[str, Any] = {
        "id": record.run_id,
        "batchId": record.run_id,
        "status": record.status,
        "tier": record.options.tier,
        "agentId": options.agent_id,
        "traceCount": record.total_items,
        "progress": views.progress(record, done),
        "createdAt": record.created_at,
        "completedAt": record.finished_at,
        "creditsUsed": 0.0,
        "results": [],
        "avgScore": record.score,
    }
    if record.status == "failed":
        body["error"] = record.error
    if record.status == "completed":
        explanations = await run_explanations(svc, record)
        body["results"] = [
            views.analyzer_result(e, options.modules, root_cause=options.include_root_cause) for e in explanations
        ]
        body["creditsUsed"] = sum(e.credits_used for e in explanations)
    return body


class AnalyzerController(Controller):
    path = "/api/v2/analyzer"
    tags = ["thinkhive analyzer v2"]

    @post("/analyze", status_code=200, operation_id="analyzerAnalyze")
    async def analyze(self, request: Request[Any, Any, Any], data: AnalyzeIn, svc: Services) -> Response[Any]:
        """Analyse inline traces or stored trace ids; costEstimate always; dryRun estimates only."""
        tenant = resolve_tenant(request, svc.settings)
        tier = _tier(data, svc)
        modules = _modules(data.config)
        if data.traces:
            traces: list[Trace] = [inline_trace(t, tenant) for t in data.traces]
            stored = False
        elif data.trace_ids:
            traces, stored = await load_traces(svc, tenant, data.trace_ids), True
        else:
            raise ApiError(400, "VALIDATION_ERROR", "send traces or traceIds", field="traceIds")
        estimate = cost_estimate(tier, len(traces))
        if data.config is not None and data.config.dry_run:
            return Response(
                ok({"id": None, "status": "estimated", "dryRun": True, "costEstimate": estimate, "creditsUsed": 0})
            )
        root_cause = data.options.include_root_cause if data.options is not None else tier == "deep"
        explain = _explain(traces[0].agent_id, modules, "analyzer", root_cause)
        record = await start_analysis(request, svc, tenant, traces, tier=tier, explain=explain)
        if not stored:
            for trace in traces:
                await svc.traces.put(trace)
        record = await wait_finished(svc, record)
        body = await _analysis_body(svc, record)
        body["costEstimate"] = estimate
        body.update(await remaining_credits(svc, tenant))
        if record.status not in ("completed", "failed", "cancelled"):
            body["pollUrl"] = f"/api/v2/analyzer/results/{record.run_id}"
            return Response(ok(body), status_code=202)
        not_finished(record)
        return Response(ok(body))

    @post("/estimate-cost", status_code=200, operation_id="analyzerEstimateCost")
    async def estimate_cost(self, request: Request[Any, Any, Any], data: EstimateIn, svc: Services) -> dict[str, Any]:
        """Credits (and a duration estimate) for analysing the given traces, or an agent's unanalysed ones."""
        tenant = resolve_tenant(request, svc.settings)
        tier = resolve_tier(data.tier, svc.settings.resolved_default_tier, field="tier")
        if data.trace_ids:
            count = len(await load_traces(svc, tenant, data.trace_ids))
        elif data.agent_id:
            traces, _ = await svc.traces.list(
                tenant, agent_id=data.agent_id, limit=svc.settings.max_batch_traces, offset=0
            )
            count = len(traces)
        else:
            raise ApiError(400, "VALIDATION_ERROR", "send traceIds or agentId", field="traceIds")
        estimate = cost_estimate(tier, count)
        return ok(
            {
                "tier": tier,
                "traceCount": count,
                "estimatedCredits": estimate["totalCredits"],
                "estimated_cost": estimate["totalCredits"],  # the 4.2.2 README reads this snake_case key
                "costEstimate": estimate,
                "estimatedDuration": estimated_duration(tier, count, svc.settings),
            }
        )

    @get("/results/{analysis_id:str}", operation_id="analyzerResults")
    async def results(self, request: Request[Any, Any, Any], analysis_id: str, svc: Services) -> dict[str, Any]:
        """An analysis or batch: status, progress and, once completed, its results."""
        tenant = resolve_tenant(request, svc.settings)
        return ok(await _analysis_body(svc, await thinkhive_record(svc, tenant, analysis_id)))

    @get("/history", operation_id="analyzerHistory")
    async def history(
        self,
        request: Request[Any, Any, Any],
        svc: Services,
        agent_id: Annotated[str | None, Parameter(query="agentId")] = None,
        tier: str | None = None,
        status: str | None = None,
        start_date: Annotated[str | None, Parameter(query="startDate")] = None,
        end_date: Annotated[str | None, Parameter(query="endDate")] = None,
        limit: Annotated[int, Parameter(ge=1, le=100)] = 20,
        offset: Annotated[int, Parameter(ge=0)] = 0,
    ) -> dict[str, Any]:
        """Past analyses, newest first, with totals over everything that matched."""
        tenant = resolve_tenant(request, svc.settings)
        wanted_tier = resolve_tier(tier, "full_llm", field="tier") if tier else None
        start_ms = query_timestamp_ms(start_date, "startDate")
        end_ms = query_timestamp_ms(end_date, "endDate")
        records = [
            r
            for r in await svc.store.list_records(tenant)
            if r.family == "thinkhive"
            and (agent_id is None or (r.explain is not None and r.explain.agent_id == agent_id))
            and (wanted_tier is None or r.options.tier == wanted_tier)
            and (status is None or r.status == status)
            and _created_between(r, start_ms, end_ms)
        ]
        scores = [r.score for r in records if r.score is not None]
        credits = [run_charge(r) for r in records]
        page = records[offset : offset + limit]
        return ok(
            {
                "analyses": [
                    {
                        "id": r.run_id,
                        "tier": r.options.tier,
                        "status": r.status,
                        "traceCount": r.total_items,
                        "avgScore": r.score,
                        "creditsUsed": run_charge(r),
                        "createdAt": r.created_at,
                        "completedAt": r.finished_at,
                    }
                    for r in page
                ],
                "pagination": pagination(len(records), limit, offset),
                "summary": {
                    "totalAnalyses": len(records),
                    "totalCreditsUsed": sum(credits),
                    "avgScore": round(sum(scores) / len(scores), 3) if scores else None,
                },
            }
        )

    @post("/batch", status_code=202, operation_id="analyzerBatch")
    async def batch(self, request: Request[Any, Any, Any], data: BatchIn, svc: Services) -> dict[str, Any]:
        """Queue a batch of stored traces (max 500) on the normal or low priority queue; optional signed callback."""
        tenant = resolve_tenant(request, svc.settings)
        limit = svc.settings.max_batch_traces
        if len(data.trace_ids) > limit:
            raise _too_large(len(data.trace_ids), limit)
        config = data.config or AnalyzerConfigIn()
        tier = resolve_tier(config.tier, "fast_llm", field="config.tier")
        modules = _modules(config)
        traces = await load_traces(svc, tenant, data.trace_ids)
        explain = _explain(data.agent_id, modules, "batch", tier == "deep")
        record = await start_analysis(
            request,
            svc,
            tenant,
            traces,
            tier=tier,
            explain=explain,
            priority=config.priority,
            callback_url=config.callback_url,
        )
        done = len(traces) if record.status == "completed" else 0  # a small rule_based batch ran inline
        return ok(
            {
                "batchId": record.run_id,
                "status": record.status,
                "totalTraces": len(traces),
                "estimatedCredits": cost_estimate(tier, len(traces))["totalCredits"],
                "estimatedDuration": estimated_duration(tier, len(traces), svc.settings),
                "progress": {"completed": done, "failed": 0, "pending": len(traces) - done},
                "createdAt": record.created_at,
                "pollUrl": f"/api/v2/analyzer/results/{record.run_id}",
            }
        )

    @get("/{trace_id:str}", operation_id="analyzerGetTrace")
    async def get_trace(self, request: Request[Any, Any, Any], trace_id: str, svc: Services) -> dict[str, Any]:
        """The latest analysis of one trace (thinkhive 4.2.2 `analyzer.get`)."""
        tenant = resolve_tenant(request, svc.settings)
        explanation = await svc.explanations.get(tenant, trace_id)
        if explanation is None:
            raise ApiError(
                404, "TRACE_NOT_FOUND", f"no analysis of trace {trace_id!r}", resourceType="trace", resourceId=trace_id
            )
        result = views.analyzer_result(explanation, (), root_cause=True)
        return ok(
            {
                **result,
                "analysisId": explanation.run_id,
                "tier": explanation.tier,
                "analyzedAt": explanation.generated_at,
            }
        )


def _created_between(record: RunRecord, start_ms: float | None, end_ms: float | None) -> bool:
    created_ms = parse_iso(record.created_at).timestamp() * 1000
    return (start_ms is None or created_ms >= start_ms) and (end_ms is None or created_ms <= end_ms)
