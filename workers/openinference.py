"""OpenInference mapping: the spans of one OTel trace become one analysable Trace.

The only module that knows OpenInference attribute names. It reads `openinference.span.kind` (LLM,
RETRIEVER, TOOL, CHAIN, AGENT, ...), `input.value` / `output.value`, `llm.input_messages.N.message.*`
and `llm.output_messages.N.message.*`, `retrieval.documents.N.document.{id,score,content,metadata}`,
`tool.name` / `tool.parameters`, `llm.model_name`, `llm.token_count.*`, `session.id`, `user.id` and
`metadata`. Where the user message, answer and earlier turns come from is documented on `_exchange`;
the agent id is a span or resource attribute `thinkhive.agent_id` / `agent.id` / `agent_id`, else the
resource's `service.name`.
"""

from __future__ import annotations

import contextlib
import json
from datetime import UTC, datetime
from typing import Any, Literal

import msgspec

from workers.traces import RetrievedDocument, Span, SpanKind, Trace

AGENT_KEYS = ("thinkhive.agent_id", "agent.id", "agent_id")
KINDS: frozenset[str] = frozenset(SpanKind.__args__)  # type: ignore[attr-defined]
SPAN_ATTRIBUTES_KEPT = 64  # attributes copied onto a stored Span (the texts that matter are lifted out)
SPAN_VALUE_CHARS = 2_000  # longest attribute / input / output text copied onto a stored Span
_USER_KEYS = ("input", "question", "query", "message", "user_message", "userMessage", "prompt", "text", "content")
_ANSWER_KEYS = ("output", "answer", "response", "result", "text", "content")
_SYSTEM_ROLES = ("system", "developer")


class OtelSpan(msgspec.Struct, kw_only=True):
    """One decoded OTel span: ids in hex, times in Unix nanoseconds, attributes as plain values."""

    name: str = ""
    span_id: str | None = None
    parent_id: str | None = None
    start_ns: int = 0
    end_ns: int = 0
    status: Literal["ok", "error", "unset"] = "unset"
    status_message: str | None = None  # the status description, else the first exception event's message
    attributes: dict[str, Any] = {}
    resource: dict[str, Any] = {}
    scope: str | None = None


class _Part(msgspec.Struct, kw_only=True):
    """A decoded span with its OpenInference kind."""

    otel: OtelSpan
    kind: SpanKind

    @property
    def attrs(self) -> dict[str, Any]:
        return self.otel.attributes


def trace_from_spans(trace_id: str, spans: list[OtelSpan], *, tenant: str) -> Trace:
    """The Trace of one OTel trace id (`spans` non-empty; any order)."""
    parts = sorted((_Part(otel=s, kind=_kind(s.attributes)) for s in spans), key=lambda p: p.otel.start_ns)
    ids = {p.otel.span_id for p in parts}
    root = next((p for p in parts if p.otel.parent_id is None), None)
    root = root or next((p for p in parts if p.otel.parent_id not in ids), parts[0])
    question, answer, history, system = _exchange(root, parts)
    outcome = _first([root], ("thinkhive.outcome", "outcome"), resource=False)
    if outcome is None and root.otel.status == "error":
        outcome = "failure"
    start, end = min(p.otel.start_ns for p in parts), max(p.otel.end_ns for p in parts)
    llms = [p for p in parts if p.kind == "LLM"]
    return Trace(
        trace_id=trace_id,
        tenant=tenant,
        agent_id=_first(parts, AGENT_KEYS) or _first(parts, ("service.name",)) or "default",
        user_message=question,
        agent_response=answer,
        outcome=outcome,
        session_id=_first(parts, ("session.id",), resource=False),
        conversation_history=history,
        system_prompt=system,
        retrieved_documents=_documents(parts),
        tool_calls=_tool_calls(parts),
        spans=[_span(p) for p in parts],
        metadata=_metadata(parts),
        duration_ms=round((end - start) / 1e6) if start and end >= start else None,
        model=_first(llms[::-1], ("llm.model_name",), resource=False),
        source="otlp",
        created_at=_iso(start) or "",
    )


def _exchange(root: _Part, parts: list[_Part]) -> tuple[str, str, list[dict[str, Any]], str | None]:
    """(user message, agent response, earlier turns, system prompt) of one trace.

    The last LLM span's input messages give the conversation: its last user message, the turns before
    it, and its system messages; its first output message (else its `output.value`) the answer. A
    non-LLM root span's own `input.value` / `output.value`, when present, win: they are what the end
    user sent and saw (the LLM prompt may wrap the question in a RAG template). A trace without either
    falls back to the LLM span's `input.value`, then to a retriever's `retrieval.query`.
    """
    llms = [p for p in parts if p.kind == "LLM"]
    last_llm = llms[-1] if llms else None
    question, history, system = _conversation(last_llm)
    answer = _answer(last_llm)
    if last_llm is not None and not question:
        question = _structured(last_llm.attrs.get("input.value"), _USER_KEYS)
    if root.kind != "LLM":
        question = _structured(root.attrs.get("input.value"), _USER_KEYS) or question
        answer = _structured(root.attrs.get("output.value"), _ANSWER_KEYS) or answer
    question = question or (_first(parts, ("retrieval.query",), resource=False) or "")
    return question, answer, history, system


