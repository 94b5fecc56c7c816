"""Submission: validates an analyze request, then stores the run together with its chunk jobs.

Called by the HTTP layer. Nothing is stored unless the whole request is valid, and the run, its items
and its queued jobs are written in one Redis transaction, so no half-written run can stay behind.
For a tenant with a credit balance the run's price is held first and given back if storing fails.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import msgspec
import structlog

from taxonomy.catalogue import Catalogue
from taxonomy.model import Item
from workers.contract import AnalyzeRequest, ExplainOptions, Priority, RunOptions, RunRecord
from workers.credits import CreditStore, holds_credits
from workers.intake import IntakeError, detect_feature_kind, to_item
from workers.pricing import tier_credits
from workers.queue import chunk_jobs
from workers.settings import Settings
from workers.store import RunStore, TooManyActiveRunsError
from workers.webhooks.ssrf import UnsafeCallbackUrl, check_callback_url

log = structlog.get_logger("misstep.submission")
_encode = msgspec.msgpack.Encoder().encode


class SubmissionError(ValueError):
    """The request cannot be accepted. `field` names the offending field; `kind` picks the HTTP answer."""

    def __init__(self, field: str, message: str, *, kind: str = "invalid", **extra: object) -> None:
        super().__init__(f"{field}: {message}" if field else message)
        self.field = field
        self.message = message
        self.kind = kind  # invalid | too_large | not_found | unavailable | busy | no_credits
        self.extra = extra


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_iso(value: str) -> datetime:
    """The datetime of a timestamp written by now_iso (or any ISO 8601 form with Z or an offset)."""
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def new_run_id() -> str:
    return uuid.uuid4().hex


def resolve_options(
    request: AnalyzeRequest,
    items: list[Item],
    catalogue: Catalogue,
    settings: Settings,
    allowed_tiers: frozenset[str] | None = None,
) -> RunOptions:
    """Validate filters and tier and fix the run's options.

    Raises:
        SubmissionError: unknown bucket/subcategory/security category, or an unavailable tier.
    """
    try:
        selected = catalogue.resolve_filter(request.buckets, request.subcategories)
    except KeyError as exc:
        kind = str(exc.args[0])
        field = "buckets" if kind.startswith("bucket") else "subcategories"
        raise SubmissionError(field, f"unknown {kind}; see GET /v2/failure-analysis/taxonomy") from None
    known_security = {c.id for c in catalogue.security_categories}
    for category in request.mandatory_security_categories:
        if category not in known_security:
            raise SubmissionError("mandatory_security_categories", f"unknown security category {category!r} (S1..S23)")
    tier = request.tier or settings.resolved_default_tier
    if allowed_tiers is not None and tier not in allowed_tiers:
        raise SubmissionError(
            "tier",
            f"tier {tier!r} is not available on your plan (it allows {', '.join(sorted(allowed_tiers))})",
            kind="unavailable",
        )
    provider, model = _judge_model(tier, request, settings)
    feature_kind = request.feature_kind or detect_feature_kind(items)
    return RunOptions(
        feature_kind=feature_kind,
        feature_kind_detected=request.feature_kind is None,
        tier=tier,
        run_eval=request.run_eval,
        run_security=request.run_security,
        selected=tuple(sorted(selected)) if selected is not None else None,
        mandatory_eval_metrics=tuple(request.mandatory_eval_metrics),
        mandatory_security_categories=tuple(request.mandatory_security_categories),
        llm_provider=provider,
        llm_model=model,
    )


def _judge_model(tier: str, request: AnalyzeRequest, settings: Settings) -> tuple[str | None, str | None]:
    """The provider and model that will judge a run of `tier` (None, None for rule_based)."""
    if tier == "rule_based":
        return None, None
    if request.openai_api_key:
        if settings.llm_provider == "openai":
            return "openai", settings.resolved_llm_model
        return "openai", settings.llm_request_key_model
    if not settings.llm_configured:
        raise SubmissionError(
            "tier",
            f"tier {tier!r} is not available: no LLM provider is configured on this server "
            "(set LLM_PROVIDER, or send openai_api_key with the request)",
            kind="unavailable",
        )
    return settings.llm_provider, settings.resolved_llm_model


def uses_own_key(request: AnalyzeRequest, options: RunOptions) -> bool:
    """A run that judges with the request's own key runs in the direct lane (the key stays in memory)."""
    return options.tier != "rule_based" and bool(request.openai_api_key)


def runs_inline(options: RunOptions, items: list[Item], n_chunks: int, settings: Settings) -> bool:
    """Whether a run is small enough to be analysed inside its submit request (workers/inline_lane.py)."""
    if options.tier != "rule_based" or n_chunks != 1 or len(items) > settings.inline_max_items:
        return False
    try:
        return len(_encode(items)) <= settings.inline_max_bytes
    except OverflowError:  # an integer beyond 64 bits: the queue path's store refuses it with a clear error
        return False


def validate_dataset(request: AnalyzeRequest, settings: Settings) -> list[Item]:
    """Turn the request's dataset into Items, or explain exactly what is wrong with it."""
    if request.dataset is None:
        if request.trace_id is not None:
            raise SubmissionError("trace_id", f"trace {request.trace_id!r} not found", kind="not_found")
        raise SubmissionError("dataset", "either trace_id or dataset is required")
    if not request.dataset:
        raise SubmissionError("dataset", "must contain at least one item")
    if len(request.dataset) > settings.max_items_per_run:
        raise SubmissionError(
            "dataset",
            f"has {len(request.dataset)} items; the limit is {settings.max_items_per_run} per run",
            kind="too_large",
            dataset_size=len(request.dataset),
            max_allowed=settings.max_items_per_run,
        )
    try:
        return [to_item(raw, i, settings) for i, raw in enumerate(request.dataset)]
    except IntakeError as exc:
        raise SubmissionError(exc.field, exc.message) from None


