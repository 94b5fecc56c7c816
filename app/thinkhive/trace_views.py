"""The ThinkHive trace wire shapes: request bodies in, camelCase projections out.

`TraceBody` is what `POST /api/traces` accepts: the thinkhive 4.2.2 `traces.create` keys, plus the
2.0.0 `trace(...)` keys (`retrievedContexts`, `latencyMs`, `modelVersion`, `conversationId`,
`timestamp`, `tokenCount`, `error`) and the seed's `traceId` / `retrievedDocuments`. `trace_from_body`
turns it into a Trace; `trace_view` projects a Trace onto the camelCase response shape.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta

from workers.traces import RetrievedDocument, Span, Trace

TraceId = Annotated[str, Meta(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9._:\-]+$")]
Outcome = Literal["success", "failure", "partial_success", "unknown", "error"]
_SPAN_KINDS = {
    "llm": "LLM",
    "generation": "LLM",
    "retrieval": "RETRIEVER",
    "retriever": "RETRIEVER",
    "tool": "TOOL",
    "tool_call": "TOOL",
    "function": "TOOL",
    "chain": "CHAIN",
    "agent": "AGENT",
    "embedding": "EMBEDDING",
    "reranker": "RERANKER",
    "guardrail": "GUARDRAIL",
}
_SPAN_STATUS = {"ok": "ok", "success": "ok", "error": "error", "failure": "error", "failed": "error"}


class TraceBody(msgspec.Struct, kw_only=True, rename="camel"):
    """POST /api/traces and /api/v1/traces (null is accepted wherever a key is optional)."""

    user_message: str
    agent_response: str
    agent_id: str | None = None
    trace_id: TraceId | None = None
    id: TraceId | None = None
    user_intent: str | None = None
    outcome: Outcome | None = None
    custom_flags: list[str] | None = None
    duration: Annotated[int, Meta(ge=0)] | None = None  # ms (4.2.2)
    latency_ms: Annotated[float, Meta(ge=0)] | None = None  # ms (2.0.0)
    session_id: str | None = None
    conversation_id: str | None = None
    conversation_history: list[dict[str, Any]] | None = None
    system_prompt: str | None = None
    spans: list[dict[str, Any]] | None = None
    business_context: dict[str, Any] | None = None
    metadata: dict[str, Any] | None = None
    run_evaluation: bool | None = None
    retrieved_documents: list[str | dict[str, Any]] | None = None
    retrieved_contexts: list[str | dict[str, Any]] | None = None  # 2.0.0
    tool_calls: list[dict[str, Any]] | None = None
    model: str | None = None
    model_version: str | None = None  # 2.0.0
    timestamp: str | float | None = None  # 2.0.0: ISO 8601, or Unix seconds
    token_count: int | None = None  # 2.0.0
    error: str | dict[str, Any] | None = None  # 2.0.0


class UploadBody(msgspec.Struct, kw_only=True):
    """POST /api/v1/traces/upload, as the valiqor SDK's tracer and `valiqor upload` send it."""

    trace: dict[str, Any]
    project_name: str | None = None
    generate_eval_steps: bool = True


def new_trace_id() -> str:
    return f"tr_{uuid.uuid4().hex}"


