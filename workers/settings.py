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
_SECRET_FIELDS = frozenset({"api_key", "redis_url", "llm_api_key", "key_pepper"})
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
DEFAULT_MODELS = {"openai": "gpt-4o-mini", "anthropic": "claude-haiku-4-5"}


class SettingsError(ValueError):
    """An environment variable holds a value Settings cannot accept."""


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    """Every tunable of misstep, with its default. See README "Configuration"."""

    env: Literal["dev", "test", "prod"] = "dev"
    redis_url: str = "redis://127.0.0.1:6379/0"
    redis_timeout_s: Annotated[float, Meta(gt=0)] = 2.0  # connect and command timeout of the API's Redis client
    host: str = "127.0.0.1"
    port: Annotated[int, Meta(ge=1, le=65535)] = 8000
    api_processes: Annotated[int, Meta(ge=1, le=64)] = 1  # `misstep serve` processes sharing the port
    http_keep_alive_s: Annotated[int, Meta(ge=1)] = 75  # above common load-balancer idle timeouts (60 s)

    # Auth: with api_key unset and env=dev, requests run for the default tenant without a key.
    api_key: str | None = None  # one static key for the default tenant (keys from `misstep keys create` need none)
    default_tenant: str = "default"
    key_pepper: str | None = None  # secret for hashing API keys; unset: a random pepper kept in Redis

    # Analysis
    default_tier: Tier | None = None  # None: fast_llm when an LLM provider is configured, else rule_based
    chunk_size: Annotated[int, Meta(ge=1, le=10_000)] = 100  # items per chunk job
    max_items_per_run: Annotated[int, Meta(ge=1)] = 10_000
    max_body_bytes: Annotated[int, Meta(ge=1024)] = 64 * 1024 * 1024
    max_field_chars: Annotated[int, Meta(ge=100)] = 200_000  # per input/output/context document
    max_context_docs: Annotated[int, Meta(ge=1)] = 100
    max_tool_calls: Annotated[int, Meta(ge=1)] = 500
    detector_budget_ms: Annotated[float, Meta(gt=0)] = 2_000.0  # a slower detector is logged as slow
    detector_plugins: str = ""  # comma-separated modules with extra @detector functions
    max_active_runs_per_tenant: Annotated[int, Meta(ge=1)] = 10_000  # queued + processing; more is 429

    # LLM judges (tiers fast_llm, full_llm, deep). See README "LLM tiers".
    llm_provider: Literal["none", "openai", "anthropic"] = "none"
    llm_model: str = ""  # empty = the provider's default in DEFAULT_MODELS
    llm_api_key: str | None = None
    llm_base_url: str | None = None  # any OpenAI-compatible server (vLLM, Ollama, llama.cpp, LiteLLM)
    llm_timeout_s: Annotated[float, Meta(gt=0)] = 30.0  # per call attempt
    llm_max_retries: Annotated[int, Meta(ge=0, le=10)] = 3  # on 429 (honouring Retry-After), 5xx, timeouts
    llm_max_concurrency: Annotated[int, Meta(ge=1)] = 8  # judge calls in flight per worker process
    llm_max_output_tokens: Annotated[int, Meta(ge=64)] = 2048
    llm_structured_output: Literal["auto", "json_schema", "json_mode"] = "auto"  # auto: schema, else JSON mode
    llm_prices: str = ""  # extra prices "model=input:output,..." in USD per million tokens
    llm_request_key_model: str = "gpt-4o-mini"  # model for a request's own openai_api_key on a non-OpenAI setup
    llm_max_prompt_chars: Annotated[int, Meta(ge=1000)] = 24_000  # item text sent to a judge, truncated per field
    judge_cache_ttl_s: Annotated[int, Meta(gt=0)] = 30 * 24 * 3600
    # Hybrid scoring (README "Scoring"): how deterministic and judge signals combine per subcategory.
    hybrid_deterministic_weight: Annotated[float, Meta(ge=0, le=1)] = 0.4
    hybrid_judge_weight: Annotated[float, Meta(ge=0, le=1)] = 0.6
    metric_agreement_bonus: Annotated[float, Meta(ge=0, le=0.5)] = 0.1
    disagreement_penalty: Annotated[float, Meta(ge=0, le=0.5)] = 0.15

    # Webhooks (README "Webhooks")
    webhook_allowed_hosts: str = ""  # comma-separated hosts/IPs/CIDRs exempt from the SSRF guard (tests, on-prem)
    webhook_timeout_s: Annotated[float, Meta(gt=0)] = 10.0  # a 2xx within this is delivered
    webhook_retry_schedule_s: str = "5,30,120,600,1800,3600,7200,14400,28800,28800"  # ~24 h in all

    # ThinkHive family
    sync_wait_s: Annotated[float, Meta(ge=0)] = 30.0  # explainer/analyzer analyze wait this long, then answer 202
    max_batch_traces: Annotated[int, Meta(ge=1)] = 500  # analyzer batch and generate-all (BATCH_TOO_LARGE above)

    # Traces
    max_trace_spans: Annotated[int, Meta(ge=1)] = 1_000
    trace_ttl_s: Annotated[int, Meta(gt=0)] = 30 * 24 * 3600

    # Abuse resistance (README "Limits"): token buckets per API key, separate for submits and reads
    rate_submit_per_s: Annotated[float, Meta(gt=0)] = 20.0  # POSTs that create work
    rate_submit_burst: Annotated[int, Meta(ge=1)] = 100
    rate_ingest_per_s: Annotated[float, Meta(gt=0)] = 200.0  # trace ingestion (API, upload, OTLP)
    rate_ingest_burst: Annotated[int, Meta(ge=1)] = 1_000
    rate_read_per_s: Annotated[float, Meta(gt=0)] = 100.0  # everything else
    rate_read_burst: Annotated[int, Meta(ge=1)] = 500
    idempotency_ttl_s: Annotated[int, Meta(gt=0)] = 24 * 3600  # how long an Idempotency-Key is remembered

    # Summary thresholds (documented in README "Scoring")
    alert_severity: Annotated[float, Meta(ge=0, le=5)] = 4.0
    alert_confidence: Annotated[float, Meta(ge=0, le=1)] = 0.7
    gate_severity: Annotated[float, Meta(ge=0, le=5)] = 3.0
    gate_confidence: Annotated[float, Meta(ge=0, le=1)] = 0.6
    review_confidence: Annotated[float, Meta(ge=0, le=1)] = 0.6

    # Jobs and storage
    result_ttl_s: Annotated[int, Meta(gt=0)] = 7 * 24 * 3600
    credit_sweep_grace_s: Annotated[float, Meta(gt=0)] = 600.0  # a hold without a run is refunded after this
    job_timeout_s: Annotated[int, Meta(gt=0)] = 300
    job_max_tries: Annotated[int, Meta(ge=1, le=10)] = 5
    worker_max_jobs: Annotated[int, Meta(ge=1)] = 10  # interactive queue (QUEUE_NAME), per worker process
    worker_batch_max_jobs: Annotated[int, Meta(ge=1)] = 4  # each batch queue (QUEUE_NAME:normal, :low)
    worker_batch_poll_delay_s: Annotated[float, Meta(gt=0)] = 0.25  # batches need no 10 ms pickup; saves CPU
    worker_poll_delay_s: Annotated[float, Meta(gt=0)] = 0.01
    # Inline lane (README "Performance"): small rule_based runs are analysed inside the submit request
    inline_max_items: Annotated[int, Meta(ge=0)] = 10  # 0 turns the inline lane off
    inline_max_bytes: Annotated[int, Meta(ge=0)] = 32_768  # the run's items as stored; bounds API CPU per submit
    queue_name: str = "misstep:queue"

    log_json: bool | None = None  # None = JSON unless stdout is a terminal
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    access_log: bool = True  # one http.request line per request (method, path, status, duration_ms, request_id)

    def __post_init__(self) -> None:
        try:
            delays = [float(part) for part in self.webhook_retry_schedule_s.split(",") if part.strip()]
        except ValueError:
            delays = [-1.0]
        if not all(0 <= d < float("inf") for d in delays):
            raise ValueError("webhook_retry_schedule_s must be comma-separated seconds >= 0, e.g. 5,30,120")
        if self.llm_configured and self.llm_worst_case_s > self.job_timeout_s * 0.8:
            raise ValueError(
                f"llm_timeout_s x (llm_max_retries + 1) plus backoff ({self.llm_worst_case_s:.0f} s) must fit "
                f"in 80% of job_timeout_s ({self.job_timeout_s} s): lower LLM_TIMEOUT_S or LLM_MAX_RETRIES"
            )

    @property
    def llm_worst_case_s(self) -> float:
        """The longest one judge call can take with every retry (the SDKs back off at most 8 s per retry)."""
        return self.llm_timeout_s * (self.llm_max_retries + 1) + 8.0 * self.llm_max_retries

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
    def llm_configured(self) -> bool:
        return self.llm_provider != "none"

    @property
    def resolved_llm_model(self) -> str:
        return self.llm_model or DEFAULT_MODELS.get(self.llm_provider, "")

    @property
    def resolved_default_tier(self) -> Tier:
        if self.default_tier is not None:
            return self.default_tier
        return "fast_llm" if self.llm_configured else "rule_based"

    @property
    def dev_mode(self) -> bool:
        """Keyless single-tenant mode: only in env=dev/test without API_KEY, bound to a loopback address."""
        return self.env in ("dev", "test") and self.api_key is None and self.host in LOOPBACK_HOSTS

    def __repr__(self) -> str:
        shown = []
        for name in self.__struct_fields__:
            value = getattr(self, name)
            if name in _SECRET_FIELDS and value:
                value = "***"
            shown.append(f"{name}={value!r}")
        return f"Settings({', '.join(shown)})"
