"""OpenAIProvider: judge calls through openai.AsyncOpenAI chat completions (api.openai.com or any compatible server).

Structured output: a strict json_schema response_format ("auto", "json_schema"), or JSON mode with the schema
in the system prompt ("json_mode"). In "auto", a 400 about response_format/json_schema (a server without
structured outputs) switches this instance to JSON mode for good and repeats that call once in JSON mode.
api.openai.com gets `max_completion_tokens`; custom base URLs get `max_tokens`, which vLLM, Ollama and
llama.cpp understand. temperature is always 0. Retries are the SDK's (see workers/llm/providers.py).
"""

from __future__ import annotations

import json
from typing import Any, Literal

import openai
import structlog

from workers.llm.provider import JudgeReply, JudgeRequest, ProviderError, ProviderUnavailable
from workers.llm.providers import (
    OPENAI_BASE_URL,
    attempts_made,
    call_deadline_s,
    guarded_call,
    redact,
    resolve_key,
    status_failure,
    transport_failure,
)

log = structlog.get_logger("misstep.llm")

StructuredOutput = Literal["auto", "json_schema", "json_mode"]


class OpenAIProvider:
    """A Provider backed by the OpenAI chat completions API."""

    name = "openai"

    def __init__(
        self,
        *,
        model: str,
        api_key: str | None,
        base_url: str | None,
        timeout_s: float,
        max_retries: int,
        structured_output: StructuredOutput = "auto",
        deadline_s: float | None = None,
    ) -> None:
        """Raises ProviderUnusable when api.openai.com is the target and no key is given."""
        self.model = model
        self._api_key = resolve_key(api_key, base_url, self.name)
        self._timeout_s = timeout_s
        self._deadline_s = deadline_s if deadline_s is not None else call_deadline_s(timeout_s, max_retries)
        self._json_mode = structured_output == "json_mode"
        self._may_fall_back = structured_output == "auto"
        self._max_tokens_param = "max_completion_tokens" if base_url is None else "max_tokens"
        self._client = openai.AsyncOpenAI(
            api_key=self._api_key,
            base_url=base_url or OPENAI_BASE_URL,  # explicit, so OPENAI_BASE_URL in the environment is not read
            timeout=timeout_s,
            max_retries=max_retries,
        )

    async def complete(self, request: JudgeRequest) -> JudgeReply:
        return await guarded_call(
            self.name,
            self.model,
            self._deadline_s,
            self._complete(request),
            sdk_error=openai.OpenAIError,
            to_failure=self._failure,
            json_mode=self._json_mode,
        )

    async def aclose(self) -> None:
        await self._client.close()

    async def _complete(self, request: JudgeRequest) -> JudgeReply:
        json_mode = self._json_mode
        try:
            return await self._call(request, json_mode=json_mode)
        except openai.BadRequestError as exc:
            if json_mode or not self._may_fall_back or not _about_response_format(exc):
                raise
        self._json_mode = True
        log.warning("llm.json_schema_unsupported", provider=self.name, model=self.model, fallback="json_mode")
        return await self._call(request, json_mode=True)

    async def _call(self, request: JudgeRequest, *, json_mode: bool) -> JudgeReply:
        system = request.system
        if json_mode:
            response_format: dict[str, Any] = {"type": "json_object"}
            schema = json.dumps(request.schema, separators=(",", ":"))
            system = f"{system}\n\nAnswer with a single JSON object that follows this JSON Schema:\n{schema}"
        else:
            response_format = {
                "type": "json_schema",
                "json_schema": {"name": request.schema_name, "schema": request.schema, "strict": True},
            }
        params: dict[str, Any] = {self._max_tokens_param: request.max_output_tokens}
        completion = await self._client.chat.completions.create(
            model=self.model,
            messages=[{"role": "system", "content": system}, {"role": "user", "content": request.user}],
            temperature=0,
            response_format=response_format,  # type: ignore[arg-type]
            **params,
        )
        choice = completion.choices[0] if completion.choices else None
        usage = completion.usage
        return JudgeReply(
            text=(choice.message.content or "") if choice is not None else "",
            input_tokens=(usage.prompt_tokens or 0) if usage is not None else 0,
            output_tokens=(usage.completion_tokens or 0) if usage is not None else 0,
            truncated=choice is not None and choice.finish_reason == "length",
            model=completion.model or self.model,
        )

    def _failure(self, exc: openai.OpenAIError) -> ProviderError:
        if isinstance(exc, openai.APIStatusError):
            return status_failure(
                exc.status_code,
                redact(_message(exc), [self._api_key]),
                model=self.model,
                attempts=attempts_made(exc.request.headers),
            )
        if isinstance(exc, openai.APIConnectionError):
            return transport_failure(
                timed_out=isinstance(exc, openai.APITimeoutError),
                timeout_s=self._timeout_s,
                attempts=attempts_made(exc.request.headers),
            )
        return ProviderUnavailable(f"unexpected error from the LLM provider ({type(exc).__name__})")


def _message(exc: openai.APIStatusError) -> str:
    """The provider's own error message (body error.message), else the SDK's summary."""
    body = exc.body
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        return body["message"]
    if isinstance(body, str) and body:
        return body
    return exc.message


def _about_response_format(exc: openai.BadRequestError) -> bool:
    text = f"{exc.param or ''} {_message(exc)}".lower()
    return "response_format" in text or "json_schema" in text
