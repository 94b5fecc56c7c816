"""Tests of the retrieval_quality detectors: knowledge_gap_unflagged, retrieval_miss, irrelevant_retrieval and
context_assembly_loss."""

from __future__ import annotations

import pytest

from taxonomy.model import Finding, Item, ToolCall
from taxonomy.registry import discover

DETECTORS = discover()


def run(detector_id: str, **fields: object) -> Finding:
    return DETECTORS[detector_id].detect(Item(**fields))


QUESTION = "What is the warranty period for the Lumix S5 II camera body in the European Union?"
ON_TOPIC = (
    "Panasonic Lumix S5 II: the camera body is covered by a two-year manufacturer warranty in the European Union, "
    "extendable to three years after online registration.",
    "Warranty claims for the Lumix S5 II must be filed with the original receipt at an authorised service centre.",
)
OFF_TOPIC = (
    "Our headquarters moved to Osaka in 2019. The cafeteria serves vegetarian options on Mondays.",
    "Sourdough needs a mature starter, flour, water and salt; bake at 240 degrees for 40 minutes.",
    "The quarterly earnings call is scheduled for the second Tuesday of the month.",
)


def test_retrieval_miss_key_terms_absent_fails() -> None:
    finding = run("retrieval_miss", input=QUESTION, context=OFF_TOPIC)
    assert finding.decision == "fail"
    assert finding.metrics["query_context_overlap"] < 0.34
    evidence = finding.evidence[0]
    assert evidence.source == "input"
    assert "Lumix" in (evidence.content_snippet or "")
    assert "warranty" in evidence.metadata["missing_terms"]


def test_retrieval_miss_covered_question_passes() -> None:
    finding = run("retrieval_miss", input=QUESTION, context=ON_TOPIC)
    assert finding.decision == "pass"
    assert finding.metrics["query_context_overlap"] >= 0.6


def test_retrieval_miss_uses_last_user_turn_of_a_transcript() -> None:
    transcript = (
        "[Human]: Hi, I bought a camera last month. [Assistant]: Great, how can I help? "
        "[Human]: What is the warranty period for the Lumix S5 II in the European Union?"
    )
    assert run("retrieval_miss", input=transcript, context=ON_TOPIC).decision == "pass"
    assert run("retrieval_miss", input=transcript, context=OFF_TOPIC).decision == "fail"


def test_retrieval_miss_question_without_key_terms_passes_with_low_confidence() -> None:
    finding = run("retrieval_miss", input="Can you explain this?", context=OFF_TOPIC)
    assert finding.decision == "pass"
    assert finding.confidence <= 0.3


def test_knowledge_gap_unflagged_confident_answer_without_coverage_fails() -> None:
    finding = run(
        "knowledge_gap_unflagged",
        input=QUESTION,
        context=OFF_TOPIC,
        output="The Lumix S5 II comes with a five-year warranty covering sensor defects and shutter wear.",
    )
    assert finding.decision == "fail"
    sources = {e.source for e in finding.evidence}
    assert {"input", "output"} <= sources
    assert any("five-year warranty" in (e.content_snippet or "") for e in finding.evidence if e.source == "output")


@pytest.mark.parametrize(
    "output",
    [
        "I don't know - the provided documents do not mention the warranty for this camera.",
        "The retrieved passages do not cover the Lumix S5 II warranty, so I can't answer reliably.",
        "I'm sorry, but I couldn't find that information in the knowledge base.",
    ],
    ids=["dont-know", "passages-do-not-cover", "couldnt-find"],
)
def test_knowledge_gap_unflagged_abstaining_answer_passes(output: str) -> None:
    assert run("knowledge_gap_unflagged", input=QUESTION, context=OFF_TOPIC, output=output).decision == "pass"


def test_knowledge_gap_unflagged_covered_question_passes() -> None:
    finding = run(
        "knowledge_gap_unflagged",
        input=QUESTION,
        context=ON_TOPIC,
        output="In the EU the Lumix S5 II body has a two-year warranty, three years if registered.",
    )
    assert finding.decision == "pass"


def test_irrelevant_retrieval_mostly_off_topic_chunks_fails() -> None:
    finding = run("irrelevant_retrieval", input=QUESTION, context=(ON_TOPIC[0], *OFF_TOPIC))
    assert finding.decision == "fail"
    flagged = {e.source for e in finding.evidence if e.evidence_type == "off_topic_chunk"}
    assert flagged == {"context[1]", "context[2]", "context[3]"}
    assert any("Sourdough" in (e.content_snippet or "") for e in finding.evidence)


def test_irrelevant_retrieval_duplicate_chunks_fail() -> None:
    copy = ON_TOPIC[0].replace("  ", " ") + " "
    finding = run("irrelevant_retrieval", input=QUESTION, context=(ON_TOPIC[0], copy, ON_TOPIC[0].upper()))
    assert finding.decision == "fail"
    assert [e.source for e in finding.evidence if e.evidence_type == "duplicate_chunk"] == ["context[1]", "context[2]"]


def test_irrelevant_retrieval_focused_chunks_pass() -> None:
    finding = run("irrelevant_retrieval", input=QUESTION, context=ON_TOPIC)
    assert finding.decision == "pass"
    assert finding.metrics["query_context_overlap"] > 0.3


