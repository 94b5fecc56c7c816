"""OTLP decoding and OpenInference mapping: spans made by the real opentelemetry-sdk, encoded by its own
OTLP encoder (protobuf), and hand-written OTLP JSON as a collector sends it."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Tracer, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Status, StatusCode

from workers.openinference import merge_traces
from workers.otlp import OtlpDecodeError, decode_request, encode_response, traces_from_request
from workers.traces import Trace, trace_to_item


@contextmanager
def recording(resource: dict[str, str] | None = None) -> Iterator[tuple[Tracer, Callable[[], bytes]]]:
    """A real TracerProvider; the callable returns the finished spans as an OTLP protobuf body."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create(resource or {"service.name": "support-bot"}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    try:
        yield provider.get_tracer("test"), lambda: encode_spans(exporter.get_finished_spans()).SerializeToString()
    finally:
        provider.shutdown()


def mapped(body: bytes, encoding: str = "protobuf") -> list[Trace]:
    return traces_from_request(decode_request(body, encoding), tenant="t1")  # type: ignore[arg-type]


def rag_export(tracer: Tracer) -> None:
    with tracer.start_as_current_span("rag-pipeline") as root:
        root.set_attributes(
            {
                "openinference.span.kind": "CHAIN",
                "input.value": '{"question": "How long is the refund window?"}',
                "input.mime_type": "application/json",
                "output.value": "Refunds are accepted within 30 days.",
                "session.id": "sess-9",
            }
        )
        with tracer.start_as_current_span("retrieve") as retriever:
            retriever.set_attributes(
                {
                    "openinference.span.kind": "RETRIEVER",
                    "retrieval.query": "refund window",
                    "retrieval.documents.0.document.id": "policy-1",
                    "retrieval.documents.0.document.score": 0.92,
                    "retrieval.documents.0.document.content": "Refunds are accepted within 30 days of purchase.",
                    "retrieval.documents.0.document.metadata": '{"source": "refund-policy.md"}',
                    "retrieval.documents.1.document.id": "faq-7",
                    "retrieval.documents.1.document.content": "Shipping takes 3-5 business days.",
                }
            )
        with tracer.start_as_current_span("llm") as llm:
            llm.set_attributes(
                {
                    "openinference.span.kind": "LLM",
                    "llm.model_name": "gpt-4o-mini",
                    "llm.input_messages.0.message.role": "system",
                    "llm.input_messages.0.message.content": "Answer from the context only.",
                    "llm.input_messages.1.message.role": "user",
                    "llm.input_messages.1.message.content": "Context: ... Question: How long is the refund window?",
                    "llm.output_messages.0.message.role": "assistant",
                    "llm.output_messages.0.message.content": "Refunds are accepted within 30 days.",
                    "llm.token_count.prompt": 120,
                    "llm.token_count.completion": 9,
                }
            )


def test_protobuf_rag_trace_maps_question_answer_documents_and_session() -> None:
    with recording() as (tracer, body):
        rag_export(tracer)
        [trace] = mapped(body())
    assert trace.tenant == "t1" and trace.source == "otlp" and len(trace.trace_id) == 32
    assert trace.user_message == "How long is the refund window?"  # the root's JSON input, not the LLM prompt
    assert trace.agent_response == "Refunds are accepted within 30 days."
    assert trace.system_prompt == "Answer from the context only."
    assert trace.session_id == "sess-9" and trace.model == "gpt-4o-mini"
    assert trace.agent_id == "support-bot"  # resource service.name
    assert [(d.id, d.score, d.source) for d in trace.retrieved_documents] == [
        ("policy-1", 0.92, "refund-policy.md"),
        ("faq-7", None, None),
    ]
    assert trace.retrieved_documents[0].content.startswith("Refunds are accepted within 30 days")
    assert [s.kind for s in trace.spans] == ["CHAIN", "RETRIEVER", "LLM"]
    root = trace.spans[0]
    assert root.parent_id is None and all(s.parent_id == root.span_id for s in trace.spans[1:])
    assert root.start_time and root.start_time.endswith("Z")
    assert trace.metadata["tokenCount"] == {"prompt": 120, "completion": 9}
    item = trace_to_item(trace)
    assert item.input == trace.user_message and len(item.context) == 2 and item.trace_id == trace.trace_id


