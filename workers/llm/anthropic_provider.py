"""AnthropicProvider: judge calls through anthropic.AsyncAnthropic messages, as one forced tool call.

The answer schema becomes the input_schema of a single tool that tool_choice forces, so the reply is the
tool_use block's input, re-encoded as JSON text (or the joined text blocks if the model wrote text instead).
No temperature is sent: the SDK (2.x) no longer has sampling parameters and API version 2026-10-21, which it
sends, answers 400 to temperature/top_p/top_k. Retries are the SDK's (see workers/llm/providers.py).
"""

from __future__ import annotations

import json

import anthropic
import structlog

from workers.llm.provider import JudgeReply, JudgeRequest, ProviderError, ProviderUnavailable
from workers.llm.providers import (
    ANTHROPIC_BASE_URL,
    attempts_made,
    call_deadline_s,
    guarded_call,
    redact,
    resolve_key,
    status_failure,
    transport_failure,
)

log = structlog.get_logger("misstep.llm")

TOOL_DESCRIPTION = "Record your verdict. Call this exactly once, with arguments that follow the input schema."


class AnthropicProvider:
    """A Provider backed by the Anthropic messages API."""

    name = "anthropic"

    def __init__(
        self,
        *,
        model: str,
        api_key: str | None,
        base_url: str | None,
        timeout_s: float,
        max_retries: int,
        deadline_s: float | None = None,
    ) -> None:
        """Raises ProviderUnusable when api.anthropic.com is the target and no key is given."""
        self.model = model
        self._api_key = resolve_key(api_key, base_url, self.name)
        self._timeout_s = timeout_s
        self._deadline_s = deadline_s if deadline_s is not None else call_deadline_s(timeout_s, max_retries)
        self._client = anthropic.AsyncAnthropic(
            api_key=self._api_key,  # explicit: no credential lookup in the environment or profile files
            base_url=base_url or ANTHROPIC_BASE_URL,
            timeout=timeout_s,
            max_retries=max_retries,
        )

    async def complete(self, request: JudgeRequest) -> JudgeReply:
        return await guarded_call(
            self.name,
            self.model,
            self._deadline_s,
            self._call(request),
            sdk_error=anthropic.AnthropicError,
            to_failure=self._failure,
        )

    async def aclose(self) -> None:
        await self._client.close()

    async def _call(self, request: JudgeRequest) -> JudgeReply:
        message = await self._client.messages.create(
            model=self.model,
            max_tokens=request.max_output_tokens,
            system=request.system,
            messages=[{"role": "user", "content": request.user}],
            tools=[{"name": request.schema_name, "description": TOOL_DESCRIPTION, "input_schema": request.schema}],
            tool_choice={"type": "tool", "name": request.schema_name},
        )
        tool_input = next((block.input for block in message.content if block.type == "tool_use"), None)
        if tool_input is not None:
            text = json.dumps(tool_input, ensure_ascii=False)
        else:
            text = "".join(block.text for block in message.content if block.type == "text")
        usage = message.usage
        return JudgeReply(
            text=text,
            input_tokens=(usage.input_tokens or 0) if usage is not None else 0,
            output_tokens=(usage.output_tokens or 0) if usage is not None else 0,
            truncated=message.stop_reason == "max_tokens",
            model=message.model or self.model,
        )

    def _failure(self, exc: anthropic.AnthropicError) -> ProviderError:
        if isinstance(exc, anthropic.APIStatusError):
            return status_failure(
                exc.status_code,
                redact(exc.api_message or exc.message, [self._api_key]),
                model=self.model,
                attempts=attempts_made(exc.request.headers),
            )
        if isinstance(exc, anthropic.APIConnectionError):
            return transport_failure(
                timed_out=isinstance(exc, anthropic.APITimeoutError),
                timeout_s=self._timeout_s,
                attempts=attempts_made(exc.request.headers),
            )
        return ProviderUnavailable(f"unexpected error from the LLM provider ({type(exc).__name__})")
