"""OTLP/HTTP trace export: the only module that reads OTLP payloads.

Decodes an ExportTraceServiceRequest in either OTLP/HTTP encoding (binary protobuf, or the OTLP JSON
encoding, whose trace and span ids are hex strings rather than protobuf-JSON base64) into plain
`OtelSpan`s grouped by trace id, and hands each group to workers/openinference.py, which maps the
OpenInference attributes onto a Trace.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable
from typing import Any, Literal

from google.protobuf import json_format
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

from workers.openinference import OtelSpan, trace_from_spans
from workers.traces import Trace

Encoding = Literal["protobuf", "json"]
MEDIA_TYPES: dict[str, Encoding] = {"application/x-protobuf": "protobuf", "application/json": "json"}
_ID_FIELDS = ("traceId", "spanId", "parentSpanId")
_STATUS = {0: "unset", 1: "ok", 2: "error"}


class OtlpDecodeError(ValueError):
    """The body is not an ExportTraceServiceRequest in the announced encoding."""


def decode_request(body: bytes, encoding: Encoding) -> ExportTraceServiceRequest:
    """Parse an OTLP/HTTP request body.

    Raises:
        OtlpDecodeError: saying what is wrong with the payload.
    """
    request = ExportTraceServiceRequest()
    if encoding == "protobuf":
        try:
            request.ParseFromString(body)
        except DecodeError as exc:
            raise OtlpDecodeError(f"body is not a protobuf ExportTraceServiceRequest: {exc}") from None
        return request
    try:
        document = json.loads(body or b"{}")
    except (ValueError, UnicodeDecodeError) as exc:
        raise OtlpDecodeError(f"body is not JSON: {exc}") from None
    if not isinstance(document, dict):
        raise OtlpDecodeError("body must be a JSON object (an OTLP ExportTraceServiceRequest)")
    try:
        json_format.ParseDict(_hex_ids_to_base64(document), request, ignore_unknown_fields=True)
    except (json_format.ParseError, TypeError, ValueError) as exc:
        raise OtlpDecodeError(f"body is not an OTLP JSON ExportTraceServiceRequest: {exc}") from None
    return request


def encode_response(encoding: Encoding) -> bytes:
    """An empty ExportTraceServiceResponse (everything accepted) in the request's encoding."""
    if encoding == "protobuf":
        return ExportTraceServiceResponse().SerializeToString()
    return b"{}"


def traces_from_request(request: ExportTraceServiceRequest, *, tenant: str) -> list[Trace]:
    """One Trace per OTel trace id in the request, in the order the ids first appear."""
    return [trace_from_spans(trace_id, spans, tenant=tenant) for trace_id, spans in spans_by_trace(request).items()]


def spans_by_trace(request: ExportTraceServiceRequest) -> dict[str, list[OtelSpan]]:
    """The request's spans as plain OtelSpans, grouped by hex trace id."""
    groups: dict[str, list[OtelSpan]] = {}
    for resource_spans in request.resource_spans:
        resource = _attributes(resource_spans.resource.attributes)
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                exceptions = [
                    str(attrs["exception.message"])
                    for attrs in (_attributes(e.attributes) for e in span.events if e.name == "exception")
                    if attrs.get("exception.message")
                ]
                decoded = OtelSpan(
                    name=span.name,
                    span_id=span.span_id.hex() or None,
                    parent_id=span.parent_span_id.hex() or None,
                    start_ns=span.start_time_unix_nano,
                    end_ns=span.end_time_unix_nano,
                    status=_STATUS.get(span.status.code, "unset"),  # type: ignore[arg-type]
                    status_message=span.status.message or (exceptions[0] if exceptions else None),
                    attributes=_attributes(span.attributes),
                    resource=resource,
                    scope=scope_spans.scope.name or None,
                )
                groups.setdefault(span.trace_id.hex() or "0" * 32, []).append(decoded)
    return groups


def _hex_ids_to_base64(document: dict[str, Any]) -> dict[str, Any]:
    """OTLP JSON carries ids as hex; protobuf JSON expects base64. Converted in place, then returned."""
    for resource in _dicts(document.get("resourceSpans")):
        for scope in _dicts(resource.get("scopeSpans")):
            for span in _dicts(scope.get("spans")):
                for holder in (span, *_dicts(span.get("links"))):
                    for name in _ID_FIELDS:
                        value = holder.get(name)
                        if isinstance(value, str) and value:
                            holder[name] = _hex_to_base64(value, name)
    return document


def _hex_to_base64(value: str, name: str) -> str:
    try:
        return base64.b64encode(bytes.fromhex(value)).decode()
    except ValueError:
        raise OtlpDecodeError(f"{name} {value[:40]!r} is not a hex string") from None


def _dicts(value: Any) -> list[dict[str, Any]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _value(value: AnyValue) -> Any:
    which = value.WhichOneof("value")
    if which is None:
        return None
    if which == "array_value":
        return [_value(v) for v in value.array_value.values]
    if which == "kvlist_value":
        return _attributes(value.kvlist_value.values)
    if which == "bytes_value":
        return value.bytes_value.hex()
    return getattr(value, which)


def _attributes(pairs: Iterable[KeyValue]) -> dict[str, Any]:
    return {kv.key: _value(kv.value) for kv in pairs}
