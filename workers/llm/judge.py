"""The LLM judge of one item: which calls to make per tier, repair of unusable answers, caching of outcomes.

fast_llm makes one call judging every asked subcategory; full_llm and deep add at most one claims call
(concurrently), only when the item has context documents, a non-empty output and a claim-based subcategory is
asked; deep asks for root cause and counterfactuals in the same judge call. An unusable answer (not decodable or
cut off) gets one repair call; if that fails too, the affected subcategories carry an error and the run goes on.
ProviderUnavailable becomes an error per subcategory as well; ProviderUnusable propagates and fails the run.
Outcomes without errors are cached by a digest of provider, model, prompt version, tier, subcategories and the
item's content (never the API key).
"""

from __future__ import annotations

import asyncio
import hashlib
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Protocol

import msgspec
import structlog

from taxonomy.model import Item, Subcategory
from workers.llm import prompts
from workers.llm.decode import JudgeOutputInvalid, decode_claims, decode_verdicts
from workers.llm.provider import JudgeReply, JudgeRequest, Provider, ProviderUnavailable
from workers.llm.verdicts import CLAIM_SUBCATEGORIES, ClaimCheck, ClaimChecks, ItemVerdicts, Verdict
from workers.settings import Settings, Tier

log = structlog.get_logger("misstep.judge")

CLAIMS_ERROR_KEY = "claims"
NO_VERDICT = "judge gave no verdict"

Decoder = Callable[[str], ItemVerdicts | ClaimChecks]


class JudgeOutcome(msgspec.Struct, kw_only=True):
    """What the judge concluded about one item, with what it cost."""

    verdicts: dict[str, Verdict] = {}
    claims: list[ClaimCheck] = []
    root_cause: str = ""
    calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cache_hit: bool = False
    errors: dict[str, str] = {}  # subcategory id or "claims" -> why the judge gave no usable verdict


class JudgeCache(Protocol):
    """Where judged outcomes are kept (Redis in workers, memory in tests and the CLI)."""

    async def get(self, key: str) -> bytes | None: ...

    async def set(self, key: str, value: bytes) -> None: ...


class MemoryJudgeCache:
    """An in-process JudgeCache keeping the most recent `max_entries` outcomes."""

    def __init__(self, max_entries: int = 10_000) -> None:
        self._entries: OrderedDict[str, bytes] = OrderedDict()
        self._max_entries = max_entries

    async def get(self, key: str) -> bytes | None:
        value = self._entries.get(key)
        if value is not None:
            self._entries.move_to_end(key)
        return value

    async def set(self, key: str, value: bytes) -> None:
        self._entries[key] = value
        self._entries.move_to_end(key)
        while len(self._entries) > self._max_entries:
            self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)


def item_content(item: Item) -> bytes:
    """The parts of an item a judge sees (not its index, trace id or metadata), canonically encoded."""
    parts = (
        item.input,
        item.output,
        item.context,
        item.tool_calls,
        item.system_prompt,
        item.messages,
        item.expected,
    )
    return msgspec.json.encode(parts, order="deterministic")


def cache_key(provider_name: str, model: str, tier: str, sub_ids: Sequence[str], item: Item) -> str:
    """The cache key of a judged item: provider, model, prompt version, tier, subcategories and content."""
    digest = hashlib.blake2b(digest_size=20)
    header = [provider_name, model, prompts.PROMPT_VERSION, tier, sorted(set(sub_ids))]
    digest.update(msgspec.json.encode(header))
    digest.update(b"\x00")
    digest.update(item_content(item))
    return digest.hexdigest()


class _Part(msgspec.Struct, kw_only=True):
    """The result of one judged request (with its repair): a decoded value or the reason there is none."""

    value: ItemVerdicts | ClaimChecks | None = None
    error: str | None = None
    calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0


