"""Explainer v1 (ThinkHive): analyze traces inline, stored explanations, listing, generate-all; legacy paths.

POST /api/v1/explainer/analyze waits up to SYNC_WAIT_S for the analysis and answers the seed's shape;
a longer analysis answers 202 with its id and a poll URL (GET /api/v2/analyzer/results/{id}).
"""

from __future__ import annotations

from typing import Annotated, Any

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
    not_finished,
    resolve_tier,
    run_explanations,
    start_analysis,
    wait_finished,
)
from app.thinkhive.dates import query_timestamp_ms
from app.thinkhive.envelope import ok, pagination
from workers.contract import ExplainOptions, RunRecord
from workers.explanations import Explanation


class ExplainerOptionsIn(msgspec.Struct, kw_only=True, rename="camel"):
    tier: str | None = None
    include_rag_evaluation: bool | None = None
    include_hallucination_detection: bool | None = None
    include_hallucination_check: bool | None = None  # legacy 2.0.0 name
    include_business_impact: bool | None = None
    include_counterfactuals: bool | None = None


class ExplainerAnalyzeIn(msgspec.Struct, kw_only=True, rename="camel"):
    """The seed body (`traces`), or the legacy 2.0.0 SDK body (one `trace`)."""

    traces: list[TraceIn] | None = None
    trace: TraceIn | None = None
    options: ExplainerOptionsIn | None = None
    spans: Any = None
    business_context: Any = None


def _explain_options(options: ExplainerOptionsIn, agent_id: str) -> ExplainOptions:
    hallucination = options.include_hallucination_detection
    if hallucination is None:
        hallucination = options.include_hallucination_check
    return ExplainOptions(
        kind="explainer",
        agent_id=agent_id,
        include_rag=options.include_rag_evaluation is not False,
        include_hallucination=hallucination is not False,
        include_business_impact=bool(options.include_business_impact),
        include_counterfactuals=bool(options.include_counterfactuals),
    )


def _analyze_response(record: RunRecord, explanations: list[Explanation], options: ExplainOptions) -> dict[str, Any]:
    results = [
        {"traceId": e.trace_id, "analysis": views.explainer_analysis(e, options), "creditsUsed": e.credits_used}
        for e in explanations
    ]
    scores = [e.overall_score for e in explanations]
    return ok(
        {
            "analysisId": record.run_id,
            "results": results,
            "summary": {
                "totalAnalyzed": len(explanations),
                "avgScore": round(sum(scores) / len(scores), 3) if scores else None,
                "totalCreditsUsed": sum(e.credits_used for e in explanations),
            },
        }
    )


