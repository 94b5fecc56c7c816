"""The Valiqor trace upload: the only module that reads the trace JSON the `valiqor` SDK's tracer uploads.

`TracerV2.end_trace` (valiqor 0.0.21) builds {"metadata": {trace_id, session_id, user_id, created_at,
app_name, app_version, environment, tags, custom_fields, ...}, "summary": {title, status, failure_reason,
duration_ms, total_cost, ...}, "key_metrics", "spans": {span_id: {name, parent_span_id, start_time,
end_time, status, attributes, retrieval?, generation?}}, "messages": [LangChain-style {type: human | ai |
tool | system, content, tool_calls [{id, name, args}], name, tool_call_id, status, error}],
"retrievals": [{query, retriever_type, hits: [{doc_id, rank, score, snippet_preview, metadata}]}], ...}
and `valiqor upload` sends the same file. A plain {input, output, context} item is read too.
"""

from __future__ import annotations

from typing import Any

from workers.traces import RetrievedDocument, Span, SpanKind, Trace

SPAN_ATTRIBUTES_KEPT = 64
SPAN_VALUE_CHARS = 2_000
_ROLES = {"human": "user", "user": "user", "ai": "assistant", "assistant": "assistant", "system": "system"}
_ROLES |= {"developer": "system", "tool": "tool", "function": "tool"}
_SPAN_STATUS = {"success": "ok", "ok": "ok", "error": "error", "failure": "error", "failed": "error"}
_OUTCOMES = {"success": "success", "failure": "failure", "failed": "failure", "error": "failure"}


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, list):  # content parts [{"type": "text", "text": ...}]
        return "\n".join(_text(part.get("text") if isinstance(part, dict) else part) for part in value)
    return str(value)


def _role(message: dict[str, Any]) -> str:
    return _ROLES.get(str(message.get("type") or message.get("role") or "").lower(), "other")


def trace_from_upload(
    document: dict[str, Any], *, tenant: str, trace_id: str, project_name: str | None, now: str
) -> Trace:
    """The Trace of an uploaded Valiqor trace; `trace_id` applies when the document carries none."""
    meta = _dict(document.get("metadata"))
    summary = _dict(document.get("summary"))
    messages = [m for m in _list(document.get("messages")) if isinstance(m, dict)]
    question, answer, history = _exchange(messages)
    system = "\n\n".join(_text(m.get("content")) for m in messages if _role(m) == "system" and m.get("content"))
    spans = document.get("spans")
    raw_spans = [s for s in (spans.values() if isinstance(spans, dict) else _list(spans)) if isinstance(s, dict)]
    status = str(summary.get("status") or "").lower()
    duration = summary.get("duration_ms")
    created = meta.get("created_at")
    return Trace(
        trace_id=str(meta.get("trace_id") or document.get("trace_id") or trace_id),
        tenant=tenant,
        agent_id=str(meta.get("agent_id") or meta.get("app_name") or project_name or "default"),
        user_message=question or _text(document.get("input")),
        agent_response=answer or _text(document.get("output")),
        outcome=_OUTCOMES.get(status),
        session_id=str(meta["session_id"]) if meta.get("session_id") else None,
        conversation_history=history,
        system_prompt=system or None,
        retrieved_documents=_documents(document, raw_spans),
        tool_calls=_tool_calls(messages),
        spans=[_span(s) for s in raw_spans],
        metadata=_metadata(meta, summary, document),
        duration_ms=round(duration) if isinstance(duration, int | float) and not isinstance(duration, bool) else None,
        model=_model(messages, raw_spans),
        project_name=project_name,
        source="upload",
        created_at=created if isinstance(created, str) and created else now,
    )


def _exchange(messages: list[dict[str, Any]]) -> tuple[str, str, list[dict[str, Any]]]:
    """(last user message, last non-empty assistant message, the other user/assistant turns in order)."""
    turns = [(n, _role(m), _text(m.get("content"))) for n, m in enumerate(messages)]
    turns = [(n, role, text) for n, role, text in turns if role in ("user", "assistant") and text]
    question = next(((n, text) for n, role, text in reversed(turns) if role == "user"), None)
    answer = next(((n, text) for n, role, text in reversed(turns) if role == "assistant"), None)
    chosen = {pick[0] for pick in (question, answer) if pick is not None}
    history = [{"role": role, "content": text} for n, role, text in turns if n not in chosen]
    return (question[1] if question else ""), (answer[1] if answer else ""), history