class Judge:
    """Judges items with one provider (whose calls the provider layer keeps within LLM_MAX_CONCURRENCY)."""

    def __init__(self, provider: Provider, settings: Settings, cache: JudgeCache | None = None) -> None:
        self._provider = provider
        self._settings = settings
        self._cache = cache

    async def judge_item(self, item: Item, subs: Sequence[Subcategory], *, tier: Tier) -> JudgeOutcome:
        """Judge every subcategory of `subs` on `item` (see the module docstring for the calls made).

        Raises:
            ProviderUnusable: the provider cannot be used at all (bad key, unknown model, refused request).
        """
        if tier not in prompts.JUDGED_TIERS:
            raise ValueError(f"tier {tier} has no LLM judge")
        if not subs:
            return JudgeOutcome()
        sub_ids = [sub.id for sub in subs]
        key = cache_key(self._provider.name, self._provider.model, tier, sub_ids, item)
        cached = await self._cached(key)
        if cached is not None:
            return cached
        outcome = await self._judge(item, subs, tier)
        if self._cache is not None and not outcome.errors:
            await self._cache.set(key, msgspec.json.encode(outcome))
        return outcome

    async def _cached(self, key: str) -> JudgeOutcome | None:
        if self._cache is None:
            return None
        raw = await self._cache.get(key)
        if raw is None:
            return None
        try:
            stored = msgspec.json.decode(raw, type=JudgeOutcome)
        except msgspec.DecodeError:
            log.warning("judge.cache_unreadable", key=key)
            return None
        return msgspec.structs.replace(stored, calls=0, input_tokens=0, output_tokens=0, cache_hit=True)

    def _wants_claims(self, item: Item, subs: Sequence[Subcategory], tier: Tier) -> bool:
        if tier == "fast_llm" or not item.has("context") or not item.has("output"):
            return False
        return any(sub.id in CLAIM_SUBCATEGORIES for sub in subs)

    async def _judge(self, item: Item, subs: Sequence[Subcategory], tier: Tier) -> JudgeOutcome:
        sub_ids = [sub.id for sub in subs]
        request = prompts.judge_request(item, subs, tier=tier, settings=self._settings)
        verdicts_task = self._ask(request, lambda text: decode_verdicts(text, sub_ids))
        if self._wants_claims(item, subs, tier):
            claims_request = prompts.claims_request(item, settings=self._settings)
            parts = await asyncio.gather(
                verdicts_task, self._ask(claims_request, decode_claims), return_exceptions=True
            )
            for failed in parts:
                if isinstance(failed, BaseException):
                    raise failed  # ProviderUnusable (or a bug), once both calls have finished
            verdicts_part, claims_part = parts
        else:
            verdicts_part, claims_part = await verdicts_task, None
        outcome = _outcome(verdicts_part, sub_ids, deep=tier == "deep")
        if claims_part is not None:
            _add_part_cost(outcome, claims_part)
            if isinstance(claims_part.value, ClaimChecks):
                outcome.claims = list(claims_part.value.claims)
            else:
                outcome.errors[CLAIMS_ERROR_KEY] = claims_part.error or NO_VERDICT
        return outcome

    async def _complete(self, request: JudgeRequest, part: _Part) -> JudgeReply | None:
        """One provider call, counted in `part`; None when the provider is unavailable (reason in part.error)."""
        part.calls += 1
        try:
            reply = await self._provider.complete(request)
        except ProviderUnavailable as exc:
            log.warning("judge.unavailable", schema=request.schema_name, reason=exc.reason)
            part.error = f"judge unavailable: {exc.reason}"
            return None
        part.input_tokens += reply.input_tokens
        part.output_tokens += reply.output_tokens
        return reply

    async def _ask(self, request: JudgeRequest, decode: Decoder) -> _Part:
        """Make `request`, decode the answer, and on an unusable answer try one repair call."""
        part = _Part()
        reply = await self._complete(request, part)
        if reply is None:
            return part
        try:
            part.value = _decoded(reply, decode)
            return part
        except JudgeOutputInvalid as exc:
            log.warning("judge.output_invalid", schema=request.schema_name, reason=exc.reason, raw=exc.raw_hash)
            repair = prompts.repair_request(request, reply.text, exc.reason)
        reply = await self._complete(repair, part)
        if reply is None:
            return part
        try:
            part.value = _decoded(reply, decode)
        except JudgeOutputInvalid as exc:
            log.warning("judge.repair_invalid", schema=request.schema_name, reason=exc.reason, raw=exc.raw_hash)
            part.error = f"judge output invalid: {exc.reason}"
        return part


def _decoded(reply: JudgeReply, decode: Decoder) -> ItemVerdicts | ClaimChecks:
    if reply.truncated:
        raise JudgeOutputInvalid("answer cut off at the output token limit", reply.text)
    return decode(reply.text)


def _add_part_cost(outcome: JudgeOutcome, part: _Part) -> None:
    outcome.calls += part.calls
    outcome.input_tokens += part.input_tokens
    outcome.output_tokens += part.output_tokens


def _outcome(part: _Part, sub_ids: Sequence[str], *, deep: bool) -> JudgeOutcome:
    """The outcome of the verdicts part: a verdict or an error for every asked subcategory."""
    outcome = JudgeOutcome()
    _add_part_cost(outcome, part)
    if not isinstance(part.value, ItemVerdicts):
        reason = part.error or NO_VERDICT
        outcome.errors = dict.fromkeys(sub_ids, reason)
        return outcome
    by_id = {verdict.subcategory: verdict for verdict in part.value.verdicts}
    for sub_id in sub_ids:
        verdict = by_id.get(sub_id)
        if verdict is None:
            outcome.errors[sub_id] = NO_VERDICT
        else:
            outcome.verdicts[sub_id] = verdict if deep else msgspec.structs.replace(verdict, counterfactual="")
    outcome.root_cause = part.value.root_cause if deep else ""
    return outcome