def test_llm_root_span_gives_last_user_message_earlier_turns_and_system_prompt() -> None:
    with recording({"service.name": "chat", "agent.id": "agent-42"}) as (tracer, body):
        with tracer.start_as_current_span("chat") as llm:
            llm.set_attributes(
                {
                    "openinference.span.kind": "LLM",
                    "llm.input_messages.0.message.role": "system",
                    "llm.input_messages.0.message.content": "Be brief.",
                    "llm.input_messages.1.message.role": "user",
                    "llm.input_messages.1.message.content": "Hi, I ordered a lamp.",
                    "llm.input_messages.2.message.role": "assistant",
                    "llm.input_messages.2.message.content": "How can I help with the lamp?",
                    "llm.input_messages.3.message.role": "user",
                    "llm.input_messages.3.message.contents.0.message_content.type": "text",
                    "llm.input_messages.3.message.contents.0.message_content.text": "It arrived broken.",
                    "output.value": "Sorry! A replacement is on its way.",
                }
            )
        [trace] = mapped(body())
    assert trace.user_message == "It arrived broken."
    assert trace.conversation_history == [
        {"role": "user", "content": "Hi, I ordered a lamp."},
        {"role": "assistant", "content": "How can I help with the lamp?"},
    ]
    assert trace.system_prompt == "Be brief."
    assert trace.agent_response == "Sorry! A replacement is on its way."
    assert trace.agent_id == "agent-42"  # resource agent.id beats service.name


def test_tool_spans_become_tool_calls_and_an_error_status_becomes_their_error() -> None:
    with recording() as (tracer, body):
        with tracer.start_as_current_span("agent") as agent:
            agent.set_attributes({"openinference.span.kind": "AGENT", "input.value": "Where is order 7?"})
            agent.set_attribute("thinkhive.agent_id", "orders-agent")
            with tracer.start_as_current_span("lookup") as ok_tool:
                ok_tool.set_attributes(
                    {
                        "openinference.span.kind": "TOOL",
                        "tool.name": "lookup_order",
                        "input.value": '{"order_id": 7}',
                        "output.value": "shipped",
                    }
                )
            with tracer.start_as_current_span("refund") as bad_tool:
                bad_tool.set_attributes(
                    {"openinference.span.kind": "TOOL", "tool.name": "issue_refund", "tool.parameters": '{"x": 1}'}
                )
                bad_tool.set_status(Status(StatusCode.ERROR, "payment gateway timeout"))
            agent.set_attribute("output.value", "Order 7 has shipped.")
        [trace] = mapped(body())
    assert trace.agent_id == "orders-agent"
    assert trace.user_message == "Where is order 7?" and trace.agent_response == "Order 7 has shipped."
    ok_call, bad_call = trace.tool_calls
    assert ok_call["name"] == "lookup_order" and ok_call["arguments"] == {"order_id": 7}
    assert ok_call["output"] == "shipped" and "error" not in ok_call
    assert bad_call["name"] == "issue_refund" and bad_call["arguments"] == {"x": 1}
    assert bad_call["error"] == "payment gateway timeout"
    assert [s.kind for s in trace.spans] == ["AGENT", "TOOL", "TOOL"] and trace.spans[2].status == "error"
    tools = trace_to_item(trace).tool_calls
    assert tools[1].error == "payment gateway timeout" and tools[0].output == "shipped"


def test_exception_event_message_is_the_error_when_the_status_has_none() -> None:
    with recording() as (tracer, body):
        with tracer.start_as_current_span("tool") as span:
            span.set_attributes({"openinference.span.kind": "TOOL", "tool.name": "search"})
            span.record_exception(RuntimeError("index offline"))
            span.set_status(Status(StatusCode.ERROR))
        [trace] = mapped(body())
    assert trace.tool_calls[0]["error"] == "index offline"
    assert trace.outcome == "failure"  # the root span failed


def test_spans_of_several_traces_become_several_traces() -> None:
    with recording() as (tracer, body):
        for question in ("one?", "two?"):
            with tracer.start_as_current_span("q") as span:
                span.set_attributes({"openinference.span.kind": "CHAIN", "input.value": question})
        traces = mapped(body())
    assert sorted(t.user_message for t in traces) == ["one?", "two?"]
    assert len({t.trace_id for t in traces}) == 2


