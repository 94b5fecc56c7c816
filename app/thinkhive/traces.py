"""Trace ingestion and reading routes: ThinkHive `/api/traces` (and `/api/v1/traces`, the 3.2.0 / 2.0.0
paths), the Valiqor upload `/api/v1/traces/upload`, and OTLP/HTTP export at `/v1/traces`.

Every route resolves the tenant; a trace of another tenant is a 404. Input limits (MAX_FIELD_CHARS per
text, MAX_CONTEXT_DOCS, MAX_TOOL_CALLS, MAX_TRACE_SPANS) are checked on the mapped Traces before
anything is stored, and name the field at fault.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterator
from typing import Annotated, Any

import msgspec
from litestar import Request, Response, get, post
from litestar.params import Parameter

from app.auth import resolve_tenant
from app.errors import ApiError
from app.services import Services
from app.thinkhive.envelope import ok, pagination
from app.thinkhive.trace_views import (
    TraceBody,
    UploadBody,
    created_view,
    new_trace_id,
    trace_from_body,
    trace_view,
)
from workers import otlp
from workers.openinference import merge_traces
from workers.settings import Settings
from workers.submission import now_iso
from workers.traces import Trace
from workers.valiqor_trace import trace_from_upload

TRACE_PATHS = ["/api/traces", "/api/v1/traces"]
ONE_TRACE_PATHS = ["/api/traces/{trace_id:str}", "/api/v1/traces/{trace_id:str}"]


def _operation_id(name: str) -> Callable[[Any, Any, list[Any]], str]:
    """`name` for the /api path and `name` + "V1" for its /api/v1 alias: OpenAPI wants one id per operation."""

    def create(handler: Any, method: Any, components: list[Any]) -> str:
        return f"{name}V1" if components[:2] == ["api", "v1"] else name

    return create


def _refuse(trace: Trace, field: str, problem: str) -> ApiError:
    return ApiError(400, "VALIDATION_ERROR", f"{field} {problem}", field=field, traceId=trace.trace_id)


def _texts(trace: Trace) -> Iterator[tuple[str, Any]]:
    """(field, value) of every text of a trace that MAX_FIELD_CHARS bounds."""
    yield "userMessage", trace.user_message
    yield "agentResponse", trace.agent_response
    yield "systemPrompt", trace.system_prompt
    for n, turn in enumerate(trace.conversation_history):
        yield f"conversationHistory[{n}].content", turn.get("content")
    for n, doc in enumerate(trace.retrieved_documents):
        yield f"retrievedDocuments[{n}].content", doc.content
    for n, call in enumerate(trace.tool_calls):
        yield f"toolCalls[{n}].arguments", call.get("arguments")
        yield f"toolCalls[{n}].output", call.get("output")
    for n, span in enumerate(trace.spans):
        yield f"spans[{n}].input", span.input
        yield f"spans[{n}].output", span.output


def check_limits(trace: Trace, settings: Settings) -> Trace:
    """Refuse a trace beyond the input limits (ApiError 400 naming the field); returns it unchanged."""
    for field, count, limit, setting in (
        ("retrievedDocuments", len(trace.retrieved_documents), settings.max_context_docs, "MAX_CONTEXT_DOCS"),
        ("toolCalls", len(trace.tool_calls), settings.max_tool_calls, "MAX_TOOL_CALLS"),
        ("spans", len(trace.spans), settings.max_trace_spans, "MAX_TRACE_SPANS"),
    ):
        if count > limit:
            raise _refuse(trace, field, f"has {count} entries; the limit is {limit} ({setting})")
    for field, value in _texts(trace):
        text = value if isinstance(value, str) or value is None else msgspec.json.encode(value).decode()
        if text is not None and len(text) > settings.max_field_chars:  # structured values count as JSON
            limit = settings.max_field_chars
            raise _refuse(trace, field, f"has {len(text)} characters; the limit is {limit} (MAX_FIELD_CHARS)")
    try:
        msgspec.msgpack.encode(trace)  # what the store writes: numbers beyond 64 bits cannot be kept
    except OverflowError:
        raise _refuse(trace, "body", "holds an integer too large to store (beyond 64 bits)") from None
    return trace


def _not_found(trace_id: str) -> ApiError:
    return ApiError(404, "TRACE_NOT_FOUND", f"trace {trace_id!r} not found", resourceType="trace", resourceId=trace_id)


@post(TRACE_PATHS, status_code=201, operation_id=_operation_id("createTrace"), tags=["traces"])
async def create_trace(request: Request[Any, Any, Any], data: TraceBody, svc: Services) -> dict[str, Any]:
    """Store one trace (thinkhive `traces.create`); a body that names an existing traceId overwrites it."""
    tenant = resolve_tenant(request, svc.settings)
    trace = await svc.traces.put(check_limits(trace_from_body(data, tenant=tenant, now=now_iso()), svc.settings))
    created = created_view(trace)
    if request.url.path.startswith("/api/v1/"):  # thinkhive 2.0.0 reads traceId / id from the raw body
        return ok(created, traceId=trace.trace_id, id=trace.trace_id)
    return ok(created)


@get(TRACE_PATHS, operation_id=_operation_id("listTraces"), tags=["traces"])
async def list_traces(
    request: Request[Any, Any, Any],
    svc: Services,
    agent_id: Annotated[str | None, Parameter(query="agentId")] = None,
    session_id: Annotated[str | None, Parameter(query="sessionId")] = None,
    outcome: str | None = None,
    limit: Annotated[int, Parameter(ge=1, le=100)] = 50,
    offset: Annotated[int, Parameter(ge=0)] = 0,
) -> dict[str, Any]:
    """The tenant's traces, newest first, filtered by agent, session and outcome (spans left out)."""
    tenant = resolve_tenant(request, svc.settings)
    traces, total = await svc.traces.list(
        tenant, agent_id=agent_id, session_id=session_id, outcome=outcome, limit=limit, offset=offset
    )
    return ok([trace_view(t, with_spans=False) for t in traces], pagination=pagination(total, limit, offset))


