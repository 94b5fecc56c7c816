"""The OpenAI and Anthropic providers, through the real SDKs, against the loopback LLM server.

Covers what goes over the wire (model, prompts, schema, temperature, key), what comes back (text, tokens,
truncation), the SDK retries we rely on (429 with Retry-After, 5xx, timeouts), the error mapping
(ProviderUnusable / ProviderUnavailable, never the key), the JSON-mode fallback and the concurrency limit.
"""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import pytest
from structlog.testing import capture_logs

from tests.llm_server import Fault, LLMServer, RecordedCall
from workers.llm.anthropic_provider import AnthropicProvider
from workers.llm.provider import JudgeRequest, ProviderUnavailable, ProviderUnusable
from workers.llm.providers import LimitedProvider, make_provider, redact
from workers.settings import Settings

KEY = "sk-test-loopback-0123456789abcdef"
REQUEST_KEY = "sk-request-own-key-9876543210"
PROTOCOLS = ["openai", "anthropic"]
SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "verdicts": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "properties": {
                    "tag": {"type": "string", "enum": ["hallucination", "none"]},
                    "confidence": {"type": "number", "minimum": 0, "maximum": 1},
                },
                "required": ["tag", "confidence"],
                "additionalProperties": False,
            },
        }
    },
    "required": ["verdicts"],
    "additionalProperties": False,
}
REQUEST = JudgeRequest(
    system="You are a strict judge.", user="Item 1: the answer cites a source.", schema_name="verdicts", schema=SCHEMA
)
VERDICT = {"verdicts": [{"tag": "hallucination", "confidence": 0.8}]}

MakeProvider = Callable[..., LimitedProvider]


@pytest.fixture
def server() -> Iterator[LLMServer]:
    with LLMServer(lambda call: json.dumps(VERDICT)) as running:
        yield running


def settings_for(protocol: str, server: LLMServer, **overrides: Any) -> Settings:
    base_url = server.openai_base_url if protocol == "openai" else server.anthropic_base_url
    fields: dict[str, Any] = {
        "llm_provider": protocol,
        "llm_api_key": KEY,
        "llm_base_url": base_url,
        "llm_timeout_s": 0.5,
        "llm_max_retries": 1,
        **overrides,
    }
    return Settings(**fields)


@pytest.fixture
async def provider_for(server: LLMServer) -> AsyncIterator[MakeProvider]:
    """make_provider for a protocol against the server; every provider made is closed afterwards."""
    made: list[LimitedProvider] = []

    def make(protocol: str, *, api_key: str | None = None, semaphore: Any = None, **overrides: Any) -> LimitedProvider:
        made.append(make_provider(settings_for(protocol, server, **overrides), api_key=api_key, semaphore=semaphore))
        return made[-1]

    yield make
    for provider in made:
        await provider.aclose()


def sent_key(call: RecordedCall) -> str:
    """The API key a request carried (Authorization: Bearer for OpenAI and Anthropic SDK 2.x, else x-api-key)."""
    return call.headers.get("x-api-key") or call.headers.get("authorization", "").removeprefix("Bearer ")


async def fails_with(kind: type[Exception], call: Awaitable[Any]) -> Any:
    with pytest.raises(kind) as caught:
        await call
    return caught.value


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_a_structured_call_sends_the_schema_and_returns_text_and_usage(
    protocol: str, server: LLMServer, provider_for: MakeProvider
) -> None:
    provider = provider_for(protocol)
    reply = await provider.complete(REQUEST)

    assert json.loads(reply.text) == VERDICT
    assert (reply.input_tokens, reply.output_tokens) == (server.input_tokens, server.output_tokens)
    assert reply.input_tokens > 0 and reply.output_tokens > 0 and reply.truncated is False
    assert reply.model == provider.model == ("gpt-4o-mini" if protocol == "openai" else "claude-haiku-4-5")
    [call] = server.calls
    assert (call.protocol, call.model, call.system, call.user) == (
        protocol,
        provider.model,
        REQUEST.system,
        REQUEST.user,
    )
    assert call.schema == SCHEMA and call.schema_name == "verdicts" and call.json_mode is False
    assert sent_key(call) == KEY
    if protocol == "openai":
        assert call.body["temperature"] == 0
        assert call.body["response_format"]["json_schema"]["strict"] is True
        assert call.body["max_tokens"] == REQUEST.max_output_tokens and "max_completion_tokens" not in call.body
    else:
        # SDK 2.x sends anthropic-version 2026-10-21, which refuses sampling parameters (the server does too).
        assert "temperature" not in call.body and call.headers["anthropic-version"] >= "2026-10-21"
        assert call.body["tool_choice"] == {"type": "tool", "name": "verdicts"}
        assert call.body["max_tokens"] == REQUEST.max_output_tokens


