"""Job contract: what the API stores and enqueues and what workers write back. Defined once, here.

The result shapes (Tag, InputRecord, Summary, RunResult) are misstep's native results; their field
names follow the Valiqor failure-analysis response, and the ThinkHive family projects from them.
Stored structs never forbid unknown fields, and every field added later gets a default.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta

from taxonomy.model import Decision, FeatureKind
from workers.settings import Tier

DetectorType = Literal["deterministic", "llm_judge", "hybrid"]
RunStatus = Literal["queued", "processing", "completed", "failed", "cancelled"]
TERMINAL_STATUSES: frozenset[str] = frozenset({"completed", "failed", "cancelled"})

# arq function name: the only thing app and worker must agree on besides the structs below.
ANALYZE_CHUNK = "analyze_chunk"


class DatasetItem(msgspec.Struct, kw_only=True):
    """One dataset item as clients send it. Unknown keys are ignored; known ones are type-checked."""

    output: str
    input: str = ""
    context: list[str] | str | None = None
    tool_calls: list[dict[str, Any]] | None = None
    system_prompt: str | None = None
    messages: list[dict[str, Any]] | None = None
    expected: Any = None
    metadata: dict[str, Any] | None = None
    trace_id: str | None = None
    id: str | int | None = None


class AnalyzeRequest(msgspec.Struct, kw_only=True):
    """Body of POST /v2/failure-analysis/analyze (Valiqor), plus misstep's documented extensions."""

    trace_id: str | None = None
    dataset: list[DatasetItem] | None = None
    project_name: str | None = None
    feature_kind: FeatureKind | None = None
    run_eval: bool = True
    run_security: bool = True
    run_scan: bool = True
    mandatory_eval_metrics: list[str] = []
    mandatory_security_categories: list[str] = []
    subcategories: list[str] | None = None
    buckets: list[str] | None = None
    openai_api_key: str | None = None  # used in memory for that run only: never stored, never logged
    tier: Tier | None = None  # extension: analysis tier; default from settings
    callback_url: str | None = None  # extension: signed webhook when the run finishes


class RunOptions(msgspec.Struct, frozen=True, kw_only=True):
    """The resolved analysis options a run was submitted with."""

    feature_kind: FeatureKind
    feature_kind_detected: bool
    tier: Tier
    run_eval: bool = True
    run_security: bool = True
    selected: tuple[str, ...] | None = None  # subcategory ids; None = all applicable
    mandatory_eval_metrics: tuple[str, ...] = ()
    mandatory_security_categories: tuple[str, ...] = ()
    llm_provider: str | None = None  # LLM tiers: the judge's provider and model, for cost and the result
    llm_model: str | None = None


Priority = Literal["high", "normal", "low"]


class ExplainOptions(msgspec.Struct, frozen=True, kw_only=True):
    """ThinkHive-family options of a run: what to explain, for which agent, and which client outcomes to keep."""

    kind: Literal["explainer", "analyzer", "batch", "generate_all"]
    agent_id: str = "default"
    include_rag: bool = True
    include_hallucination: bool = True
    include_business_impact: bool = False
    include_counterfactuals: bool = False
    include_root_cause: bool = False
    modules: tuple[str, ...] = ()
    outcomes: dict[str, str] = {}  # trace id -> outcome the client reported


class RunRecord(msgspec.Struct, frozen=True, kw_only=True):
    """A run's metadata and status: the source of truth for polling."""

    run_id: str
    tenant: str
    status: RunStatus
    created_at: str
    options: RunOptions
    total_items: int
    n_chunks: int
    chunk_size: int = 100
    mode: Literal["minimal", "full"] = "minimal"
    input_type: Literal["json", "csv", "trace"] = "json"
    project_name: str | None = None
    trace_id: str | None = None
    request_id: str | None = None
    started_at: str | None = None
    finished_at: str | None = None
    error: str | None = None
    duration_ms: int = 0
    summary: Summary | None = None  # set when the run completes, for cheap listing
    # direct: brought its own LLM key, runs in the receiving API process; inline: small rule_based run,
    # analysed inside its submit request and stored completed (workers/inline_lane.py)
    lane: Literal["queue", "direct", "inline"] = "queue"
    callback_url: str | None = None  # signed webhook on completion (checked against SSRF at submit)
    family: Literal["valiqor", "thinkhive"] = "valiqor"  # which API family the webhook payload speaks
    explain: ExplainOptions | None = None  # ThinkHive family: explanations are stored per trace on completion
    priority: Priority = "high"  # queue: high (interactive), normal, low (batches)
    score: float | None = None  # ThinkHive family: mean overallScore of the explained traces, once completed


