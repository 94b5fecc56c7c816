"""The provider protocol: what every LLM judge backend (OpenAI, Anthropic, OpenAI-compatible) offers misstep.

A provider turns one JudgeRequest (system prompt, user prompt, JSON schema of the wanted answer) into one
JudgeReply (the raw answer text, token usage, whether it was cut off). It retries transient errors
(429 honouring Retry-After, 5xx, timeouts) itself and raises:

- ProviderUnusable when retrying cannot help (bad key, unknown model, bad request): the run fails with
  that reason;
- ProviderUnavailable when transient errors outlast the retries: the affected tags become `unsure`.

Decoding and validating the answer is not the provider's job (see workers/llm/judge.py).
"""

from __future__ import annotations

from typing import Any, Protocol

import msgspec


class JudgeRequest(msgspec.Struct, frozen=True, kw_only=True):
    """One judge call: prompts plus the JSON schema the answer must follow."""

    system: str
    user: str
    schema_name: str  # a short identifier, e.g. "item_verdicts"; used as tool / json_schema name
    schema: dict[str, Any]  # JSON Schema (draft 2020-12 subset: object/array/string/number/integer/enum)
    max_output_tokens: int = 2048


class JudgeReply(msgspec.Struct, frozen=True, kw_only=True):
    """The provider's answer, undecoded."""

    text: str  # the JSON text (or whatever the model produced instead)
    input_tokens: int = 0
    output_tokens: int = 0
    truncated: bool = False  # the answer was cut off (finish_reason length / stop_reason max_tokens)
    model: str = ""

    @property
    def tokens(self) -> int:
        return self.input_tokens + self.output_tokens


class ProviderError(Exception):
    """Base of the errors a provider raises; `reason` is safe to show to users (never holds a key)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class ProviderUnusable(ProviderError):
    """Retrying cannot help: invalid key, unknown model, request refused as malformed."""


class ProviderUnavailable(ProviderError):
    """Transient failures (429, 5xx, timeouts, connection errors) outlasted the retries."""


class Provider(Protocol):
    """An LLM judge backend. Implementations: OpenAIProvider, AnthropicProvider (workers/llm/)."""

    name: str  # "openai" or "anthropic"
    model: str

    async def complete(self, request: JudgeRequest) -> JudgeReply:
        """Make one judge call (with the provider's own retries). Raises ProviderUnusable/ProviderUnavailable."""
        ...

    async def aclose(self) -> None:
        """Release connections."""
        ...