async def _hold_credits(credits: CreditStore | None, record: RunRecord) -> None:
    """Hold the run's price (tier credits per item) when its tenant has a balance; a free run (no credit store,
    see holds_credits) holds nothing.

    Raises:
        SubmissionError: kind "no_credits", with `required` and `available`, when the balance is too small.
    """
    if credits is None:
        return
    required = tier_credits(record.options.tier, record.total_items)
    held = await credits.reserve(record.tenant, record.run_id, required)
    if not held.granted:
        raise SubmissionError(
            "",
            f"Not enough credits to perform this analysis. Required: {required:g}, available: {held.available:g}",
            kind="no_credits",
            required=required,
            available=held.available,
        )


async def _refund(credits: CreditStore | None, record: RunRecord) -> None:
    """Give back a run's hold (when its run was refused or never stored)."""
    if credits is not None:
        await credits.refund(record.tenant, record.run_id)


async def submit_run(
    request: AnalyzeRequest,
    *,
    tenant: str,
    store: RunStore,
    catalogue: Catalogue,
    settings: Settings,
    request_id: str | None = None,
    input_type: str = "json",
    start_direct: Callable[[RunRecord, str], None] | None = None,
    mode: str = "minimal",
    family: str = "valiqor",
    explain: ExplainOptions | None = None,
    priority: Priority = "high",
    allowed_tiers: frozenset[str] | None = None,
    run_inline: Callable[[RunRecord, list[Item]], Awaitable[RunRecord]] | None = None,
) -> RunRecord:
    """Validate, store and enqueue a run; returns its record (queued, or already completed when inline).

    A run judged with the request's own openai_api_key is not enqueued: `start_direct(record, key)` runs
    it in this process, so the key never reaches Redis. A small rule_based run is analysed right here by
    `run_inline(record, items)` when given, and stored only once completed (workers/inline_lane.py).
    """
    items = validate_dataset(request, settings)
    options = resolve_options(request, items, catalogue, settings, allowed_tiers)
    if request.callback_url is not None:
        try:
            await check_callback_url(request.callback_url, settings)
        except UnsafeCallbackUrl as exc:
            raise SubmissionError("callback_url", str(exc)) from None
    direct = uses_own_key(request, options)
    if direct and start_direct is None:
        raise SubmissionError(
            "openai_api_key", "this server cannot run analyses with a request's own key", kind="unavailable"
        )
    size = settings.chunk_size
    chunks = [items[i : i + size] for i in range(0, len(items), size)]
    inline = run_inline is not None and not direct and runs_inline(options, items, len(chunks), settings)
    record = RunRecord(
        run_id=new_run_id(),
        tenant=tenant,
        status="queued",
        created_at=now_iso(),
        options=options,
        total_items=len(items),
        n_chunks=len(chunks),
        chunk_size=size,
        input_type=input_type,  # type: ignore[arg-type]
        project_name=request.project_name,
        trace_id=request.trace_id,
        request_id=request_id,
        lane="direct" if direct else "inline" if inline else "queue",
        callback_url=request.callback_url,
        mode=mode,  # type: ignore[arg-type]
        family=family,  # type: ignore[arg-type]
        explain=explain,
        priority=priority,
    )
    credits = CreditStore(store.redis) if holds_credits(record) else None
    await _hold_credits(credits, record)
    if record.lane == "inline" and run_inline is not None:
        return await _complete_inline(record, items, run_inline, credits)
    try:
        await store.reserve_active(tenant, settings.max_active_runs_per_tenant)
    except TooManyActiveRunsError as exc:
        await _refund(credits, record)
        raise SubmissionError(
            "", f"too many runs in progress: {exc}; retry when some have finished", kind="busy"
        ) from None
    jobs = [] if direct else chunk_jobs(tenant, record.run_id, len(chunks), settings, priority=priority)
    try:
        await store.create_run(record, chunks, jobs)
    except BaseException as exc:
        await store.release_active(tenant)
        await _refund(credits, record)
        if isinstance(exc, OverflowError):  # msgpack keeps integers up to 64 bits; nothing was written
            raise SubmissionError("dataset", "holds an integer too large to store (beyond 64 bits)") from None
        raise
    if direct and start_direct is not None and request.openai_api_key:
        start_direct(record, request.openai_api_key)
    log.info(
        "run.submitted", run_id=record.run_id, items=len(items), chunks=len(chunks), tenant=tenant, lane=record.lane
    )
    return record


async def _complete_inline(
    record: RunRecord,
    items: list[Item],
    run_inline: Callable[[RunRecord, list[Item]], Awaitable[RunRecord]],
    credits: CreditStore | None,
) -> RunRecord:
    """Analyse and store a small run right here; nothing is stored, and its credits come back, if that fails.

    It logs one line, run.completed (with lane "inline"), instead of a queued run's submitted, analysed
    and completed lines.
    """
    try:
        return await run_inline(record, items)
    except BaseException:
        await _refund(credits, record)
        raise
