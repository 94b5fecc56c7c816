"""Error mapping, in one place: exceptions to each API family's error body.

Every handler turns its exception into a Problem (status, code, message, the field at fault, extra
fields, headers); the request's path picks the family that renders it:

- Valiqor family (FastAPI-shaped, `/v2/...` and the Valiqor trace upload): {"detail": "<field>:
  <problem>", "errors": [{"loc", "msg"}]}, with the top-level {"error": "dataset_too_large", "message",
  "dataset_size", "max_allowed"} the Valiqor SDK reads for oversized datasets.
  Refused credits are a 429 with the top-level {"error": "quota_exceeded", "message", "current_usage",
  "quota_limit", "service"} the SDK turns into QuotaExceededError.
- ThinkHive family (`/api/...`, OTLP `/v1/traces`): {"success": false, "message", "code", "error":
  {"code", "message", ...extra}}; the top-level string `message` keeps the 4.2.2 SDK from crashing.
"""

from __future__ import annotations

from typing import Any, Literal

import msgspec
import structlog
from litestar import Request, Response
from litestar.exceptions import HTTPException, SerializationException, ValidationException
from redis.exceptions import RedisError

from workers.submission import SubmissionError

log = structlog.get_logger("misstep.http")

STORAGE_RETRY_AFTER_S = 2
Family = Literal["valiqor", "thinkhive"]
_VALIQOR_PATHS = ("/api/v1/traces/upload",)
_THINKHIVE_CODES = {
    400: "VALIDATION_ERROR",
    401: "UNAUTHORIZED",
    402: "INSUFFICIENT_CREDITS",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    409: "CONFLICT",
    413: "PAYLOAD_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
    422: "UNPROCESSABLE",
    429: "RATE_LIMITED",
    500: "INTERNAL_ERROR",
    503: "SERVICE_UNAVAILABLE",
}


class ApiError(Exception):
    """An error a handler raises on purpose, rendered in the caller's API family.

    `code` is the ThinkHive code (TRACE_NOT_FOUND, BATCH_TOO_LARGE, ...); `field` names the input at
    fault; `extra` lands in the ThinkHive `error` object (and top-level in the Valiqor body).
    """

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        field: str | None = None,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.field = status, code, message, field
        self.headers = headers or {}
        self.extra = extra


def family_of(request: Request[Any, Any, Any]) -> Family:
    path = request.url.path
    if path.startswith(_VALIQOR_PATHS):
        return "valiqor"
    if path.startswith(("/api/", "/v1/")):
        return "thinkhive"
    return "valiqor"


def thinkhive_body(status: int, message: str, code: str | None = None, **extra: Any) -> dict[str, Any]:
    """The ThinkHive error body; `extra` goes into `error` and also top-level, where the 4.2.2 SDK reads
    `resourceType`/`resourceId` (404) and `agentId`/`requiredPermission` (403)."""
    code = code or _THINKHIVE_CODES.get(status, "ERROR")
    return {
        **extra,
        "success": False,
        "message": message,
        "code": code,
        "error": {"code": code, "message": message, **extra},
    }


def api_error(request: Request[Any, Any, Any], exc: ApiError) -> Response[Any]:
    log.info("request.refused", path=request.url.path, code=exc.code, status=exc.status, detail=exc.message)
    if family_of(request) == "thinkhive":
        extra = dict(exc.extra)
        if exc.field:
            extra["field"] = exc.field
        return Response(
            thinkhive_body(exc.status, exc.message, exc.code, **extra), status_code=exc.status, headers=exc.headers
        )
    detail = f"{exc.field}: {exc.message}" if exc.field and not exc.message.startswith(exc.field) else exc.message
    body: dict[str, Any] = {"detail": detail, **exc.extra}
    if exc.field:
        body["errors"] = [{"loc": exc.field, "msg": exc.message}]
    return Response(body, status_code=exc.status, headers=exc.headers)


_SUBMISSION_STATUS = {
    "invalid": 400,
    "too_large": 400,
    "not_found": 404,
    "unavailable": 403,
    "busy": 429,
    "no_credits": 402,
}
_SUBMISSION_CODES = {
    "invalid": "VALIDATION_ERROR",
    "too_large": "BATCH_TOO_LARGE",
    "not_found": "TRACE_NOT_FOUND",
    "unavailable": "TIER_NOT_AVAILABLE",
    "busy": "RATE_LIMITED",
    "no_credits": "INSUFFICIENT_CREDITS",
}
BUSY_RETRY_AFTER_S = 5


def _field_detail(exc: ValidationException) -> tuple[str, list[dict[str, Any]]]:
    problems: list[dict[str, Any]] = []
    for entry in exc.extra if isinstance(exc.extra, list) else []:
        key = str(entry.get("key", ""))
        message = str(entry.get("message", "invalid value"))
        if key == "data" and message in ("'data'", "None"):
            key, message = "body", "request body is empty; send a JSON object"
        elif key == "data":
            key = "body"
        problems.append({"loc": key, "msg": message})
    if not problems:  # the body did not decode at all
        return _malformed_body(str(exc.detail)), []
    return "; ".join(f"{p['loc']}: {p['msg']}" for p in problems), problems


