"""Dates in ThinkHive query strings (`startDate`, `endDate`): ISO 8601, as the SDK sends them.

The thinkhive SDK sends `datetime.isoformat()`: naive (`2026-01-01T00:00:00`, read as UTC) or with an
offset (`…+00:00`, `…-05:00`); users also type bare dates (`2026-01-01`) and `Z`. Anything else is a 400
naming the parameter, in both the explainer's list and the analyzer's history.
"""

from __future__ import annotations

from datetime import UTC, datetime

from app.errors import ApiError


def query_timestamp_ms(value: str | None, name: str) -> float | None:
    """Milliseconds since the epoch of an ISO 8601 query value, or None when absent.

    Raises:
        ApiError: 400 VALIDATION_ERROR naming `name` when the value is not an ISO 8601 date.
    """
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ApiError(400, "VALIDATION_ERROR", f"{name} must be an ISO 8601 date, got {value!r}", field=name) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp() * 1000
