"""Webhook routes: the tenant's signing secret (get, rotate) and delivery attempts. STUB."""

from __future__ import annotations

from typing import Any

ROUTES: list[Any] = []
