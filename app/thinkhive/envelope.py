"""The ThinkHive response envelope and query-string helpers shared by the family's routes."""

from __future__ import annotations

from typing import Any

from app.errors import ApiError

_TRUE = frozenset({"true", "1", "yes"})
_FALSE = frozenset({"false", "0", "no"})


def ok(data: Any, **extra: Any) -> dict[str, Any]:
    """{"success": true, "data": data} plus top-level extras (such as `pagination`)."""
    return {"success": True, "data": data, **extra}


def query_bool(value: str | None, *, name: str, default: bool = False) -> bool:
    """A query boolean as the SDKs send it: true/True/1 or false/False/0 (case-insensitive)."""
    if value is None or value == "":
        return default
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ApiError(400, "VALIDATION_ERROR", f"{name} must be true or false, got {value!r}", field=name)


def pagination(total: int, limit: int, offset: int) -> dict[str, Any]:
    return {"total": total, "limit": limit, "offset": offset, "hasMore": offset + limit < total}