async def test_a_requests_own_key_reaches_the_server(server: LLMServer, provider_for: MakeProvider) -> None:
    provider = provider_for("openai", api_key=REQUEST_KEY, llm_model="gpt-4.1-mini")
    await provider.complete(REQUEST)
    assert sent_key(server.calls[0]) == REQUEST_KEY
    assert server.calls[0].model == provider.model == "gpt-4.1-mini"


async def test_a_requests_own_key_on_an_anthropic_setup_goes_to_openai(server: LLMServer) -> None:
    settings = settings_for("anthropic", server, llm_request_key_model="gpt-5-mini")
    provider = make_provider(settings, api_key=REQUEST_KEY)
    try:
        assert (provider.name, provider.model) == ("openai", "gpt-5-mini")
        client = provider.inner._client  # type: ignore[attr-defined]
        assert str(client.base_url).startswith("https://api.openai.com/") and client.api_key == REQUEST_KEY
    finally:
        await provider.aclose()


def test_without_a_provider_or_a_key_nothing_is_built() -> None:
    with pytest.raises(ProviderUnusable, match="no LLM provider is configured"):
        make_provider(Settings())
    with pytest.raises(ProviderUnusable, match="no API key"):
        make_provider(Settings(llm_provider="anthropic"))


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_429_with_retry_after_is_waited_out_and_retried(
    protocol: str, server: LLMServer, provider_for: MakeProvider
) -> None:
    server.inject(Fault.status(429, retry_after=1))
    started = time.monotonic()
    reply = await provider_for(protocol).complete(REQUEST)
    waited = time.monotonic() - started
    assert json.loads(reply.text) == VERDICT
    assert [c.headers["x-stainless-retry-count"] for c in server.calls] == ["0", "1"]
    # A lower bound only (cannot flake): the SDK's own first backoff is at most 0.5 s, Retry-After asked for 1 s.
    assert waited >= 0.9


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_500_on_every_attempt_is_unavailable_after_all_retries(
    protocol: str, server: LLMServer, provider_for: MakeProvider
) -> None:
    server.inject(*[Fault.status(500, retry_after_ms=10)] * 3)  # retry-after-ms: no long SDK backoff
    with capture_logs() as logs:
        error = await fails_with(ProviderUnavailable, provider_for(protocol, llm_max_retries=2).complete(REQUEST))
    assert len(server.calls) == 3
    assert "500" in error.reason and "3 attempts" in error.reason
    assert [entry["event"] for entry in logs] == ["llm.call_failed"]
    assert logs[0]["provider"] == protocol and logs[0]["status"] == 500 and KEY not in str(logs)


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_an_answer_slower_than_the_timeout_is_unavailable(
    protocol: str, server: LLMServer, provider_for: MakeProvider
) -> None:
    server.inject(Fault.delay(5), Fault.delay(5))
    error = await fails_with(ProviderUnavailable, provider_for(protocol, llm_timeout_s=0.25).complete(REQUEST))
    assert len(server.calls) == 2
    assert "0.25 s" in error.reason


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_an_unreachable_server_is_unavailable(protocol: str) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again before use: nothing listens there
    base_url = f"http://127.0.0.1:{port}" + ("/v1" if protocol == "openai" else "")
    settings = Settings(llm_provider=protocol, llm_api_key=KEY, llm_base_url=base_url, llm_max_retries=0)  # type: ignore[arg-type]
    provider = make_provider(settings)
    try:
        error = await fails_with(ProviderUnavailable, provider.complete(REQUEST))
    finally:
        await provider.aclose()
    assert "could not connect" in error.reason


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_a_refused_key_is_unusable_and_never_named(
    protocol: str, server: LLMServer, provider_for: MakeProvider
) -> None:
    server.inject(Fault.status(401))  # the loopback server's 401 message echoes the key it refused
    with capture_logs() as logs:
        error = await fails_with(ProviderUnusable, provider_for(protocol).complete(REQUEST))
    assert error.reason == "the LLM provider refused the API key (401)"
    assert len(server.calls) == 1  # not retried
    assert KEY not in str(logs) and KEY not in str(error)


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_an_unknown_model_is_unusable_and_named(
    protocol: str, server: LLMServer, provider_for: MakeProvider
) -> None:
    server.inject(Fault.status(404))
    error = await fails_with(ProviderUnusable, provider_for(protocol, llm_model="no-such-model").complete(REQUEST))
    assert "no-such-model" in error.reason and "404" in error.reason


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_a_bad_request_is_unusable_with_the_providers_message(
    protocol: str, server: LLMServer, provider_for: MakeProvider
) -> None:
    server.inject(Fault.status(400))
    error = await fails_with(ProviderUnusable, provider_for(protocol).complete(REQUEST))
    assert error.reason == "the LLM provider rejected the request (400): Invalid request."