OTLP_JSON = {
    "resourceSpans": [
        {
            "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "json-bot"}}]},
            "scopeSpans": [
                {
                    "scope": {"name": "manual"},
                    "spans": [
                        {
                            "traceId": "5b8efff798038103d269b633813fc60c",
                            "spanId": "eee19b7ec3c1b174",
                            "name": "llm",
                            "kind": 1,
                            "startTimeUnixNano": "1700000000000000000",
                            "endTimeUnixNano": "1700000001500000000",
                            "attributes": [
                                {"key": "openinference.span.kind", "value": {"stringValue": "LLM"}},
                                {"key": "input.value", "value": {"stringValue": "What is 2+2?"}},
                                {
                                    "key": "llm.output_messages.0.message.content",
                                    "value": {"stringValue": "4"},
                                },
                                {"key": "llm.token_count.total", "value": {"intValue": "12"}},
                            ],
                            "status": {"code": 1},
                        },
                        {
                            "traceId": "5b8efff798038103d269b633813fc60c",
                            "spanId": "eee19b7ec3c1b175",
                            "parentSpanId": "eee19b7ec3c1b174",
                            "name": "docs",
                            "startTimeUnixNano": "1700000000100000000",
                            "endTimeUnixNano": "1700000000200000000",
                            "attributes": [
                                {"key": "openinference.span.kind", "value": {"stringValue": "RETRIEVER"}},
                                {
                                    "key": "retrieval.documents",
                                    "value": {
                                        "arrayValue": {
                                            "values": [
                                                {
                                                    "kvlistValue": {
                                                        "values": [
                                                            {
                                                                "key": "document.content",
                                                                "value": {"stringValue": "2+2 equals 4."},
                                                            }
                                                        ]
                                                    }
                                                }
                                            ]
                                        }
                                    },
                                },
                            ],
                        },
                    ],
                }
            ],
        }
    ]
}


def test_otlp_json_with_hex_ids_maps_like_protobuf() -> None:
    [trace] = mapped(json.dumps(OTLP_JSON).encode(), "json")
    assert trace.trace_id == "5b8efff798038103d269b633813fc60c"
    assert trace.user_message == "What is 2+2?" and trace.agent_response == "4"
    assert trace.agent_id == "json-bot" and trace.duration_ms == 1500
    assert trace.spans[0].span_id == "eee19b7ec3c1b174" and trace.spans[1].parent_id == "eee19b7ec3c1b174"
    assert trace.spans[0].status == "ok" and trace.created_at == "2023-11-14T22:13:20.000Z"
    assert [d.content for d in trace.retrieved_documents] == ["2+2 equals 4."]  # the unflattened list form
    assert trace.metadata["tokenCount"] == {"total": 12}


def test_empty_export_is_accepted_and_yields_no_traces() -> None:
    assert mapped(b"") == [] and mapped(b"{}", "json") == []


@pytest.mark.parametrize(
    ("body", "encoding", "message"),
    [
        (b"\xff\xff\xff\xff", "protobuf", "not a protobuf ExportTraceServiceRequest"),
        (b"{not json", "json", "not JSON"),
        (b"[1, 2]", "json", "must be a JSON object"),
        (b'{"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": "zz"}]}]}]}', "json", "not a hex string"),
        (b'{"resourceSpans": "nope"}', "json", "not an OTLP JSON ExportTraceServiceRequest"),
    ],
    ids=["garbage-protobuf", "broken-json", "json-array", "bad-hex-id", "wrong-field-type"],
)
def test_malformed_payload_is_a_clear_error(body: bytes, encoding: str, message: str) -> None:
    with pytest.raises(OtlpDecodeError, match=message):
        decode_request(body, encoding)  # type: ignore[arg-type]


def test_response_is_an_empty_export_response_in_the_request_encoding() -> None:
    assert encode_response("protobuf") == b"" and encode_response("json") == b"{}"


def test_a_trace_exported_in_two_batches_is_merged_around_its_root() -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "bot"}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("test")
    with tracer.start_as_current_span("root") as root:
        root.set_attributes({"openinference.span.kind": "CHAIN", "input.value": "Q?", "output.value": "A."})
        with tracer.start_as_current_span("retrieve") as child:
            child.set_attributes(
                {"openinference.span.kind": "RETRIEVER", "retrieval.documents.0.document.content": "fact"}
            )
        first_batch = encode_spans(exporter.get_finished_spans()).SerializeToString()  # the child only
        exporter.clear()
    second_batch = encode_spans(exporter.get_finished_spans()).SerializeToString()  # the root only
    provider.shutdown()
    [early] = mapped(first_batch)
    [late] = mapped(second_batch)
    assert early.trace_id == late.trace_id and early.user_message == ""
    merged = merge_traces(early, late)
    assert merged.user_message == "Q?" and merged.agent_response == "A."
    assert [d.content for d in merged.retrieved_documents] == ["fact"]
    assert [s.kind for s in merged.spans] == ["CHAIN", "RETRIEVER"]
    assert merge_traces(merged, early) == merged  # a re-sent batch changes nothing
