"""What Explainer v1 and Analyzer v2 share: inline traces, tier names, cost estimates, running and waiting.

A ThinkHive analysis is a misstep run (family "thinkhive", input_type "trace") over the traces' items;
when it completes the worker stores one Explanation per trace (workers/explain_run.py), which these
routes project onto each endpoint's shape.
"""

from __future__ import annotations

import asyncio
import math
import time
import uuid
from typing import Any

import msgspec
from litestar import Request

from app.auth import caller_of
from app.errors import ApiError
from app.services import Services
from workers.contract import TERMINAL_STATUSES, AnalyzeRequest, ExplainOptions, Priority, RunRecord
from workers.explanations import Explanation
from workers.idempotency import AnalysisInProgressError, digest
from workers.inline_lane import InlineCall
from workers.pricing import TIER_CREDITS
from workers.settings import Tier
from workers.submission import now_iso, submit_run
from workers.traces import RetrievedDocument, Trace, trace_dataset_item

TIER_ALIASES: dict[str, Tier] = {
    "rule_based": "rule_based",
    "fast_llm": "fast_llm",
    "full_llm": "full_llm",
    "deep": "deep",
    "fast": "fast_llm",  # thinkhive 4.2.2 analyzer names
    "standard": "full_llm",
}
BREAKDOWN_SHARES = {"baseAnalysis": 0.5, "ragEvaluation": 0.2, "hallucinationDetection": 0.2, "businessImpact": 0.1}
SECONDS_PER_ITEM = {"rule_based": 0.002, "fast_llm": 2.0, "full_llm": 5.0, "deep": 8.0}
POLL_S = 0.02
DEDUPLICATED_KINDS = frozenset({"explainer", "analyzer", "batch"})
_canonical = msgspec.json.Encoder(order="sorted").encode


class DocumentIn(msgspec.Struct, kw_only=True, rename="camel"):
    content: str
    source: str | None = None
    score: float | None = None
    id: str | None = None


class TraceIn(msgspec.Struct, kw_only=True, rename="camel"):
    """A trace sent inline (Explainer v1, Analyzer v2 seed bodies, legacy 2.0.0 SDK)."""

    user_message: str
    agent_response: str
    trace_id: str | None = None
    outcome: str | None = None
    retrieved_documents: list[DocumentIn] | None = None
    retrieved_contexts: list[str] | None = None  # legacy 2.0.0 key
    metadata: dict[str, Any] | None = None
    user_intent: str | None = None
    session_id: str | None = None
    agent_id: str | None = None
    system_prompt: str | None = None
    conversation_history: list[dict[str, Any]] | None = None


def resolve_tier(name: str | None, default: Tier, *, field: str) -> Tier:
    if name is None:
        return default
    tier = TIER_ALIASES.get(name)
    if tier is None:
        raise ApiError(400, "VALIDATION_ERROR", f"unknown tier {name!r}; use {', '.join(TIER_ALIASES)}", field=field)
    return tier


def new_trace_id() -> str:
    return f"tr_{uuid.uuid4().hex[:16]}"


def inline_trace(raw: TraceIn, tenant: str, *, default_agent: str = "default") -> Trace:
    metadata = dict(raw.metadata or {})
    documents = [
        RetrievedDocument(content=d.content, source=d.source, score=d.score, id=d.id)
        for d in raw.retrieved_documents or []
    ] + [RetrievedDocument(content=text) for text in raw.retrieved_contexts or []]
    return Trace(
        trace_id=raw.trace_id or new_trace_id(),
        tenant=tenant,
        agent_id=str(raw.agent_id or metadata.get("agentId") or default_agent),
        user_message=raw.user_message,
        agent_response=raw.agent_response,
        outcome=raw.outcome,
        user_intent=raw.user_intent,
        session_id=raw.session_id or metadata.get("sessionId"),
        conversation_history=list(raw.conversation_history or []),
        system_prompt=raw.system_prompt,
        retrieved_documents=documents,
        metadata=metadata,
        model=metadata.get("model"),
        source="api",
        created_at=now_iso(),
    )


async def load_traces(svc: Services, tenant: str, trace_ids: list[str], *, field: str = "traceIds") -> list[Trace]:
    """The tenant's traces by id, in order; any missing one is TRACE_NOT_FOUND naming it."""
    found = await svc.traces.get_many(tenant, trace_ids)
    for trace_id, trace in zip(trace_ids, found, strict=True):
        if trace is None:
            raise ApiError(
                404,
                "TRACE_NOT_FOUND",
                f"trace {trace_id!r} not found",
                field=field,
                resourceType="trace",
                resourceId=trace_id,
            )
    return [t for t in found if t is not None]