def _tool_calls(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Tool results (tool messages) with the arguments of the call that asked for them; calls never
    answered are listed with no output."""
    requested: dict[str, dict[str, Any]] = {}
    for message in messages:
        if _role(message) == "assistant":
            for call in _list(message.get("tool_calls")):
                if isinstance(call, dict):
                    key = str(call.get("id") or f"call-{len(requested)}")
                    requested[key] = call
    calls = []
    for message in messages:
        if _role(message) != "tool":
            continue
        call_id = str(message.get("tool_call_id") or "")
        asked = requested.pop(call_id, {})
        error = message.get("error")
        if not error and str(message.get("status") or "").lower() in ("error", "failure", "failed"):
            error = _text(message.get("content")) or "the tool reported an error"
        entry = {
            "id": call_id or None,
            "name": str(message.get("name") or message.get("tool_name") or asked.get("name") or ""),
            "arguments": message.get("arguments") or asked.get("args") or asked.get("arguments"),
            "output": message.get("content"),
        }
        calls.append(entry | ({"error": _text(error)} if error else {}))
    for call_id, asked in requested.items():
        name = asked.get("name") or _dict(asked.get("function")).get("name") or ""
        arguments = asked.get("args") or _dict(asked.get("function")).get("arguments")
        calls.append({"id": call_id, "name": str(name), "arguments": arguments, "output": None})
    return calls


def _hits(retrieval: dict[str, Any]) -> list[Any]:
    return _list(retrieval.get("hits")) + _list(retrieval.get("documents"))


def _documents(document: dict[str, Any], spans: list[dict[str, Any]]) -> list[RetrievedDocument]:
    retrievals = [_dict(r) for r in _list(document.get("retrievals"))]
    retrievals += [_dict(s.get("retrieval")) for s in spans if s.get("retrieval")]
    context = document.get("context")
    retrievals.append({"documents": [context] if isinstance(context, str) else _list(context)})
    found: dict[tuple[str | None, str], RetrievedDocument] = {}
    for retrieval in retrievals:
        for hit in _hits(retrieval):
            hit_dict = _dict(hit)
            content = _text(hit) if isinstance(hit, str) else _text(_content(hit_dict))
            if not content:
                continue
            doc_id = hit_dict.get("doc_id") or hit_dict.get("id")
            score = hit_dict.get("score")
            source = _dict(hit_dict.get("metadata")).get("source") or hit_dict.get("source")
            key = (str(doc_id) if doc_id is not None else None, content)
            found.setdefault(
                key,
                RetrievedDocument(
                    content=content,
                    id=key[0],
                    score=float(score) if isinstance(score, int | float) and not isinstance(score, bool) else None,
                    source=str(source) if source else None,
                ),
            )
    return list(found.values())


def _content(hit: dict[str, Any]) -> Any:
    for key in ("content", "page_content", "text", "snippet_preview", "snippet"):
        if hit.get(key):
            return hit[key]
    return None


def _kind(span: dict[str, Any]) -> SpanKind:
    attributes = _dict(span.get("attributes"))
    if span.get("retrieval") or span.get("rag_pipeline_stage") == "retrieval":
        return "RETRIEVER"
    if span.get("generation") or any(key.startswith("llm.") for key in attributes):
        return "LLM"
    if "tool.name" in attributes or "tool_name" in attributes:
        return "TOOL"
    return "CHAIN" if span.get("parent_span_id") is None else "UNKNOWN"


def _clip(value: Any) -> Any:
    if isinstance(value, str) and len(value) > SPAN_VALUE_CHARS:
        return value[:SPAN_VALUE_CHARS] + "…"
    return value if isinstance(value, str | int | float | bool) or value is None else _clip(str(value))


def _span(span: dict[str, Any]) -> Span:
    attributes = list(_dict(span.get("attributes")).items())[:SPAN_ATTRIBUTES_KEPT]
    status = _SPAN_STATUS.get(str(span.get("status") or "").lower(), "unset")
    return Span(
        name=str(span.get("name") or ""),
        kind=_kind(span),
        span_id=str(span["span_id"]) if span.get("span_id") else None,
        parent_id=str(span["parent_span_id"]) if span.get("parent_span_id") else None,
        start_time=str(span["start_time"]) if span.get("start_time") else None,
        end_time=str(span["end_time"]) if span.get("end_time") else None,
        status=status,  # type: ignore[arg-type]
        attributes={str(key): _clip(value) for key, value in attributes},
    )


def _model(messages: list[dict[str, Any]], spans: list[dict[str, Any]]) -> str | None:
    for message in reversed(messages):
        model = _dict(message.get("response_metadata")).get("model_name")
        if _role(message) == "assistant" and model:
            return str(model)
    for span in spans:
        model = _dict(span.get("attributes")).get("llm.model_name") or _dict(span.get("generation")).get("model_used")
        if model:
            return str(model)
    return None


def _metadata(meta: dict[str, Any], summary: dict[str, Any], document: dict[str, Any]) -> dict[str, Any]:
    picked = {
        "app_name": meta.get("app_name"),
        "app_version": meta.get("app_version"),
        "environment": meta.get("environment"),
        "user_id": meta.get("user_id"),
        "tags": meta.get("tags"),
        "custom_fields": meta.get("custom_fields"),
        "schema_version": meta.get("schema_version"),
        "title": summary.get("title"),
        "failure_reason": summary.get("failure_reason"),
        "total_cost": summary.get("total_cost"),
        "key_metrics": document.get("key_metrics") or summary.get("key_metrics"),
    }
    return {"valiqor": {key: value for key, value in picked.items() if value not in (None, "", [], {})}}
