"""Trace routes (ThinkHive /api/traces, /api/v1/traces, Valiqor upload, OTLP /v1/traces). STUB."""

from __future__ import annotations

from typing import Any

ROUTES: list[Any] = []
