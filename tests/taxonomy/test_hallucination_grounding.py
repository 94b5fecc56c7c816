"""Tests of the hallucination_grounding detectors: unsupported_claim and fabricated_trace_event."""

from __future__ import annotations

import pytest

from taxonomy.model import Finding, Item, ToolCall
from taxonomy.registry import discover

DETECTORS = discover()


def run(detector_id: str, **fields: object) -> Finding:
    return DETECTORS[detector_id].detect(Item(**fields))


def quoted(finding: Finding, text: str, source: str = "output") -> bool:
    return any(text in (e.content_snippet or "") and e.source == source for e in finding.evidence)


FRANCE = ("France is a country in Western Europe. Its capital is Paris.",)


def test_unsupported_claim_canonical_wrong_capital_fails() -> None:
    finding = run(
        "unsupported_claim",
        input="What is the capital of France?",
        output="The capital of France is Berlin.",
        context=FRANCE,
    )
    assert finding.decision == "fail"
    assert quoted(finding, "Berlin")
    assert finding.metrics["unsupported_fact_ratio"] > 0


def test_unsupported_claim_canonical_faithful_answer_passes() -> None:
    finding = run(
        "unsupported_claim",
        input="What is the capital of France?",
        output="The capital of France is Paris.",
        context=FRANCE,
    )
    assert finding.decision == "pass"
    assert finding.metrics["context_coverage"] == 1.0


REPORT = (
    "Acme Corp reported revenue of $1,200,000 in 2023, up 12% on the year. The company employs ten engineers "
    "at its Leeds office, led by chief executive Maria Lopez."
)


@pytest.mark.parametrize(
    ("output", "snippet"),
    [
        ("Acme Corp reported revenue of $1,500,000 in 2023.", "1,500,000"),
        ("Revenue grew 18% in 2023.", "18%"),
        ("Acme Corp's results were published in 2021.", "2021"),
        ("The Leeds office is led by chief executive John Smith.", "John Smith"),
        ('Maria Lopez described the year as "our best quarter since the merger".', "our best quarter"),
        ("The company employs 45 engineers at its Leeds office.", "45"),
    ],
    ids=["money", "percentage", "year", "person", "quote", "count"],
)
def test_unsupported_claim_flags_each_kind_of_fact(output: str, snippet: str) -> None:
    finding = run("unsupported_claim", input="Summarise the company report.", output=output, context=(REPORT,))
    assert finding.decision == "fail"
    assert quoted(finding, snippet)


@pytest.mark.parametrize(
    "output",
    [
        "Acme Corp reported revenue of 1.2 million dollars in 2023, up 12 percent.",
        "Acme Corp had revenue of $1200000 in 2023 and 10 engineers in Leeds.",
        "Maria Lopez leads the Leeds office of Acme Corp, which has ten engineers.",
    ],
    ids=["scaled-and-percent-words", "digits-vs-commas-and-words", "paraphrase"],
)
def test_unsupported_claim_accepts_reformatted_facts(output: str) -> None:
    finding = run("unsupported_claim", input="Summarise the company report.", output=output, context=(REPORT,))
    assert finding.decision == "pass"


def test_unsupported_claim_names_from_the_question_are_supported() -> None:
    finding = run(
        "unsupported_claim",
        input="Did Maria Lopez join Acme Corp from Globex Inc?",
        output="The report does not say whether Maria Lopez came from Globex Inc.",
        context=(REPORT,),
    )
    assert finding.decision == "pass"


def test_unsupported_claim_structured_record_attribute_flip_fails() -> None:
    record = (
        '{"name": "Blue Door Cafe", "city": "Goleta", "state": "CA", "attributes": {"OutdoorSeating": false, '
        '"RestaurantsReservations": true, "BusinessParking": {"street": false, "lot": true}}}'
    )
    output = "Blue Door Cafe in Goleta, California takes reservations and offers outdoor seating on its patio."
    finding = run("unsupported_claim", input="Write an overview of the business.", output=output, context=(record,))
    assert finding.decision == "fail"
    assert any(e.evidence_type == "contradicted_attribute" for e in finding.evidence)
    assert quoted(finding, "outdoor seating")


def test_unsupported_claim_structured_record_respected_passes() -> None:
    record = '{"name": "Blue Door Cafe", "city": "Goleta", "state": "CA", "attributes": {"OutdoorSeating": false}}'
    output = "Blue Door Cafe is located in Goleta, CA. It does not have outdoor seating."
    finding = run("unsupported_claim", input="Write an overview of the business.", output=output, context=(record,))
    assert finding.decision == "pass"


