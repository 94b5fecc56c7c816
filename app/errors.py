"""Error mapping, in one place: exceptions to each API family's error body.

Valiqor family (FastAPI-shaped): {"detail": "<field>: <problem>", "errors": [{"loc", "msg"}]}, with the
top-level {"error": "dataset_too_large", "message", "dataset_size", "max_allowed"} the Valiqor SDK reads
for oversized datasets.
"""

from __future__ import annotations

from typing import Any

import msgspec
import structlog
from litestar import Request, Response
from litestar.exceptions import HTTPException, SerializationException, ValidationException
from redis.exceptions import RedisError

from workers.submission import SubmissionError

log = structlog.get_logger("misstep.http")

STORAGE_RETRY_AFTER_S = 2
_SUBMISSION_STATUS = {"invalid": 400, "too_large": 400, "not_found": 404, "unavailable": 403, "busy": 429}
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
    return Response({"detail": detail, "errors": problems}, status_code=400)


def submission_error(request: Request[Any, Any, Any], exc: SubmissionError) -> Response[Any]:
    status = _SUBMISSION_STATUS.get(exc.kind, 400)
    body: dict[str, Any] = {"detail": str(exc), "errors": [{"loc": exc.field, "msg": exc.message}]}
    if exc.kind == "too_large":
        body.update(error="dataset_too_large", message=str(exc), **exc.extra)
    headers = {}
    if exc.kind == "busy":
        body["retry_after_seconds"] = BUSY_RETRY_AFTER_S
        headers["Retry-After"] = str(BUSY_RETRY_AFTER_S)
    log.info("request.refused", path=request.url.path, detail=str(exc), status=status)
    return Response(body, status_code=status, headers=headers)


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
    body: dict[str, Any] = {"detail": detail}
    if isinstance(exc.extra, dict):
        body.update(exc.extra)
    return Response(body, status_code=exc.status_code, headers=exc.headers)


def storage_unavailable(request: Request[Any, Any, Any], exc: RedisError) -> Response[Any]:
    log.error("storage.unavailable", path=request.url.path, error=f"{type(exc).__name__}: {exc}")
    return Response(
        {"detail": "storage unavailable: Redis did not answer; nothing was changed, retry shortly"},
        status_code=503,
        headers={"Retry-After": str(STORAGE_RETRY_AFTER_S)},
    )


def internal_error(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    log.exception("request.crashed", path=request.url.path)
    return Response({"detail": "internal error; the request id is in the X-Request-ID header"}, status_code=500)


EXCEPTION_HANDLERS = {
    RedisError: storage_unavailable,
    ValidationException: validation_error,
    SubmissionError: submission_error,
    HTTPException: http_error,
    500: internal_error,
}