def _kind(attrs: dict[str, Any]) -> SpanKind:
    kind = str(attrs.get("openinference.span.kind") or "").upper()
    if kind in KINDS:
        return kind  # type: ignore[return-value]
    if any(key.startswith("llm.") for key in attrs):
        return "LLM"
    if any(key.startswith("retrieval.documents") for key in attrs):
        return "RETRIEVER"
    return "TOOL" if "tool.name" in attrs else "UNKNOWN"


def _span(part: _Part) -> Span:
    kept = list(part.attrs.items())[:SPAN_ATTRIBUTES_KEPT]
    return Span(
        name=part.otel.name,
        kind=part.kind,
        span_id=part.otel.span_id,
        parent_id=part.otel.parent_id,
        start_time=_iso(part.otel.start_ns),
        end_time=_iso(part.otel.end_ns),
        status=part.otel.status,
        status_message=part.otel.status_message,
        input=_clip(part.attrs.get("input.value")),
        output=_clip(part.attrs.get("output.value")),
        attributes={key: _clip(value) for key, value in kept},
    )


def _iso(unix_nano: int) -> str | None:
    if not unix_nano:
        return None
    moment = datetime.fromtimestamp(unix_nano / 1e9, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, default=str)


def _clip(value: Any) -> Any:
    if isinstance(value, str) and len(value) > SPAN_VALUE_CHARS:
        return value[:SPAN_VALUE_CHARS] + "…"
    if isinstance(value, list):
        return [_clip(v) for v in value[:SPAN_ATTRIBUTES_KEPT]]
    if isinstance(value, dict):
        return {k: _clip(v) for k, v in list(value.items())[:SPAN_ATTRIBUTES_KEPT]}
    return value


def _structured(value: Any, keys: tuple[str, ...]) -> str:
    """The text of an input/output value; a JSON object's obvious text field when it is one."""
    text = _text(value)
    if text[:1] != "{":
        return text
    try:
        document = json.loads(text)
    except ValueError:
        return text
    found = next((document[k] for k in keys if isinstance(document, dict) and isinstance(document.get(k), str)), None)
    return found if found is not None else text


def _indexed(attrs: dict[str, Any], prefix: str) -> list[dict[str, Any]]:
    """A flattened OpenInference list (`prefix.N.rest`) as a list of {rest: value}, by index."""
    found: dict[int, dict[str, Any]] = {}
    if isinstance(attrs.get(prefix), list):  # the unflattened form: an array of kvlists
        found = {n: dict(v) for n, v in enumerate(attrs[prefix]) if isinstance(v, dict)}
    head = prefix + "."
    for key, value in attrs.items():
        if key.startswith(head):
            index, _, rest = key[len(head) :].partition(".")
            if index.isdigit() and rest:
                found.setdefault(int(index), {})[rest] = value
    return [found[n] for n in sorted(found)]


def _message(entry: dict[str, Any]) -> dict[str, Any]:
    """{role, content} of one `llm.*_messages.N` entry (text parts of multimodal contents joined)."""
    content = entry.get("message.content")
    if content is None:
        parts = [part.get("message_content.text") for part in _indexed(entry, "message.contents")]
        content = "\n".join(p for p in parts if isinstance(p, str))
    return {"role": str(entry.get("message.role") or "user").lower(), "content": _text(content)}


def _conversation(llm: _Part | None) -> tuple[str, list[dict[str, Any]], str | None]:
    """(last user message, earlier turns, system prompt) from an LLM span's input messages."""
    if llm is None:
        return "", [], None
    messages = [_message(entry) for entry in _indexed(llm.attrs, "llm.input_messages")]
    system = "\n\n".join(m["content"] for m in messages if m["role"] in _SYSTEM_ROLES and m["content"]) or None
    turns = [m for m in messages if m["role"] not in _SYSTEM_ROLES]
    last_user = max((n for n, m in enumerate(turns) if m["role"] == "user"), default=None)
    if last_user is None:
        return "", turns, system
    return turns[last_user]["content"], turns[:last_user], system


def _answer(llm: _Part | None) -> str:
    if llm is None:
        return ""
    outputs = [_message(entry) for entry in _indexed(llm.attrs, "llm.output_messages")]
    if outputs and outputs[0]["content"]:
        return str(outputs[0]["content"])
    return _structured(llm.attrs.get("output.value"), _ANSWER_KEYS)