def _text(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else msgspec.json.encode(value).decode()


def _document(raw: str | dict[str, Any]) -> RetrievedDocument:
    if isinstance(raw, str):
        return RetrievedDocument(content=raw)
    score = raw.get("score", raw.get("relevanceScore"))
    source = raw.get("source") or raw.get("title") or raw.get("url")
    return RetrievedDocument(
        content=_text(raw.get("content", raw.get("text", raw.get("pageContent")))),
        id=str(raw["id"]) if raw.get("id") is not None else None,
        score=float(score) if isinstance(score, int | float) and not isinstance(score, bool) else None,
        source=str(source) if source else None,
    )


def _span(raw: dict[str, Any]) -> Span:
    kind = str(raw.get("kind") or raw.get("type") or raw.get("spanKind") or "").lower()
    status = raw.get("status")
    error = raw.get("error")
    attributes = raw.get("attributes")
    return Span(
        name=str(raw.get("name") or ""),
        kind=_SPAN_KINDS.get(kind, kind.upper() if kind.upper() in _SPAN_KINDS.values() else "UNKNOWN"),  # type: ignore[arg-type]
        span_id=_optional(raw.get("spanId", raw.get("id"))),
        parent_id=_optional(raw.get("parentSpanId", raw.get("parentId"))),
        start_time=_optional(raw.get("startTime")),
        end_time=_optional(raw.get("endTime")),
        status="error" if error else _SPAN_STATUS.get(str(status or "").lower(), "unset"),  # type: ignore[arg-type]
        status_message=_text(error) if error else None,
        input=raw.get("input"),
        output=raw.get("output"),
        attributes=attributes if isinstance(attributes, dict) else {},
    )


def _optional(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None


def _span_tool_calls(spans: list[Span]) -> list[dict[str, Any]]:
    return [
        {"id": s.span_id, "name": s.name, "arguments": s.input, "output": s.output}
        | ({"error": s.status_message or "the tool span failed"} if s.status == "error" else {})
        for s in spans
        if s.kind == "TOOL"
    ]


def _created_at(timestamp: str | float | None, now: str) -> str:
    if isinstance(timestamp, int | float) and not isinstance(timestamp, bool):
        seconds = timestamp / 1000 if timestamp > 1e11 else timestamp  # milliseconds or seconds
        return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return timestamp or now


def trace_from_body(body: TraceBody, *, tenant: str, now: str) -> Trace:
    """The Trace a ThinkHive create request describes (a new id unless the body names one)."""
    spans = [_span(raw) for raw in body.spans or []]
    metadata = dict(body.metadata or {})
    extras = {
        "businessContext": body.business_context,
        "tokenCount": body.token_count,
        "error": body.error,
        "runEvaluation": body.run_evaluation,
    }
    metadata.update({key: value for key, value in extras.items() if value is not None})
    history = [
        {"role": str(turn.get("role") or "user"), "content": _text(turn.get("content"))}
        for turn in body.conversation_history or []
    ]
    duration = body.duration if body.duration is not None else body.latency_ms
    return Trace(
        trace_id=body.trace_id or body.id or new_trace_id(),
        tenant=tenant,
        agent_id=body.agent_id or "default",
        user_message=body.user_message,
        agent_response=body.agent_response,
        outcome=body.outcome or ("failure" if body.error else None),
        user_intent=body.user_intent,
        session_id=body.session_id,
        conversation_id=body.conversation_id,
        conversation_history=history,
        system_prompt=body.system_prompt,
        retrieved_documents=[
            _document(d) for d in [*(body.retrieved_documents or []), *(body.retrieved_contexts or [])]
        ],
        tool_calls=body.tool_calls if body.tool_calls is not None else _span_tool_calls(spans),
        spans=spans,
        metadata=metadata,
        custom_flags=body.custom_flags or [],
        duration_ms=round(duration) if duration is not None else None,
        model=body.model or body.model_version,
        source="api",
        created_at=_created_at(body.timestamp, now),
    )


def span_view(span: Span) -> dict[str, Any]:
    return {
        "name": span.name,
        "kind": span.kind,
        "spanId": span.span_id,
        "parentSpanId": span.parent_id,
        "startTime": span.start_time,
        "endTime": span.end_time,
        "status": span.status,
        "statusMessage": span.status_message,
        "input": span.input,
        "output": span.output,
        "attributes": span.attributes,
    }


def trace_view(trace: Trace, *, with_spans: bool = True) -> dict[str, Any]:
    """A Trace in the ThinkHive camelCase shape (list pages leave the spans out and give spanCount)."""
    view: dict[str, Any] = {
        "id": trace.trace_id,
        "traceId": trace.trace_id,
        "agentId": trace.agent_id,
        "companyId": trace.tenant,
        "userMessage": trace.user_message,
        "agentResponse": trace.agent_response,
        "outcome": trace.outcome,
        "userIntent": trace.user_intent,
        "sessionId": trace.session_id,
        "conversationId": trace.conversation_id,
        "conversationHistory": trace.conversation_history,
        "systemPrompt": trace.system_prompt,
        "retrievedDocuments": [
            {"id": d.id, "content": d.content, "source": d.source, "score": d.score} for d in trace.retrieved_documents
        ],
        "toolCalls": trace.tool_calls,
        "customFlags": trace.custom_flags,
        "duration": trace.duration_ms,
        "durationMs": trace.duration_ms,
        "model": trace.model,
        "projectName": trace.project_name,
        "source": trace.source,
        "metadata": trace.metadata,
        "spanCount": len(trace.spans),
        "createdAt": trace.created_at,
    }
    if with_spans:
        view["spans"] = [span_view(span) for span in trace.spans]
    return view


def created_view(trace: Trace) -> dict[str, Any]:
    """What `traces.create` answers (the SDK's TraceResult fields)."""
    return {
        "id": trace.trace_id,
        "traceId": trace.trace_id,
        "agentId": trace.agent_id,
        "companyId": trace.tenant,
        "userMessage": trace.user_message,
        "agentResponse": trace.agent_response,
        "outcome": trace.outcome,
        "_evaluationQueued": False,
        "createdAt": trace.created_at,
    }
