"""Process configuration: the one Settings object, and the only code that reads os.environ.

Env names are the field names in upper case (REDIS_URL, API_KEY, CHUNK_SIZE, ...). Settings is built
once at start-up by `Settings.from_env()` and passed down explicitly; tests build it directly.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Annotated, Literal

import msgspec
from msgspec import Meta

Tier = Literal["rule_based", "fast_llm", "full_llm", "deep"]
_SECRET_FIELDS = frozenset({"api_key", "redis_url"})


class SettingsError(ValueError):
    """An environment variable holds a value Settings cannot accept."""


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    """Every tunable of misstep, with its default. See README "Configuration"."""

    env: Literal["dev", "test", "prod"] = "dev"
    redis_url: str = "redis://127.0.0.1:6379/0"
    redis_timeout_s: Annotated[float, Meta(gt=0)] = 2.0  # connect and command timeout of the API's Redis client
    host: str = "127.0.0.1"
    port: Annotated[int, Meta(ge=1, le=65535)] = 8000
    http_keep_alive_s: Annotated[int, Meta(ge=1)] = 75  # above common load-balancer idle timeouts (60 s)

    # Auth: with api_key unset and env=dev, requests run for the default tenant without a key.
    api_key: str | None = None
    default_tenant: str = "default"

    # Analysis
    default_tier: Tier = "rule_based"
    chunk_size: Annotated[int, Meta(ge=1, le=10_000)] = 100  # items per chunk job
    max_items_per_run: Annotated[int, Meta(ge=1)] = 10_000
    max_body_bytes: Annotated[int, Meta(ge=1024)] = 64 * 1024 * 1024
    max_field_chars: Annotated[int, Meta(ge=100)] = 200_000  # per input/output/context document
    max_context_docs: Annotated[int, Meta(ge=1)] = 100
    max_tool_calls: Annotated[int, Meta(ge=1)] = 500
    detector_budget_ms: Annotated[float, Meta(gt=0)] = 2_000.0  # a slower detector is logged as slow
    detector_plugins: str = ""  # comma-separated modules with extra @detector functions
    max_active_runs_per_tenant: Annotated[int, Meta(ge=1)] = 10_000  # queued + processing; more is 429

    # Summary thresholds (documented in README "Scoring")
    alert_severity: Annotated[float, Meta(ge=0, le=5)] = 4.0
    alert_confidence: Annotated[float, Meta(ge=0, le=1)] = 0.7
    gate_severity: Annotated[float, Meta(ge=0, le=5)] = 3.0
    gate_confidence: Annotated[float, Meta(ge=0, le=1)] = 0.6
    review_confidence: Annotated[float, Meta(ge=0, le=1)] = 0.6

    # Jobs and storage
    result_ttl_s: Annotated[int, Meta(gt=0)] = 7 * 24 * 3600
    job_timeout_s: Annotated[int, Meta(gt=0)] = 300
    job_max_tries: Annotated[int, Meta(ge=1, le=10)] = 5
    worker_max_jobs: Annotated[int, Meta(ge=1)] = 10
    worker_poll_delay_s: Annotated[float, Meta(gt=0)] = 0.01
    queue_name: str = "misstep:queue"

    log_json: bool | None = None  # None = JSON unless stdout is a terminal
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> Settings:
        """Build Settings from environment variables named after the fields in upper case.

        Raises:
            SettingsError: naming the variable whose value is invalid.
        """
        raw = {name: environ[name.upper()] for name in cls.__struct_fields__ if name.upper() in environ}
        try:
            return msgspec.convert(raw, cls, strict=False)
        except msgspec.ValidationError as exc:
            raise SettingsError(f"invalid configuration: {exc}".replace("$.", "")) from None

    @property
    def plugin_modules(self) -> tuple[str, ...]:
        return tuple(m.strip() for m in self.detector_plugins.split(",") if m.strip())

    @property
    def dev_mode(self) -> bool:
        """Keyless single-tenant mode: only in env=dev without an API key, on a loopback address."""
        return self.env in ("dev", "test") and self.api_key is None

    def __repr__(self) -> str:
        shown = []
        for name in self.__struct_fields__:
            value = getattr(self, name)
            if name in _SECRET_FIELDS and value:
                value = "***"
            shown.append(f"{name}={value!r}")
        return f"Settings({', '.join(shown)})"