class ScoringBreakdown(msgspec.Struct, frozen=True, kw_only=True):
    """How a tag's severity and confidence were reached (Valiqor scoring_breakdown)."""

    impact: int
    risk: int
    final_severity: float
    final_confidence: float
    frequency_weight: float = 1.0
    security_override: str | None = None
    deterministic_weight: float = 0.0
    judge_weight: float = 0.0
    security_weight: float = 0.0
    metric_agreement_bonus: float = 0.0
    disagreement_penalty: float = 0.0


class EvidenceItem(msgspec.Struct, frozen=True, kw_only=True):
    item_id: str
    evidence_type: str
    description: str
    source: str
    content_snippet: str | None = None
    confidence: float = 1.0
    metadata: dict[str, Any] = {}


class Tag(msgspec.Struct, frozen=True, kw_only=True):
    """One subcategory's decision on one item."""

    tag_id: str
    bucket_id: str
    bucket_name: str
    subcategory_id: str
    subcategory_name: str
    decision: Decision
    severity: Annotated[float, Meta(ge=0, le=5)]
    confidence: Annotated[float, Meta(ge=0, le=1)]
    detector_type_used: DetectorType
    scoring_breakdown: ScoringBreakdown
    item_index: int
    judge_rationale: str | None = None
    eval_metric_values: dict[str, float] = {}
    evidence_items: list[EvidenceItem] = []
    is_reviewed: bool = False
    reviewed_at: str | None = None
    issue_url: str | None = None


class InputRecord(msgspec.Struct, frozen=True, kw_only=True):
    """An analysed item echoed back with its per-item counts (Valiqor FARunInput)."""

    item_index: int
    input_text: str
    output_text: str
    input_preview: str
    output_preview: str
    context: list[str] = []
    tool_calls: list[dict[str, Any]] = []
    trace_id: str | None = None
    failure_count: int = 0
    pass_count: int = 0
    unsure_count: int = 0
    max_severity: float = 0.0


class ChunkResult(msgspec.Struct, frozen=True, kw_only=True):
    """What one chunk job produced; written once per chunk, overwritten identically on a re-run."""

    chunk_index: int
    inputs: list[InputRecord]
    tags: list[Tag]
    detectors_run: list[str]
    metric_sums: dict[str, float] = {}
    metric_counts: dict[str, int] = {}
    worker_id: str = ""
    tokens_used: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    judge_calls: int = 0
    cache_hits: int = 0  # items whose judgment came from the judge cache (zero calls)


class Summary(msgspec.Struct, frozen=True, kw_only=True):
    primary_failure: str | None = None
    primary_failure_name: str | None = None
    overall_severity: float = 0.0
    overall_confidence: float = 0.0
    total_failures_detected: int = 0
    total_passes: int = 0
    total_uncertain: int = 0
    total_items: int = 0
    items_with_failures: int = 0
    items_all_passed: int = 0
    buckets_affected: list[str] = []
    should_alert: bool = False
    should_gate_ci: bool = False
    needs_human_review: bool = False


class RunResult(msgspec.Struct, kw_only=True):
    """The full failure-analysis response (Valiqor FARunResult)."""

    run_id: str
    status: RunStatus
    mode: str
    input_type: str
    feature_kind: str
    summary: Summary
    failure_tags: list[Tag] = []
    inputs: list[InputRecord] = []
    eval_metrics: dict[str, float] = {}
    eval_run_id: str | None = None
    security_flags: dict[str, str] = {}
    security_batch_id: str | None = None
    detectors_run: list[str] = []
    detectors_skipped: list[str] = []
    skipped_reasons: dict[str, str] = {}  # extension: why each skipped subcategory did not run
    duration_ms: int = 0
    tokens_used: int = 0
    created_at: str = ""
    project_name: str | None = None
    tier: str = "rule_based"
    error: str | None = None
    # extensions: what the LLM tiers cost
    judge_calls: int = 0
    judge_cache_hits: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float | None = None  # None when the model has no known price
    credits_used: float = 0.0
    llm_provider: str | None = None
    llm_model: str | None = None
