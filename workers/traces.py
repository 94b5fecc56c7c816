"""Traces: what an instrumented application recorded for one request, stored per tenant and agent.

A Trace arrives through the ThinkHive trace API, the Valiqor trace upload or OTLP/OpenInference export
(workers/otlp.py); `trace_to_item` turns it into the taxonomy's Item so every tier can analyse it.
"""

from __future__ import annotations

from typing import Any, Literal

import msgspec

from taxonomy.model import Item, Message, ToolCall
from workers.contract import DatasetItem

SpanKind = Literal["LLM", "RETRIEVER", "TOOL", "CHAIN", "AGENT", "EMBEDDING", "RERANKER", "GUARDRAIL", "UNKNOWN"]
TraceSource = Literal["api", "otlp", "upload"]


class RetrievedDocument(msgspec.Struct, frozen=True, kw_only=True):
    content: str
    source: str | None = None
    score: float | None = None
    id: str | None = None


class Span(msgspec.Struct, frozen=True, kw_only=True):
    """One step of a trace (OpenInference span kinds)."""

    name: str = ""
    kind: SpanKind = "UNKNOWN"
    span_id: str | None = None
    parent_id: str | None = None
    start_time: str | None = None  # ISO 8601
    end_time: str | None = None
    status: Literal["ok", "error", "unset"] = "unset"
    status_message: str | None = None
    input: Any = None
    output: Any = None
    attributes: dict[str, Any] = {}


class Trace(msgspec.Struct, frozen=True, kw_only=True):
    """A stored trace. Ids are unique per tenant."""

    trace_id: str
    tenant: str
    agent_id: str = "default"
    user_message: str = ""
    agent_response: str = ""
    outcome: str | None = None  # success | failure | partial_success | unknown
    user_intent: str | None = None
    session_id: str | None = None
    conversation_id: str | None = None
    conversation_history: list[dict[str, Any]] = []  # earlier turns {role, content}
    system_prompt: str | None = None
    retrieved_documents: list[RetrievedDocument] = []
    tool_calls: list[dict[str, Any]] = []  # {name, arguments, output, error, status_code}
    spans: list[Span] = []
    metadata: dict[str, Any] = {}
    custom_flags: list[str] = []
    duration_ms: int | None = None
    model: str | None = None
    project_name: str | None = None
    source: TraceSource = "api"
    created_at: str = ""


def trace_dataset_item(trace: Trace) -> DatasetItem:
    """A trace as one dataset item, validated and limited by the same intake as any dataset."""
    return DatasetItem(
        input=trace.user_message,
        output=trace.agent_response,
        context=[doc.content for doc in trace.retrieved_documents] or None,
        tool_calls=list(trace.tool_calls) or None,
        system_prompt=trace.system_prompt,
        messages=list(trace.conversation_history) or None,
        trace_id=trace.trace_id,
    )


def _tool_call(raw: dict[str, Any]) -> ToolCall:
    status = raw.get("status_code")
    return ToolCall(
        name=str(raw.get("name") or ""),
        arguments=raw.get("arguments"),
        output=raw.get("output"),
        status_code=status if isinstance(status, int) else None,
        error=str(raw["error"]) if raw.get("error") else None,
        id=str(raw["id"]) if raw.get("id") else None,
    )


def trace_to_item(trace: Trace, index: int = 0) -> Item:
    """The analysable Item of a trace: question, answer, retrieved context, tool calls and earlier turns."""
    messages = tuple(
        Message(role=str(turn.get("role") or "user"), content=str(turn.get("content") or ""))
        for turn in trace.conversation_history
        if isinstance(turn, dict)
    )
    return Item(
        index=index,
        input=trace.user_message,
        output=trace.agent_response,
        context=tuple(doc.content for doc in trace.retrieved_documents if doc.content),
        tool_calls=tuple(_tool_call(call) for call in trace.tool_calls),
        system_prompt=trace.system_prompt,
        messages=messages,
        trace_id=trace.trace_id,
        metadata={"agent_id": trace.agent_id, **({"outcome": trace.outcome} if trace.outcome else {})},
    )