class ExplainerController(Controller):
    path = "/api/v1/explainer"
    tags = ["thinkhive explainer v1"]

    async def _analyze(self, request: Request[Any, Any, Any], svc: Services, data: ExplainerAnalyzeIn) -> Response[Any]:
        tenant = resolve_tenant(request, svc.settings)
        raw = data.traces if data.traces is not None else ([data.trace] if data.trace is not None else [])
        if not raw:
            raise ApiError(400, "VALIDATION_ERROR", "traces must hold at least one trace", field="traces")
        options = data.options or ExplainerOptionsIn()
        tier = resolve_tier(options.tier, svc.settings.resolved_default_tier, field="options.tier")
        traces = [inline_trace(t, tenant) for t in raw]
        explain = _explain_options(options, traces[0].agent_id)
        record = await start_analysis(request, svc, tenant, traces, tier=tier, explain=explain)
        for trace in traces:  # stored once the analysis is accepted: a refused request leaves nothing behind
            await svc.traces.put(trace)
        record = await wait_finished(svc, record)
        if record.status not in ("completed", "failed", "cancelled"):
            return Response(_accepted(record), status_code=202)
        not_finished(record)
        return Response(_analyze_response(record, await run_explanations(svc, record), explain), status_code=200)

    @post("/analyze", status_code=200, operation_id="explainerAnalyze")
    async def analyze(self, request: Request[Any, Any, Any], data: ExplainerAnalyzeIn, svc: Services) -> Response[Any]:
        """Analyse traces sent inline; the seed's results with RAG metrics, hallucinations and insights."""
        return await self._analyze(request, svc, data)

    @post("/analyze-batch", status_code=200, operation_id="explainerAnalyzeBatch")
    async def analyze_batch(
        self, request: Request[Any, Any, Any], data: ExplainerAnalyzeIn, svc: Services
    ) -> Response[Any]:
        """Legacy (thinkhive 2.0.0): the same as analyze, for a list of traces."""
        return await self._analyze(request, svc, data)

    @get("/trace/{trace_id:str}", operation_id="explainerGetTrace")
    async def get_trace(self, request: Request[Any, Any, Any], trace_id: str, svc: Services) -> dict[str, Any]:
        """The stored explanation of a trace, with generatedAt and expiresAt."""
        tenant = resolve_tenant(request, svc.settings)
        return ok(views.stored_explanation(await _explanation(svc, tenant, trace_id)))

    @get("/list", operation_id="explainerList")
    async def list_explanations(
        self,
        request: Request[Any, Any, Any],
        svc: Services,
        agent_id: Annotated[str | None, Parameter(query="agentId")] = None,
        outcome: str | None = None,
        min_score: Annotated[float | None, Parameter(query="minScore", ge=0, le=1)] = None,
        max_score: Annotated[float | None, Parameter(query="maxScore", ge=0, le=1)] = None,
        start_date: Annotated[str | None, Parameter(query="startDate")] = None,
        end_date: Annotated[str | None, Parameter(query="endDate")] = None,
        limit: Annotated[int, Parameter(ge=1, le=100)] = 20,
        offset: Annotated[int, Parameter(ge=0)] = 0,
    ) -> dict[str, Any]:
        """Stored explanations, newest first, filtered; `pagination` with total and hasMore."""
        tenant = resolve_tenant(request, svc.settings)

        def keep(e: Explanation) -> bool:
            return (
                (outcome is None or e.outcome == outcome)
                and (min_score is None or e.overall_score >= min_score)
                and (max_score is None or e.overall_score <= max_score)
            )

        page, total = await svc.explanations.list(
            tenant,
            agent_id=agent_id,
            keep=keep,
            limit=limit,
            offset=offset,
            start_ms=query_timestamp_ms(start_date, "startDate"),
            end_ms=query_timestamp_ms(end_date, "endDate"),
        )
        return ok([views.list_entry(e) for e in page], pagination=pagination(total, limit, offset))

    @post("/generate-all/{agent_id:str}", status_code=202, operation_id="explainerGenerateAll")
    async def generate_all(
        self,
        request: Request[Any, Any, Any],
        agent_id: str,
        svc: Services,
        limit: Annotated[int, Parameter(ge=1)] = 50,
        tier: str | None = None,
        outcome_filter: Annotated[str | None, Parameter(query="outcomeFilter")] = None,
    ) -> dict[str, Any]:
        """Analyse (in the background, low priority) the agent's traces that have no explanation yet."""
        tenant = resolve_tenant(request, svc.settings)
        if limit > svc.settings.max_batch_traces:
            raise ApiError(
                400,
                "BATCH_TOO_LARGE",
                f"limit {limit} exceeds the maximum of {svc.settings.max_batch_traces} traces",
                field="limit",
                maxAllowed=svc.settings.max_batch_traces,
            )
        chosen = resolve_tier(tier, "fast_llm", field="tier")
        traces, skipped = await svc.traces.unanalyzed(tenant, agent_id, limit=limit, outcome=outcome_filter)
        estimate = cost_estimate(chosen, len(traces))
        if not traces:
            return ok({"jobId": None, "status": "completed", "queued": 0, "skipped": skipped, "estimatedCredits": 0})
        explain = ExplainOptions(kind="generate_all", agent_id=agent_id, include_business_impact=True)
        record = await start_analysis(request, svc, tenant, traces, tier=chosen, explain=explain, priority="low")
        return ok(
            {
                "jobId": record.run_id,
                "status": record.status,  # queued, or completed when a small rule_based set ran inline
                "queued": len(traces),
                "skipped": skipped,
                "estimatedCredits": estimate["totalCredits"],
                "estimatedDuration": estimated_duration(chosen, len(traces), svc.settings),
                "pollUrl": f"/api/v2/analyzer/results/{record.run_id}",
                **await remaining_credits(svc, tenant),
            }
        )

    @get("/{trace_id:str}", operation_id="explainerGetLegacy")
    async def get_legacy(self, request: Request[Any, Any, Any], trace_id: str, svc: Services) -> dict[str, Any]:
        """Legacy (thinkhive 2.0.0 `explainer.get`): the stored explanation of a trace."""
        tenant = resolve_tenant(request, svc.settings)
        return ok(views.stored_explanation(await _explanation(svc, tenant, trace_id)))


async def _explanation(svc: Services, tenant: str, trace_id: str) -> Explanation:
    found = await svc.explanations.get(tenant, trace_id)
    if found is None:
        raise ApiError(
            404,
            "TRACE_NOT_FOUND",
            f"no explanation for trace {trace_id!r}",
            resourceType="explanation",
            resourceId=trace_id,
        )
    return found


def _accepted(record: RunRecord) -> dict[str, Any]:
    return ok(
        {
            "analysisId": record.run_id,
            "id": record.run_id,
            "status": "processing",
            "pollUrl": f"/api/v2/analyzer/results/{record.run_id}",
        }
    )