@get(ONE_TRACE_PATHS, operation_id=_operation_id("getTrace"), tags=["traces"])
async def get_trace(request: Request[Any, Any, Any], trace_id: str, svc: Services) -> dict[str, Any]:
    """One trace with its spans; another tenant's trace is a 404 like a missing one."""
    trace = await svc.traces.get(resolve_tenant(request, svc.settings), trace_id)
    if trace is None:
        raise _not_found(trace_id)
    return ok(trace_view(trace))


@post("/api/v1/traces/upload", status_code=201, operation_id="uploadValiqorTrace", tags=["traces"])
async def upload_trace(request: Request[Any, Any, Any], data: UploadBody, svc: Services) -> dict[str, Any]:
    """Store a trace uploaded by the valiqor SDK's tracer (Valiqor error shapes)."""
    tenant = resolve_tenant(request, svc.settings)
    trace = trace_from_upload(
        data.trace, tenant=tenant, trace_id=new_trace_id(), project_name=data.project_name, now=now_iso()
    )
    if len(trace.trace_id) > 200:
        raise ApiError(
            400, "VALIDATION_ERROR", "trace id is longer than 200 characters", field="trace.metadata.trace_id"
        )
    stored = await svc.traces.put(check_limits(trace, svc.settings))
    return {"trace_id": stored.trace_id, "status": "stored", "project_name": data.project_name}


def _inflate(body: bytes, encoding: str | None, limit: int) -> bytes:
    """The body with its Content-Encoding (gzip or deflate) undone, refused beyond `limit` bytes."""
    name = (encoding or "identity").strip().lower()
    if name == "identity":
        return body
    if name not in ("gzip", "deflate"):
        raise ApiError(
            415, "UNSUPPORTED_MEDIA_TYPE", f"Content-Encoding {name!r} is not supported", field="Content-Encoding"
        )
    inflater = zlib.decompressobj(zlib.MAX_WBITS | 32)  # gzip or zlib header, detected
    try:
        out = inflater.decompress(body, limit + 1)
    except zlib.error as exc:
        raise ApiError(400, "INVALID_OTLP_PAYLOAD", f"body is not valid {name} data: {exc}", field="body") from None
    if len(out) > limit:
        raise ApiError(413, "PAYLOAD_TOO_LARGE", f"decompressed body is larger than {limit} bytes", field="body")
    return out


@post("/v1/traces", status_code=200, operation_id="otlpExportTraces", tags=["otlp"])
async def otlp_export(request: Request[Any, Any, Any], svc: Services) -> Response[bytes]:
    """OTLP/HTTP trace export (protobuf or JSON): one stored Trace per OTel trace id.

    Spans of one trace that arrive in several exports are merged into the stored trace.
    """
    tenant = resolve_tenant(request, svc.settings)
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    encoding = otlp.MEDIA_TYPES.get(media)
    if encoding is None:
        raise ApiError(
            415,
            "UNSUPPORTED_MEDIA_TYPE",
            f"Content-Type {media or '(none)'!r} is not OTLP/HTTP: send application/x-protobuf or application/json",
            field="Content-Type",
        )
    body = _inflate(await request.body(), request.headers.get("content-encoding"), svc.settings.max_body_bytes)
    try:
        export = otlp.decode_request(body, encoding)
    except otlp.OtlpDecodeError as exc:
        raise ApiError(400, "INVALID_OTLP_PAYLOAD", str(exc), field="body") from None
    traces = [check_limits(trace, svc.settings) for trace in otlp.traces_from_request(export, tenant=tenant)]
    settings = svc.settings
    await svc.traces.put_many(traces, combine=lambda stored, new: check_limits(merge_traces(stored, new), settings))
    return Response(otlp.encode_response(encoding), media_type=media, status_code=200)


ROUTES: list[Any] = [create_trace, list_traces, get_trace, upload_trace, otlp_export]
