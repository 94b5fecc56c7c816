"""The error bodies in the OpenAPI document: each family's real shape instead of Litestar's default.

Litestar documents every 400 as its own `{status_code, detail, extra}`; misstep answers every 4xx in the
caller's family shape (app/errors.py). `document_error_bodies` rewrites the 4xx responses of the
generated document once, at start-up, so clients and fuzzers see what is really sent.
"""

from __future__ import annotations

from typing import Any

from litestar import Litestar

VALIQOR_ERROR: dict[str, Any] = {
    "type": "object",
    "description": "Valiqor family error (FastAPI-shaped); dataset_too_large and quota errors add top-level fields",
    "anyOf": [
        {"required": ["detail"], "properties": {"detail": {"type": "string"}}},
        {"required": ["error", "message"], "properties": {"error": {"type": "string"}}},
    ],
    "properties": {
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["loc", "msg"],
                "properties": {"loc": {"type": "string"}, "msg": {"type": "string"}},
            },
        },
    },
}
THINKHIVE_ERROR: dict[str, Any] = {
    "type": "object",
    "description": "ThinkHive family error envelope",
    "required": ["success", "message", "code", "error"],
    "properties": {
        "success": {"const": False},
        "message": {"type": "string"},
        "code": {"type": "string", "pattern": "^[A-Z][A-Z_]*$"},
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
        },
    },
}


def error_shape(path: str) -> dict[str, Any]:
    """The error body schema of the family that owns `path` (the split of app/errors.py family_of)."""
    if path.startswith("/api/v1/traces/upload"):
        return VALIQOR_ERROR
    if path.startswith(("/api/", "/v1/")):
        return THINKHIVE_ERROR
    return VALIQOR_ERROR


def document_error_bodies(document: dict[str, Any]) -> None:
    """Point every documented 4xx response of `document` (the generated OpenAPI dict) at its family's shape."""
    for path, operations in document.get("paths", {}).items():
        for operation in operations.values():
            if not isinstance(operation, dict):
                continue
            for status, response in operation.get("responses", {}).items():
                if str(status).startswith("4") and isinstance(response, dict):
                    response["content"] = {"application/json": {"schema": error_shape(path)}}


def served_document(app: Litestar) -> dict[str, Any]:
    """The OpenAPI document `app` serves at /schema/openapi.json, with the family error bodies (idempotent)."""
    document: dict[str, Any] = app.plugins.get("OpenAPIPlugin").provide_openapi_schema()  # cached by Litestar
    document_error_bodies(document)
    return document