def test_irrelevant_retrieval_off_target_search_query_is_unsure() -> None:
    calls = (ToolCall(name="search_docs", arguments='{"query": "cafeteria opening hours"}', output="..."),)
    finding = run("irrelevant_retrieval", input=QUESTION, context=ON_TOPIC, tool_calls=calls)
    assert finding.decision == "unsure"
    assert any(e.source == "tool_calls[0]" and "cafeteria" in (e.content_snippet or "") for e in finding.evidence)


RETRIEVED = [
    {"content": ON_TOPIC[0], "score": 0.91},
    {"content": ON_TOPIC[1], "score": 0.84},
    {"content": OFF_TOPIC[2], "score": 0.40},
]


def test_context_assembly_loss_top_document_dropped_fails() -> None:
    finding = run(
        "context_assembly_loss",
        input=QUESTION,
        context=(ON_TOPIC[1], OFF_TOPIC[2]),
        metadata={"retrieved_documents": RETRIEVED},
    )
    assert finding.decision == "fail"
    dropped = [e for e in finding.evidence if e.evidence_type == "dropped_document"]
    assert dropped and dropped[0].source == "metadata.retrieved_documents[0]"
    assert "two-year manufacturer warranty" in (dropped[0].content_snippet or "")
    assert finding.severity == 4.0


def test_context_assembly_loss_truncated_document_fails() -> None:
    cut = ON_TOPIC[0][:60]
    finding = run(
        "context_assembly_loss",
        input=QUESTION,
        context=(cut, ON_TOPIC[1]),
        metadata={"retrieved_documents": RETRIEVED[:2]},
    )
    assert finding.decision == "fail"
    assert any(e.evidence_type == "truncated_document" for e in finding.evidence)


def test_context_assembly_loss_everything_kept_passes() -> None:
    finding = run(
        "context_assembly_loss", input=QUESTION, context=ON_TOPIC, metadata={"retrieved_documents": RETRIEVED}
    )
    assert finding.decision == "pass"  # only the lowest-ranked, off-topic document was cut by top-k


def test_context_assembly_loss_explicit_truncation_marker_fails_without_record() -> None:
    finding = run("context_assembly_loss", context=(ON_TOPIC[0][:80] + " [truncated]", ON_TOPIC[1]))
    assert finding.decision == "fail"
    assert finding.evidence[0].source == "context[0]"
    assert "[truncated]" in (finding.evidence[0].content_snippet or "")


def test_context_assembly_loss_no_record_passes_with_low_confidence() -> None:
    finding = run("context_assembly_loss", input=QUESTION, context=ON_TOPIC)
    assert finding.decision == "pass"
    assert finding.confidence <= 0.3
    assert "retrieval record" in finding.rationale


@pytest.mark.parametrize(
    "metadata",
    [{"retrieved_documents": "not a list"}, {"retrieved_documents": [None, 3, {"id": 1}]}, {"retrieved_docs": []}],
    ids=["string-record", "junk-entries", "empty-record"],
)
def test_context_assembly_loss_odd_metadata_does_not_raise(metadata: dict[str, object]) -> None:
    finding = run("context_assembly_loss", input=QUESTION, context=ON_TOPIC, metadata=metadata)
    assert finding.decision == "pass"


def test_retrieval_quality_detectors_handle_a_megabyte_context() -> None:
    big = ("lorem ipsum dolor sit amet " * 40000)[:1_000_000]
    for detector_id in ("retrieval_miss", "irrelevant_retrieval", "knowledge_gap_unflagged", "context_assembly_loss"):
        finding = run(
            detector_id,
            input=QUESTION,
            output="Two years.",
            context=(big, big[:5000]),
            metadata={"retrieved_documents": [big[:5000], big]},
        )
        assert finding.decision in ("pass", "fail", "unsure")


@pytest.mark.parametrize(
    "detector_id", ["retrieval_miss", "irrelevant_retrieval", "knowledge_gap_unflagged", "context_assembly_loss"]
)
def test_retrieval_quality_detectors_tolerate_none_and_structured_fields(detector_id: str) -> None:
    weird = Item(
        input=None,
        output={"answer": 2},
        context=(None, 3, "Warranty: two years."),  # type: ignore[arg-type]
        tool_calls=None,
        metadata={"retrieved_documents": [{"text": 5}, None, {"content": "x", "score": "hi"}]},
    )  # type: ignore[arg-type]
    assert DETECTORS[detector_id].detect(weird).decision in ("pass", "fail", "unsure")


def test_a_term_lookup_counts_as_many_terms_as_it_has() -> None:
    from taxonomy.detectors.retrieval_quality._lookup import TermLookup

    text = "The elections were held in Paris; studies of electoral reforms and a cat's toys."
    terms = {"election", "elect", "paris", "study", "cat", "toy", "dog", "reform", "ab", "electr"}
    searched = TermLookup(text)
    built = TermLookup(text)
    built.prepare(10_000)  # builds the vocabulary: counted by set operations
    expected = sum(map(TermLookup(text).has, terms))
    assert searched.count(terms) == built.count(terms) == built.count(frozenset(terms)) == expected
    assert built.count(list(terms)) == expected