def cost_estimate(tier: Tier, traces: int) -> dict[str, Any]:
    total = TIER_CREDITS[tier] * traces
    return {
        "totalCredits": total,
        "breakdown": {name: round(total * share, 4) for name, share in BREAKDOWN_SHARES.items()},
    }


def estimated_duration(tier: Tier, traces: int, settings: Any) -> str:
    parallel = 1 if tier == "rule_based" else settings.llm_max_concurrency
    return f"~{max(1, math.ceil(traces * SECONDS_PER_ITEM[tier] / parallel))}s"


async def start_analysis(
    request: Request[Any, Any, Any],
    svc: Services,
    tenant: str,
    traces: list[Trace],
    *,
    tier: Tier,
    explain: ExplainOptions,
    priority: Priority = "high",
    callback_url: str | None = None,
) -> RunRecord:
    """Submit a ThinkHive-family run over `traces` (validated like any dataset; nothing stored on refusal)."""
    if not traces:
        raise ApiError(400, "VALIDATION_ERROR", "no traces to analyse", field="traces")
    body = AnalyzeRequest(dataset=[trace_dataset_item(t) for t in traces], tier=tier, callback_url=callback_url)
    outcomes = {t.trace_id: t.outcome for t in traces if t.outcome}
    inflight = svc.inflight
    claim = None
    if explain.kind in DEDUPLICATED_KINDS:  # the SDK retries POSTs without a key: one analysis per target at a time

        async def running(run_id: str) -> bool:
            record = await svc.store.get_record(tenant, run_id)
            return record is not None and record.status not in TERMINAL_STATUSES

        try:
            claim = await inflight.acquire(tenant, analysis_target(explain.kind, tier, traces), running)
        except AnalysisInProgressError as exc:
            extra = {"analysisId": exc.run_id} if exc.run_id else {}
            raise ApiError(409, "ANALYSIS_IN_PROGRESS", f"{exc}; poll it or retry once it finished", **extra) from None
    try:
        record = await submit_run(
            body,
            tenant=tenant,
            store=svc.store,
            catalogue=svc.catalogue,
            settings=svc.settings,
            request_id=request.scope.get("state", {}).get("request_id"),
            input_type="trace",
            mode="full",
            family="thinkhive",
            explain=msgspec.structs.replace(explain, outcomes=outcomes),
            priority=priority,
            allowed_tiers=caller_of(request).tiers,
            run_inline=InlineCall(svc.inline).run,
        )
    except BaseException:
        if claim is not None:
            await inflight.release(claim)
        raise
    if claim is not None:
        await inflight.bind(claim, record.run_id)
    return record


def analysis_target(kind: str, tier: Tier, traces: list[Trace]) -> str:
    """What makes two analyses identical: kind, tier and the traces' content (ids and creation times aside,
    as an inline trace without an id gets a new one per request), in any order."""
    contents = sorted(
        digest(_canonical(msgspec.structs.replace(t, trace_id="", created_at="", tenant=""))) for t in traces
    )
    return digest("\n".join([kind, tier, *contents]))


async def wait_finished(svc: Services, record: RunRecord) -> RunRecord:
    """Poll the run until it is terminal or SYNC_WAIT_S has passed; returns the latest record."""
    deadline = time.monotonic() + svc.settings.sync_wait_s
    while record.status not in TERMINAL_STATUSES and time.monotonic() < deadline:
        await asyncio.sleep(POLL_S)
        record = await svc.store.get_record(record.tenant, record.run_id) or record
    return record


async def run_explanations(svc: Services, record: RunRecord) -> list[Explanation]:
    """The explanations of a completed run's traces, in item order."""
    inputs = await svc.store.load_inputs(record.tenant, record.run_id, record.n_chunks)
    trace_ids = [i.trace_id for i in inputs if i.trace_id]
    found = await svc.explanations.get_many(record.tenant, trace_ids)
    return [e for e in found if e is not None and e.run_id == record.run_id]


def not_finished(record: RunRecord) -> None:
    """A run that failed or was cancelled is an error in the ThinkHive family."""
    if record.status == "failed":
        raise ApiError(
            500, "ANALYSIS_FAILED", f"analysis {record.run_id} failed: {record.error}", analysisId=record.run_id
        )
    if record.status == "cancelled":
        raise ApiError(409, "ANALYSIS_CANCELLED", f"analysis {record.run_id} was cancelled", analysisId=record.run_id)


async def thinkhive_record(svc: Services, tenant: str, analysis_id: str) -> RunRecord:
    record = await svc.store.get_record(tenant, analysis_id)
    if record is None or record.family != "thinkhive":
        raise ApiError(
            404, "NOT_FOUND", f"analysis {analysis_id!r} not found", resourceType="analysis", resourceId=analysis_id
        )
    return record