def validation_error(request: Request[Any, Any, Any], exc: ValidationException) -> Response[Any]:
    detail, problems = _field_detail(exc)
    log.info("request.invalid", path=request.url.path, detail=detail)
    if family_of(request) == "thinkhive":
        field = problems[0]["loc"] if problems else "body"
        return Response(thinkhive_body(400, detail, "VALIDATION_ERROR", field=field, errors=problems), status_code=400)
    return Response({"detail": detail, "errors": problems}, status_code=400)


def submission_error(request: Request[Any, Any, Any], exc: SubmissionError) -> Response[Any]:
    status = _SUBMISSION_STATUS.get(exc.kind, 400)
    if family_of(request) == "thinkhive":
        code = _SUBMISSION_CODES.get(exc.kind, "VALIDATION_ERROR")
        headers = {"Retry-After": str(BUSY_RETRY_AFTER_S)} if exc.kind == "busy" else {}
        log.info("request.refused", path=request.url.path, detail=str(exc), status=status)
        return Response(
            thinkhive_body(status, str(exc), code, field=exc.field, **exc.extra), status_code=status, headers=headers
        )
    body: dict[str, Any] = {"detail": str(exc), "errors": [{"loc": exc.field, "msg": exc.message}]}
    if exc.kind == "too_large":
        body.update(error="dataset_too_large", message=str(exc), **exc.extra)
    if exc.kind == "no_credits":  # the Valiqor SDK raises QuotaExceededError only for a 429 with this shape
        status = 429
        body.update(_quota_exceeded(str(exc), exc.extra))
    headers = {}
    if exc.kind == "busy":
        body["retry_after_seconds"] = BUSY_RETRY_AFTER_S
        headers["Retry-After"] = str(BUSY_RETRY_AFTER_S)
    log.info("request.refused", path=request.url.path, detail=str(exc), status=status)
    return Response(body, status_code=status, headers=headers)


def _quota_exceeded(message: str, extra: dict[str, Any]) -> dict[str, Any]:
    """Top-level fields of the Valiqor quota error: current_usage = credits required, quota_limit = available."""
    return {
        "error": "quota_exceeded",
        "message": message,
        "current_usage": extra.get("required"),
        "quota_limit": extra.get("available"),
        "service": "failure_analysis",
        **extra,
    }


def _malformed_body(detail: str) -> str:
    """The message for a body that is not JSON, naming it as such."""
    return detail if "json" in detail.lower() else f"malformed JSON body: {detail}"


def _is_decode_failure(exc: BaseException) -> bool:
    cause = exc.__cause__
    return isinstance(cause, SerializationException | msgspec.DecodeError) or (
        cause is not None and _is_decode_failure(cause)
    )


def http_error(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    detail = exc.detail
    if exc.status_code == 400 and _is_decode_failure(exc):
        detail = _malformed_body(detail)
    if family_of(request) == "thinkhive":
        extra = exc.extra if isinstance(exc.extra, dict) else {}
        return Response(
            thinkhive_body(exc.status_code, detail, **extra), status_code=exc.status_code, headers=exc.headers
        )
    body: dict[str, Any] = {"detail": detail}
    if isinstance(exc.extra, dict):
        body.update(exc.extra)
    return Response(body, status_code=exc.status_code, headers=exc.headers)


def storage_unavailable(request: Request[Any, Any, Any], exc: RedisError) -> Response[Any]:
    log.error("storage.unavailable", path=request.url.path, error=f"{type(exc).__name__}: {exc}")
    message = "storage unavailable: Redis did not answer; nothing was changed, retry shortly"
    headers = {"Retry-After": str(STORAGE_RETRY_AFTER_S)}
    if family_of(request) == "thinkhive":
        return Response(thinkhive_body(503, message, "SERVICE_UNAVAILABLE"), status_code=503, headers=headers)
    return Response({"detail": message}, status_code=503, headers=headers)


def unreadable_body(request: Request[Any, Any, Any], exc: RecursionError | UnicodeDecodeError) -> Response[Any]:
    """400 for a body the JSON decoder gives up on: nested too deeply, or not UTF-8 (nothing was stored)."""
    if isinstance(exc, RecursionError):
        message = "malformed JSON body: nested too deeply"
    else:
        message = f"malformed JSON body: not valid UTF-8 ({exc.reason})"
    log.warning("request.unreadable", path=request.url.path, detail=message, error=type(exc).__name__)
    if family_of(request) == "thinkhive":
        return Response(thinkhive_body(400, message, "VALIDATION_ERROR", field="body"), status_code=400)
    return Response({"detail": message, "errors": [{"loc": "body", "msg": message}]}, status_code=400)


def internal_error(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    log.exception("request.crashed", path=request.url.path)
    message = "internal error; the request id is in the X-Request-ID header"
    if family_of(request) == "thinkhive":
        return Response(thinkhive_body(500, message, "INTERNAL_ERROR"), status_code=500)
    return Response({"detail": message}, status_code=500)


EXCEPTION_HANDLERS = {
    ApiError: api_error,
    RedisError: storage_unavailable,
    ValidationException: validation_error,
    SubmissionError: submission_error,
    HTTPException: http_error,
    RecursionError: unreadable_body,  # msgspec's answer to deeply nested JSON
    UnicodeDecodeError: unreadable_body,
    500: internal_error,
}