def test_unsupported_claim_negation_of_context_is_unsure() -> None:
    context = (
        "In 1961, Walt and Roy Disney guided the merger of the Chouinard Art Institute and the Los Angeles "
        "Conservatory of Music.",
    )
    output = "Roy Disney did not guide the merger of the Chouinard Art Institute and the Los Angeles Conservatory."
    finding = run("unsupported_claim", input="Who guided the merger?", output=output, context=context)
    assert finding.decision == "unsure"
    assert any(e.evidence_type == "negation_flip" for e in finding.evidence)


def test_unsupported_claim_abstention_passes() -> None:
    finding = run(
        "unsupported_claim",
        input="What is the population of Lyon?",
        output="The provided documents do not mention the population of Lyon.",
        context=FRANCE,
    )
    assert finding.decision == "pass"


@pytest.mark.parametrize(
    "output",
    ["", "   ", "x" * 50, "1. 2. 3.", '"" “” ""', "Ünïcödé Ñame said “¿qué?” at 7:00 PM."],
    ids=["empty", "blank", "letters", "list-markers", "empty-quotes", "unicode"],
)
def test_unsupported_claim_odd_outputs_do_not_raise(output: str) -> None:
    finding = run("unsupported_claim", input="q", output=output, context=FRANCE)
    assert finding.decision in ("pass", "fail", "unsure")


def test_unsupported_claim_handles_a_one_megabyte_output() -> None:
    output = ('The Zorblax Institute paid 1,234,567 dollars on 12 March 1999, said "Q. Xylo". ' * 13000)[:1_000_000]
    context = (("Paris and France. " * 30000),)
    finding = run("unsupported_claim", input="q", output=output, context=context)
    assert finding.decision == "fail"


FLIGHT_ERROR = ToolCall(
    name="book_flight",
    arguments={"to": "LIS", "date": "2024-05-03"},
    status_code=503,
    error="Service Unavailable: booking backend timed out",
)


def test_fabricated_trace_event_claims_success_after_tool_error_fails() -> None:
    finding = run(
        "fabricated_trace_event",
        input="Book me the Friday flight to Lisbon.",
        output="Great news - I've booked your flight to Lisbon for Friday, May 3rd.",
        tool_calls=(FLIGHT_ERROR,),
    )
    assert finding.decision == "fail"
    assert quoted(finding, "I've booked your flight")
    assert any(e.source == "tool_calls[0]" and e.evidence_type == "tool_error" for e in finding.evidence)


def test_fabricated_trace_event_action_never_called_fails() -> None:
    calls = (ToolCall(name="search_flights", arguments={"to": "LIS"}, output={"flights": [{"id": "TP1351"}]}),)
    finding = run(
        "fabricated_trace_event",
        input="Book me the Friday flight to Lisbon.",
        output="Your flight TP1351 has been booked and the confirmation email was sent.",
        tool_calls=calls,
    )
    assert finding.decision == "fail"
    assert quoted(finding, "has been booked")
    assert finding.severity == 5.0


def test_fabricated_trace_event_search_attribution_without_matching_output_fails() -> None:
    calls = (
        ToolCall(
            name="web_search",
            arguments={"query": "Lisbon population"},
            output="Lisbon has a population of 545,923 (2021 census).",
        ),
    )
    finding = run(
        "fabricated_trace_event",
        input="How many people live in Lisbon?",
        output="The search returned a population of 2,870,000 for Lisbon.",
        tool_calls=calls,
    )
    assert finding.decision == "fail"
    assert quoted(finding, "The search returned")


@pytest.mark.parametrize(
    ("output", "calls"),
    [
        (
            "I've booked your flight TP1351 to Lisbon.",
            (ToolCall(name="book_flight", output={"status": "confirmed", "pnr": "X7Q2LM"}, status_code=200),),
        ),
        ("I couldn't book the flight: the airline system is down. Shall I try again later?", (FLIGHT_ERROR,)),
        (
            "Once I have booked the flight, I will send you the confirmation.",
            (ToolCall(name="search_flights", output={"flights": []}),),
        ),
        (
            "The search returned a population of 545,923 for Lisbon.",
            (ToolCall(name="web_search", output="Lisbon has a population of 545,923 (2021 census)."),),
        ),
    ],
    ids=["successful-call", "honest-failure", "future-conditional", "attribution-backed"],
)
def test_fabricated_trace_event_consistent_answers_pass(output: str, calls: tuple[ToolCall, ...]) -> None:
    finding = run("fabricated_trace_event", input="Help me with my Lisbon trip.", output=output, tool_calls=calls)
    assert finding.decision == "pass"