def _documents(parts: list[_Part]) -> list[RetrievedDocument]:
    documents = []
    for part in parts:
        if part.kind != "RETRIEVER":
            continue
        for entry in _indexed(part.attrs, "retrieval.documents"):
            if not _text(entry.get("document.content")).strip():
                continue  # nothing to ground an answer on
            score, metadata = entry.get("document.score"), entry.get("document.metadata")
            if isinstance(metadata, str):
                with contextlib.suppress(ValueError):
                    metadata = json.loads(metadata)
            source = metadata.get("source") if isinstance(metadata, dict) else None
            documents.append(
                RetrievedDocument(
                    content=_text(entry.get("document.content")),
                    id=_text(entry["document.id"]) if entry.get("document.id") is not None else None,
                    score=float(score) if isinstance(score, int | float) and not isinstance(score, bool) else None,
                    source=str(source) if source else None,
                )
            )
    return documents


def _tool_calls(parts: list[_Part]) -> list[dict[str, Any]]:
    """TOOL spans as tool calls: the call's input (`input.value`, else `tool.parameters`) and output."""
    calls = []
    for part in parts:
        if part.kind != "TOOL":
            continue
        arguments = part.attrs.get("input.value", part.attrs.get("tool.parameters"))
        if isinstance(arguments, str) and arguments[:1] in ("{", "["):
            with contextlib.suppress(ValueError):
                arguments = json.loads(arguments)
        call: dict[str, Any] = {
            "id": part.otel.span_id,
            "name": str(part.attrs.get("tool.name") or part.otel.name),
            "arguments": arguments,
            "output": part.attrs.get("output.value"),
        }
        if part.otel.status == "error":
            call["error"] = part.otel.status_message or "the tool span ended with status ERROR"
        calls.append(call)
    return calls


def _first(parts: list[_Part], keys: tuple[str, ...], *, resource: bool = True) -> str | None:
    """The first non-empty value of `keys` on the spans in order (each span's resource after it)."""
    for part in parts:
        for source in (part.attrs, part.otel.resource) if resource else (part.attrs,):
            for key in keys:
                value = source.get(key)
                if value not in (None, ""):
                    return str(value)
    return None


def _metadata(parts: list[_Part]) -> dict[str, Any]:
    metadata: dict[str, Any] = {}
    for part in parts:
        extra = part.attrs.get("metadata")
        if isinstance(extra, str):
            with contextlib.suppress(ValueError):
                extra = json.loads(extra)
        if isinstance(extra, dict):
            metadata.update(extra)
    resource = parts[0].otel.resource
    metadata["otel"] = {"serviceName": resource.get("service.name"), "scope": parts[0].otel.scope}
    tokens: dict[str, int] = {}
    for part in parts:
        for name in ("prompt", "completion", "total"):
            value = part.attrs.get(f"llm.token_count.{name}")
            if isinstance(value, int) and not isinstance(value, bool):
                tokens[name] = tokens.get(name, 0) + value
    if tokens:
        metadata["tokenCount"] = tokens
    if user := _first(parts, ("user.id",), resource=False):
        metadata["userId"] = user
    return metadata


def merge_traces(stored: Trace, batch: Trace) -> Trace:
    """One OTel trace whose spans arrived in several exports: `stored` plus a later `batch`.

    Spans, documents and tool calls are united (a re-sent span replaces its earlier copy). The
    conversation fields come from the part that holds the root span, else from the later export,
    each falling back to the other part's value when empty. A non-OTLP pair is not merged: `batch` wins.
    """
    if stored.source != "otlp" or batch.source != "otlp":
        return batch
    spans = sorted(
        ({s.span_id: s for s in stored.spans} | {s.span_id: s for s in batch.spans}).values(),
        key=lambda s: (s.start_time or "", s.parent_id is not None),  # a parent first on a tie
    )
    primary, secondary = (stored, batch) if _has_root(stored) and not _has_root(batch) else (batch, stored)
    calls = {c.get("id"): c for c in stored.tool_calls} | {c.get("id"): c for c in batch.tool_calls}
    starts = [s.start_time for s in spans if s.start_time]
    ends = [s.end_time for s in spans if s.end_time]
    return msgspec.structs.replace(
        primary,
        agent_id=stored.agent_id,
        user_message=primary.user_message or secondary.user_message,
        agent_response=primary.agent_response or secondary.agent_response,
        outcome=primary.outcome or secondary.outcome,
        session_id=primary.session_id or secondary.session_id,
        conversation_history=primary.conversation_history or secondary.conversation_history,
        system_prompt=primary.system_prompt or secondary.system_prompt,
        retrieved_documents=list(dict.fromkeys([*stored.retrieved_documents, *batch.retrieved_documents])),
        tool_calls=list(calls.values()),
        spans=spans,
        metadata={**secondary.metadata, **primary.metadata},
        duration_ms=_ms_between(min(starts), max(ends)) if starts and ends else None,
        model=primary.model or secondary.model,
        created_at=min(starts) if starts else primary.created_at,
    )


def _has_root(trace: Trace) -> bool:
    return any(span.parent_id is None for span in trace.spans)


def _ms_between(start: str, end: str) -> int:
    began = datetime.fromisoformat(start.replace("Z", "+00:00"))
    ended = datetime.fromisoformat(end.replace("Z", "+00:00"))
    return max(0, round((ended - began).total_seconds() * 1000))
