"""The Valiqor trace upload mapping, fed the JSON the real `valiqor` tracer (TracerV2) produces."""

from __future__ import annotations

from pathlib import Path

from valiqor.trace.tracer import TracerV2

from workers.traces import trace_to_item
from workers.valiqor_trace import trace_from_upload

NOW = "2026-11-21T00:00:00.000Z"


def test_a_real_tracer_trace_maps_question_answer_documents_and_tool_calls(tmp_path: Path) -> None:
    tracer = TracerV2(trace_dir=str(tmp_path), project_name="shop")  # no backend_url: nothing is uploaded
    tracer.start_trace("rag", {"user_query": "Where is order 7?"}, session_id="s-1")
    span = tracer.create_span("retrieve")
    hit = {"doc_id": "d1", "rank": 1, "score": 0.8, "snippet_preview": "Order 7 shipped Monday.", "metadata": {}}
    tracer.log_extra({"retrieval": {"query": "order 7", "retriever_type": "bm25", "hits": [hit]}})
    span.finish()
    tracer.add_message({"type": "ai", "content": "", "tool_calls": [{"id": "c1", "name": "track", "args": {"id": 7}}]})
    tracer.add_message(
        {"type": "tool", "name": "track", "tool_call_id": "c1", "content": "carrier down", "status": "error"}
    )
    tracer.add_message(
        {"type": "ai", "content": "It shipped on Monday.", "response_metadata": {"model_name": "gpt-4o"}}
    )
    document = tracer.end_trace({"answer": "It shipped on Monday."})

    trace = trace_from_upload(document, tenant="t", trace_id="fallback", project_name="shop", now=NOW)
    assert trace.trace_id == document["metadata"]["trace_id"] and trace.source == "upload"
    assert (trace.user_message, trace.agent_response) == ("Where is order 7?", "It shipped on Monday.")
    assert trace.session_id == "s-1" and trace.model == "gpt-4o" and trace.agent_id == "shop"
    assert [(d.id, d.content, d.score) for d in trace.retrieved_documents] == [("d1", "Order 7 shipped Monday.", 0.8)]
    assert trace.tool_calls == [
        {"id": "c1", "name": "track", "arguments": {"id": 7}, "output": "carrier down", "error": "carrier down"}
    ]
    assert {s.name for s in trace.spans} >= {"agentic_workflow", "retrieve"}
    assert trace.metadata["valiqor"]["app_name"] == "shop" and trace.created_at.endswith("Z")
    assert trace_to_item(trace).tool_calls[0].error == "carrier down"


def test_earlier_turns_system_prompt_and_unanswered_calls() -> None:
    document = {
        "metadata": {"trace_id": "vq-1", "agent_id": "helpdesk"},
        "summary": {"status": "failure", "duration_ms": 1234.6},
        "messages": [
            {"type": "system", "content": "Be polite."},
            {"type": "human", "content": "Hi"},
            {"type": "ai", "content": "Hello! How can I help?"},
            {"role": "user", "content": "Cancel my plan."},
            {"role": "assistant", "content": "", "tool_calls": [{"id": "x", "function": {"name": "cancel"}}]},
            {"role": "assistant", "content": "Your plan is cancelled."},
        ],
    }
    trace = trace_from_upload(document, tenant="t", trace_id="unused", project_name=None, now=NOW)
    assert trace.trace_id == "vq-1" and trace.agent_id == "helpdesk" and trace.outcome == "failure"
    assert (trace.user_message, trace.agent_response) == ("Cancel my plan.", "Your plan is cancelled.")
    assert trace.conversation_history == [
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello! How can I help?"},
    ]
    assert trace.system_prompt == "Be polite." and trace.duration_ms == 1235 and trace.created_at == NOW
    assert trace.tool_calls == [{"id": "x", "name": "cancel", "arguments": None, "output": None}]


def test_a_plain_item_shape_is_read_too() -> None:
    document = {"input": "2+2?", "output": "4", "context": ["2+2 is 4."]}
    trace = trace_from_upload(document, tenant="t", trace_id="tr_new", project_name="p", now=NOW)
    assert (trace.trace_id, trace.user_message, trace.agent_response, trace.agent_id) == ("tr_new", "2+2?", "4", "p")
    assert [d.content for d in trace.retrieved_documents] == ["2+2 is 4."]