def test_fabricated_trace_event_generic_tool_is_unsure() -> None:
    calls = (ToolCall(name="call_api", arguments={"endpoint": "/v1/profile"}, output={"ok": True}),)
    finding = run(
        "fabricated_trace_event",
        input="Cancel my subscription.",
        output="I have cancelled your subscription.",
        tool_calls=calls,
    )
    assert finding.decision == "unsure"


def test_fabricated_trace_event_odd_payloads_do_not_raise() -> None:
    calls = (
        ToolCall(name="", arguments="{not json", output=["a", 1, None]),
        ToolCall(name="send_email", output=None, status_code=None, error=""),
    )
    finding = run("fabricated_trace_event", output="I've sent the email. " * 1000, tool_calls=calls)
    assert finding.decision == "pass"


@pytest.mark.parametrize("detector_id", ["unsupported_claim", "fabricated_trace_event"])
def test_hallucination_grounding_detectors_tolerate_none_and_structured_fields(detector_id: str) -> None:
    weird = Item(
        output={"answer": "Berlin"},
        input=None,
        context=(None, "Paris is the capital."),  # type: ignore[arg-type]
        tool_calls=(ToolCall(name=None, arguments=b"{", output=object(), status_code="500"),),
    )  # type: ignore[arg-type]
    assert DETECTORS[detector_id].detect(weird).decision in ("pass", "fail", "unsure")


@pytest.mark.parametrize(
    "output",
    ["The fee is \u017fix dollars.", "It costs " + "9" * 450 + " dollars."],
    ids=["long-s-number-word", "number-beyond-float-range"],
)
def test_unsupported_claim_decides_on_numbers_python_cannot_map(output: str) -> None:
    finding = run("unsupported_claim", input="What is the fee?", output=output, context=("The fee is six dollars.",))
    assert finding.decision in ("pass", "fail", "unsure") and not finding.rationale.startswith("detector error")


def test_an_index_extending_a_shared_context_index_answers_as_one_built_from_all_texts() -> None:
    from taxonomy.detectors.hallucination_grounding._entities import entities
    from taxonomy.detectors.hallucination_grounding._numbers import numbers
    from taxonomy.detectors.hallucination_grounding._support import (
        MAX_CACHED_CONTEXT_CHARS,
        SupportIndex,
        context_index,
    )

    docs = [
        "The United Nations met in Geneva on 12 March 1998; twenty delegates from the UK attended.",
        "Revenue rose 3.45% to $1,200,000 at 9:30 pm, said Dr. Maria Lopez of Acme-Corp.",
    ]
    question = "What did the Spanish delegation say about the twelve-point plan in 2001?"
    base = context_index(docs)
    assert context_index(list(docs)) is base  # memoised by the documents' text
    long_doc = ["word " * (MAX_CACHED_CONTEXT_CHARS // 5 + 1)]
    assert context_index(long_doc) is not context_index(long_doc)  # too long to keep: indexed each time
    before = (set(base.tokens), set(base.stems), len(base.bigrams), set(base.values))
    extended = SupportIndex.extending(base)
    extended.add(question)
    fresh = SupportIndex.build([*docs, question])
    assert extended.tokens == fresh.tokens and extended.stems == fresh.stems
    for part in ("bigrams", "codes", "prefixes", "acronyms", "values", "word_values", "listed_values", "times"):
        assert getattr(extended, part) == getattr(fresh, part), part
    answer = "In 2001 Spain, the UN and Maria Lopez of Acme-Corp said revenue rose 3.5% to 1.2 million, not 7%."
    for mention in numbers(answer):
        assert extended.has_value(mention) == fresh.has_value(mention), mention.text
    for mention in entities(answer):
        assert extended.entity_support(mention) == fresh.entity_support(mention), mention.text
    assert extended.has_value(next(m for m in numbers(answer) if m.text == "2001"))  # from the question
    assert (set(base.tokens), set(base.stems), len(base.bigrams), set(base.values)) == before  # base unchanged
    assert "2001" not in base.tokens and 2001.0 not in base.values
    same_doc = "".join(list(docs[0]))  # another item's copy of the document: equal, not the same object
    assert same_doc is not docs[0]
    assert extended.word_stems(same_doc) == SupportIndex.build([same_doc, docs[1]]).word_stems(same_doc)