def test_reasons_are_trimmed_and_key_free() -> None:
    text = redact(f"Incorrect API key provided: {KEY}, also vq_live_abcdef0123456789. " + "x" * 500, [KEY])
    assert KEY not in text and "vq_live_abcdef0123456789" not in text and len(text) <= 300


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_malformed_content_is_returned_unchanged(
    protocol: str, server: LLMServer, provider_for: MakeProvider
) -> None:
    server.inject(Fault.malformed())
    reply = await provider_for(protocol).complete(REQUEST)
    assert reply.text == "Sure! Here is my verdict: {not json" and reply.truncated is False


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_a_cut_off_answer_is_marked_truncated(
    protocol: str, server: LLMServer, provider_for: MakeProvider
) -> None:
    server.inject(Fault.truncated())
    reply = await provider_for(protocol).complete(REQUEST)
    full = json.dumps(VERDICT)
    assert reply.truncated is True and reply.text == full[: len(full) // 2]


async def test_a_server_without_json_schema_falls_back_to_json_mode_for_good(
    server: LLMServer, provider_for: MakeProvider
) -> None:
    server.reject_json_schema = True
    provider = provider_for("openai")
    with capture_logs() as logs:
        first = await provider.complete(REQUEST)
    assert json.loads(first.text) == VERDICT
    assert [call.json_mode for call in server.calls] == [False, True]
    assert json.dumps(SCHEMA, separators=(",", ":")) in server.calls[1].system
    assert "llm.json_schema_unsupported" in [entry["event"] for entry in logs]

    await provider.complete(REQUEST)
    assert [call.json_mode for call in server.calls] == [False, True, True]  # straight to JSON mode


async def test_json_schema_mode_does_not_fall_back(server: LLMServer, provider_for: MakeProvider) -> None:
    server.reject_json_schema = True
    provider = provider_for("openai", llm_structured_output="json_schema")
    error = await fails_with(ProviderUnusable, provider.complete(REQUEST))
    assert "response_format" in error.reason and len(server.calls) == 1


async def test_json_mode_is_used_from_the_first_call_when_configured(
    server: LLMServer, provider_for: MakeProvider
) -> None:
    await provider_for("openai", llm_structured_output="json_mode").complete(REQUEST)
    [call] = server.calls
    assert call.json_mode is True and call.schema is None and '"verdicts"' in call.system


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_concurrency_is_limited_per_process(protocol: str, server: LLMServer, provider_for: MakeProvider) -> None:
    server.latency_s = 0.1
    shared = provider_for(protocol, llm_max_concurrency=2)
    # A second provider of the process (a request's own key on an OpenAI setup) waits on the same slots.
    other = provider_for(protocol, api_key=REQUEST_KEY if protocol == "openai" else None, semaphore=shared.semaphore)
    replies = await asyncio.gather(*[p.complete(REQUEST) for p in (shared, other) for _ in range(3)])
    assert len(replies) == 6 and len(server.calls) == 6
    assert server.peak_concurrency == 2


async def test_a_retry_after_beyond_the_call_deadline_is_unavailable(server: LLMServer) -> None:
    provider = AnthropicProvider(
        model="claude-haiku-4-5",
        api_key=KEY,
        base_url=server.anthropic_base_url,
        timeout_s=0.5,
        max_retries=1,
        deadline_s=0.5,
    )
    server.inject(Fault.status(429, retry_after=3600))  # the Anthropic SDK would sleep for an hour
    try:
        error = await fails_with(ProviderUnavailable, provider.complete(REQUEST))
    finally:
        await provider.aclose()
    assert "deadline" in error.reason and len(server.calls) == 1
