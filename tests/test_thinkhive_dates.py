"""ThinkHive query dates: every ISO 8601 form the SDK or a user sends, read as the same instant; anything
else a 400 naming the parameter."""

from __future__ import annotations

import pytest

from app.errors import ApiError
from app.thinkhive.dates import query_timestamp_ms

MIDNIGHT_UTC_MS = 1_767_225_600_000.0  # 2026-01-01T00:00:00Z


@pytest.mark.parametrize(
    "value", ["2026-01-01", "2026-01-01T00:00:00", "2026-01-01T00:00:00Z", "2026-01-01T00:00:00+00:00"]
)
def test_utc_forms_are_the_same_instant(value: str) -> None:
    assert query_timestamp_ms(value, "startDate") == MIDNIGHT_UTC_MS


def test_offsets_are_honoured_and_absence_is_none() -> None:
    assert query_timestamp_ms("2025-12-31T19:00:00-05:00", "endDate") == MIDNIGHT_UTC_MS
    assert query_timestamp_ms("2026-01-01T01:00:00+01:00", "endDate") == MIDNIGHT_UTC_MS
    assert query_timestamp_ms(None, "endDate") is None and query_timestamp_ms("", "endDate") is None


@pytest.mark.parametrize("value", ["last tuesday", "2026-13-01", "01/02/2026"])
def test_anything_else_is_a_400_naming_the_parameter(value: str) -> None:
    with pytest.raises(ApiError) as raised:
        query_timestamp_ms(value, "startDate")
    error = raised.value
    assert (error.status, error.code, error.field) == (400, "VALIDATION_ERROR", "startDate")
    assert value in error.message
