"""The loopback LLM server itself: wire formats, fault queue, concurrency, minimal schema instances."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.llm_server import Fault, LLMServer, count_tokens, schema_instance

SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"tag": {"type": "string", "enum": ["a", "b"]}, "score": {"type": "integer", "minimum": 1}},
    "required": ["tag", "score"],
}
OPENAI_BODY = {
    "model": "m",
    "messages": [{"role": "system", "content": "sys"}, {"role": "user", "content": [{"type": "text", "text": "hi"}]}],
    "response_format": {"type": "json_schema", "json_schema": {"name": "v", "schema": SCHEMA, "strict": True}},
}
ANTHROPIC_BODY = {
    "model": "m",
    "max_tokens": 100,
    "system": "sys",
    "messages": [{"role": "user", "content": "hi"}],
    "tools": [{"name": "v", "input_schema": SCHEMA}],
    "tool_choice": {"type": "tool", "name": "v"},
}


@pytest.fixture
def server() -> Iterator[LLMServer]:
    with LLMServer() as running:
        yield running


def test_both_protocols_answer_with_a_schema_instance_and_count_usage(server: LLMServer) -> None:
    with httpx.Client(timeout=5) as http:
        chat = http.post(f"{server.openai_base_url}/chat/completions", json=OPENAI_BODY).json()
        message = http.post(f"{server.anthropic_base_url}/v1/messages", json=ANTHROPIC_BODY).json()
    assert json.loads(chat["choices"][0]["message"]["content"]) == {"tag": "a", "score": 1}
    assert message["content"][0] == {**message["content"][0], "type": "tool_use", "name": "v"}
    assert message["content"][0]["input"] == {"tag": "a", "score": 1} and message["stop_reason"] == "tool_use"
    assert [(c.protocol, c.system, c.user, c.schema_name) for c in server.calls] == [
        ("openai", "sys", "hi", "v"),
        ("anthropic", "sys", "hi", "v"),
    ]
    answer_tokens = count_tokens(json.dumps({"tag": "a", "score": 1}))
    assert chat["usage"]["completion_tokens"] == message["usage"]["output_tokens"] == answer_tokens
    assert server.output_tokens == 2 * answer_tokens and server.input_tokens == 2 * count_tokens("sys") + 2


def test_faults_are_consumed_one_per_request_in_order(server: LLMServer) -> None:
    server.inject(Fault.status(429, retry_after=2), Fault.status(500), Fault.malformed("nope"))
    with httpx.Client(timeout=5) as http:
        answers = [http.post(f"{server.anthropic_base_url}/v1/messages", json=ANTHROPIC_BODY) for _ in range(4)]
    assert [a.status_code for a in answers] == [429, 500, 200, 200]
    assert answers[0].headers["retry-after"] == "2" and answers[0].json()["error"]["type"] == "rate_limit_error"
    assert answers[2].json()["content"] == [{"type": "text", "text": "nope"}]  # not JSON: a text block
    server.reset()
    assert server.calls == [] and server.input_tokens == server.output_tokens == 0


def test_requests_the_real_apis_refuse_are_400_without_using_a_fault(server: LLMServer) -> None:
    server.reject_json_schema = True
    server.inject(Fault.status(500))
    with httpx.Client(timeout=5) as http:
        refused = http.post(f"{server.openai_base_url}/chat/completions", json=OPENAI_BODY)
        sampled = http.post(
            f"{server.anthropic_base_url}/v1/messages",
            json={**ANTHROPIC_BODY, "temperature": 0},
            headers={"anthropic-version": "2026-10-21"},
        )
        faulted = http.post(f"{server.openai_base_url}/chat/completions", json={**OPENAI_BODY, "response_format": None})
    assert refused.status_code == 400 and "response_format" in refused.json()["error"]["message"]
    assert sampled.status_code == 400 and "temperature" in sampled.json()["error"]["message"]
    assert faulted.status_code == 500


async def test_64_concurrent_requests_are_all_in_flight_at_once(server: LLMServer) -> None:
    server.latency_s = 0.2
    limits = httpx.Limits(max_connections=100)
    async with httpx.AsyncClient(timeout=10, limits=limits) as http:
        url = f"{server.openai_base_url}/chat/completions"
        answers = await asyncio.gather(*[http.post(url, json=OPENAI_BODY) for _ in range(64)])
    assert all(a.status_code == 200 for a in answers)
    assert server.peak_concurrency == 64


def test_schema_instances_follow_their_schema() -> None:
    nested = {
        "$defs": {
            "item": {"type": "object", "properties": {"n": {"type": "integer", "minimum": 3}}, "required": ["n"]}
        },
        "type": "object",
        "properties": {
            "items": {"type": "array", "items": {"$ref": "#/$defs/item"}, "minItems": 2},
            "optional": {"type": "string"},
            "p": {"type": "number", "exclusiveMinimum": 0.5},
        },
        "required": ["items", "p"],
    }
    assert schema_instance(nested) == {"items": [{"n": 3}, {"n": 3}], "p": 1.5}
    assert schema_instance({"type": ["null", "string"], "minLength": 2}) == "xx"
    assert schema_instance({"anyOf": [{"type": "boolean"}, {"type": "string"}]}) is False
    assert schema_instance({"const": "fixed"}) == "fixed"
