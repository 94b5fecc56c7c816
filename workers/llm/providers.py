"""Building the configured LLM provider, limiting its concurrency, and the failure rules both adapters share.

`make_provider(settings)` picks OpenAIProvider or AnthropicProvider (or, for a request's own OpenAI key, an
OpenAIProvider with that key) and wraps it in LimitedProvider, so that all judge calls of a worker process
wait on one semaphore of LLM_MAX_CONCURRENCY; pass `semaphore=` to make a per-request provider share it.

The SDKs retry 408/409/429/5xx, timeouts and connection errors themselves (exponential backoff, honouring
Retry-After / retry-after-ms). What is left afterwards becomes a ProviderError here, by status code, with a
reason that never holds the API key. SDK imports stay inside the adapters, loaded by `make_provider` only.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import structlog

from workers.llm.provider import (
    JudgeReply,
    JudgeRequest,
    Provider,
    ProviderError,
    ProviderUnavailable,
    ProviderUnusable,
)
from workers.settings import Settings

log = structlog.get_logger("misstep.llm")

OPENAI_BASE_URL = "https://api.openai.com/v1"
ANTHROPIC_BASE_URL = "https://api.anthropic.com"
PLACEHOLDER_KEY = "unused"  # local OpenAI-compatible servers ignore the key, but the SDKs insist on one
MAX_RETRY_WAIT_S = 60.0  # per retry, in a call's overall deadline: server-directed Retry-After plus backoff
MAX_REASON_CHARS = 300
_KEY_SHAPES = re.compile(r"\b(?:sk|vq)[-_][A-Za-z0-9_\-]{8,}")


class LimitedProvider:
    """A Provider whose calls wait for a slot of a shared semaphore (LLM_MAX_CONCURRENCY per process)."""

    def __init__(self, inner: Provider, semaphore: asyncio.Semaphore) -> None:
        self.inner = inner
        self.semaphore = semaphore
        self.name = inner.name
        self.model = inner.model

    async def complete(self, request: JudgeRequest) -> JudgeReply:
        async with self.semaphore:
            return await self.inner.complete(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


def make_provider(
    settings: Settings, *, api_key: str | None = None, semaphore: asyncio.Semaphore | None = None
) -> LimitedProvider:
    """The judge provider for `settings`, or for a request's own OpenAI key when `api_key` is given.

    Raises:
        ProviderUnusable: no provider is configured, or it has no API key where one is required.
    """
    limit = semaphore if semaphore is not None else asyncio.Semaphore(settings.llm_max_concurrency)
    common = {
        "timeout_s": settings.llm_timeout_s,
        "max_retries": settings.llm_max_retries,
    }
    if api_key is not None or settings.llm_provider == "openai":
        from workers.llm.openai_provider import OpenAIProvider

        own_setup = settings.llm_provider == "openai"
        inner: Provider = OpenAIProvider(
            model=settings.resolved_llm_model if own_setup else settings.llm_request_key_model,
            api_key=api_key if api_key is not None else settings.llm_api_key,
            base_url=settings.llm_base_url if own_setup else None,
            structured_output=settings.llm_structured_output,
            **common,
        )
    elif settings.llm_provider == "anthropic":
        from workers.llm.anthropic_provider import AnthropicProvider

        inner = AnthropicProvider(
            model=settings.resolved_llm_model, api_key=settings.llm_api_key, base_url=settings.llm_base_url, **common
        )
    else:
        raise ProviderUnusable("no LLM provider is configured")
    return LimitedProvider(inner, limit)


def resolve_key(api_key: str | None, base_url: str | None, provider: str) -> str:
    """The key to hand the SDK: the given one, a placeholder for a custom server, else ProviderUnusable."""
    if api_key:
        return api_key
    if base_url:
        return PLACEHOLDER_KEY
    raise ProviderUnusable(f"no API key is configured for the {provider} LLM provider (LLM_API_KEY)")


def call_deadline_s(timeout_s: float, max_retries: int) -> float:
    """An upper bound on one judge call: every attempt's timeout plus a generous wait before each retry.

    The Anthropic SDK honours any Retry-After, even hours; this bound turns such a wait into ProviderUnavailable.
    """
    return (max_retries + 1) * timeout_s + max_retries * MAX_RETRY_WAIT_S


def attempts_made(headers: object) -> int:
    """How many attempts the SDK made, from the x-stainless-retry-count header of its last request."""
    try:
        return int(headers.get("x-stainless-retry-count", "0")) + 1  # type: ignore[attr-defined]
    except (AttributeError, TypeError, ValueError):
        return 1


def redact(text: str, secrets: Iterable[str | None]) -> str:
    """`text` trimmed to one short line, without the given secrets or anything shaped like an API key."""
    for secret in secrets:
        if secret and secret != PLACEHOLDER_KEY:
            text = text.replace(secret, "***")
    text = " ".join(_KEY_SHAPES.sub("***", text).split())
    return text if len(text) <= MAX_REASON_CHARS else text[: MAX_REASON_CHARS - 1] + "…"


def status_failure(status: int, message: str, *, model: str, attempts: int) -> ProviderError:
    """The ProviderError for an HTTP error status the SDK gave up on; `message` must already be redacted."""
    if status in (401, 403):
        return ProviderUnusable(f"the LLM provider refused the API key ({status})")
    if status == 404:
        return ProviderUnusable(f"the LLM provider does not know the model {model!r} (404)")
    tries = f"after {attempts} attempt{'s' if attempts != 1 else ''}"
    if status == 429:
        return ProviderUnavailable(f"rate limited (429) {tries}")
    if status == 408:
        return ProviderUnavailable(f"the LLM provider timed out (408) {tries}")
    if status == 409 or status >= 500:
        return ProviderUnavailable(f"the LLM provider failed ({status}) {tries}")
    return ProviderUnusable(f"the LLM provider rejected the request ({status}): {message or 'no reason given'}")


def transport_failure(*, timed_out: bool, timeout_s: float, attempts: int) -> ProviderUnavailable:
    """The ProviderUnavailable for a timeout or connection failure the SDK gave up on."""
    tries = f"after {attempts} attempt{'s' if attempts != 1 else ''}"
    if timed_out:
        return ProviderUnavailable(f"the LLM provider did not answer within {timeout_s:g} s ({tries})")
    return ProviderUnavailable(f"could not connect to the LLM provider ({tries})")


def log_failure(provider: str, model: str, exc: BaseException, failure: ProviderError, status: int | None) -> None:
    """One warning per failed judge call: provider, model, error kind, status and the (key-free) reason."""
    log.warning(
        "llm.call_failed",
        provider=provider,
        model=model,
        error=type(exc).__name__,
        status=status,
        unusable=isinstance(failure, ProviderUnusable),
        reason=failure.reason,
    )


async def guarded_call(
    provider: str,
    model: str,
    deadline_s: float,
    call: Awaitable[JudgeReply],
    *,
    sdk_error: type[Exception],
    to_failure: Callable[[Any], ProviderError],
    **log_fields: Any,
) -> JudgeReply:
    """Await one provider call under its deadline, turning every error into ProviderUnusable/Unavailable.

    `sdk_error` is the SDK's base exception, mapped by `to_failure`; anything else the SDK lets through
    is transient (never crash the job). Logs the call's usage, never its key.
    """
    started = time.perf_counter()
    try:
        async with asyncio.timeout(deadline_s):
            reply = await call
    except TimeoutError as exc:
        failure: ProviderError = ProviderUnavailable(f"no answer within {deadline_s:g} s (call deadline)")
        log_failure(provider, model, exc, failure, None)
        raise failure from None
    except sdk_error as exc:
        failure = to_failure(exc)
        log_failure(provider, model, exc, failure, getattr(exc, "status_code", None))
        raise failure from None
    except Exception as exc:
        failure = ProviderUnavailable(f"unexpected error from the LLM provider ({type(exc).__name__})")
        log_failure(provider, model, exc, failure, None)
        raise failure from None
    log.debug(
        "llm.call",
        provider=provider,
        model=model,
        input_tokens=reply.input_tokens,
        output_tokens=reply.output_tokens,
        truncated=reply.truncated,
        ms=round((time.perf_counter() - started) * 1000, 1),
        **log_fields,
    )
    return reply
