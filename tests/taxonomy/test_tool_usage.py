"""Tests of the tool_usage detectors: invalid calls, wrong tool, redundant calls, unhandled errors.

Traces are modelled on real agent runs (TRAIL's smolagents GAIA traces: page_down called with {"": ""},
inspect_file_as_text on a missing file, web_search "No results found"; OpenAI-style tool specs).
"""

from __future__ import annotations

import pytest

from taxonomy.model import Item, ToolCall
from taxonomy.registry import discover

DETECTORS = discover()


def spec(name: str, properties: dict, **schema: object) -> dict:
    """An OpenAI function-tool spec."""
    parameters = {"type": "object", "properties": properties, **schema}
    return {"type": "function", "function": {"name": name, "parameters": parameters}}


CITY = {"city": {"type": "string"}, "days": {"type": "integer"}}
UNITS = {"units": {"type": "string", "enum": ["celsius", "fahrenheit"]}}
WEATHER_TOOLS = [
    spec("get_weather", {**CITY, **UNITS}, required=["city"], additionalProperties=False),
    spec("web_search", {"query": {"type": "string"}}),
]
PAGE_ONE = (
    "Address: https://en.wikipedia.org/wiki/Lego\nViewport position: Showing page 1 of 5.\nLego is a line of toys"
)
NYY = "https://www.baseball-reference.com/teams/NYY/1977.shtml"
API = "https://api.example.com/v1"
KWARG_ERROR = "TypeError: PageDownTool.forward() got an unexpected keyword argument ''"
PAGE_TWO = "Address: https://en.wikipedia.org/wiki/Lego\nViewport position: Showing page 2 of 5.\nIn 1958 the brick was"


def detect(subcategory: str, *calls: ToolCall, output: str = "It is 18°C in Paris.", **fields) -> object:
    item = Item(input="What's the weather in Paris?", output=output, tool_calls=calls, **fields)
    return DETECTORS[subcategory].detect(item)


# invalid_tool_call


@pytest.mark.parametrize(
    ("arguments", "evidence_type", "quoted"),
    [
        ({"units": "celsius"}, "missing_required", "celsius"),
        ({"city": 75001}, "wrong_type", "75001"),
        ({"city": "Paris", "country": "FR"}, "unknown_property", "country"),
        ({"city": "Paris", "units": "kelvin"}, "not_in_enum", "kelvin"),
        ('{"city": "Paris", "units": "celsius"', "unparseable_arguments", "Paris"),
        ({"city": "Paris", "days": "3"}, "wrong_type", '"3"'),
    ],
    ids=["missing-required", "wrong-type", "unknown-property", "enum", "broken-json", "string-for-integer"],
)
def test_invalid_tool_call_schema_violations(arguments: object, evidence_type: str, quoted: str) -> None:
    call = ToolCall(name="get_weather", arguments=arguments, output={"temp_c": 18})
    finding = detect("invalid_tool_call", call, metadata={"tools": WEATHER_TOOLS})
    assert finding.decision == "fail"
    evidence = [e for e in finding.evidence if e.evidence_type == evidence_type]
    assert evidence, [e.evidence_type for e in finding.evidence]
    assert evidence[0].source == "tool_calls[0]"
    assert quoted in evidence[0].content_snippet


def test_invalid_tool_call_trail_page_down_with_empty_key() -> None:
    search = ToolCall(name="web_search", arguments={"query": "Lego wikipedia 2022"}, output=PAGE_ONE)
    page_down = ToolCall(name="page_down", arguments={"": ""}, error=KWARG_ERROR)
    finding = detect("invalid_tool_call", search, page_down)
    assert finding.decision == "fail"
    assert {e.evidence_type for e in finding.evidence} == {"empty_argument_name", "argument_error"}
    assert all(e.source == "tool_calls[1]" for e in finding.evidence)
    assert any("unexpected keyword argument" in e.content_snippet for e in finding.evidence)


def test_invalid_tool_call_empty_name() -> None:
    finding = detect("invalid_tool_call", ToolCall(name="", arguments={"query": "x"}))
    assert finding.decision == "fail"
    assert finding.evidence[0].evidence_type == "empty_tool_name"


def test_invalid_tool_call_placeholder_without_schema_is_unsure() -> None:
    call = ToolCall(name="visit_page", arguments={"url": "<url>"}, output="Address: about:blank")
    finding = detect("invalid_tool_call", call)
    assert finding.decision == "unsure"
    assert "<url>" in finding.evidence[0].content_snippet


def test_invalid_tool_call_passes_well_formed_calls() -> None:
    calls = (
        ToolCall(name="get_weather", arguments='{"city": "Paris", "units": "celsius"}', output={"temp_c": 18}),
        ToolCall(name="web_search", arguments={"query": "Paris weather tomorrow"}, output="Sunny, 21°C"),
        ToolCall(name="python_interpreter", arguments="print(18 * 9 / 5 + 32)", output="64.4"),
    )
    assert detect("invalid_tool_call", *calls, metadata={"tools": WEATHER_TOOLS}).decision == "pass"


# wrong_tool_selection


def test_wrong_tool_selection_unknown_tool_name() -> None:
    call = ToolCall(name="search_web", arguments={"query": "Paris weather"}, output="Sunny")
    finding = detect("wrong_tool_selection", call, metadata={"tools": WEATHER_TOOLS})
    assert finding.decision == "fail"
    assert finding.evidence[0].source == "tool_calls[0]"
    assert "search_web" in finding.evidence[0].content_snippet
    assert finding.evidence[0].metadata["closest"] == "web_search"


def test_wrong_tool_selection_runtime_rejection() -> None:
    call = ToolCall(
        name="python_interpreter",
        arguments="with open('Thieme-Becker_Titel.jpg', 'wb') as f: f.write(img_data)",
        error="InterpreterError: It is not permitted to evaluate other functions than the provided tools or "
        "functions defined/imported in previous code (tried to execute open).",
    )
    finding = detect("wrong_tool_selection", call)
    assert finding.decision == "fail"
    assert "not permitted to evaluate other functions" in finding.evidence[0].content_snippet


def test_wrong_tool_selection_passes_offered_tools() -> None:
    call = ToolCall(name="Get-Weather", arguments={"city": "Paris"}, output={"temp_c": 18})
    finding = detect("wrong_tool_selection", call, metadata={"tools": WEATHER_TOOLS})
    assert finding.decision == "pass"


def test_wrong_tool_selection_without_tool_list_is_low_confidence_pass() -> None:
    finding = detect("wrong_tool_selection", ToolCall(name="get_weather", arguments={"city": "Paris"}))
    assert finding.decision == "pass"
    assert finding.confidence < 0.5


# redundant_tool_calls


def test_redundant_tool_calls_identical_search_repeated() -> None:
    results = "1. [Apple stock history](https://x) Apple first closed above $50 in 1987 ..."
    calls = (
        ToolCall(name="web_search", arguments={"query": "first year Apple stock closed above $50"}, output=results),
        ToolCall(name="visit_page", arguments={"url": "https://x"}, output=PAGE_ONE),
        ToolCall(name="web_search", arguments={"query": "first year Apple stock closed above $50"}, output=results),
    )
    finding = detect("redundant_tool_calls", *calls)
    assert finding.decision == "fail"
    assert finding.evidence[0].source == "tool_calls[2]"
    assert "first year Apple stock" in finding.evidence[0].content_snippet
    assert finding.metrics["tool_call_redundancy"] == pytest.approx(1 / 3)


def test_redundant_tool_calls_trivial_differences_count() -> None:
    calls = (
        ToolCall(name="get_weather", arguments={"city": "Paris", "units": "celsius"}, output={"temp_c": 18}),
        ToolCall(name="get_weather", arguments='{"units": "Celsius",  "city": " paris "}', output={"temp_c": 18}),
    )
    finding = detect("redundant_tool_calls", *calls)
    assert finding.decision == "fail"
    assert "trivially different" in finding.evidence[0].description


def test_redundant_tool_calls_same_failure_with_reworded_arguments() -> None:
    error = "FileNotFoundError: [Errno 2] No such file or directory: 'data/gaia/validation/f918266a.py'"
    calls = tuple(
        ToolCall(
            name="inspect_file_as_text",
            arguments={"file_path": "data/gaia/validation/f918266a.py", "question": q},
            error=error,
        )
        for q in ("Show the file.", "Please provide the complete content of the file.", "Print the code.")
    )
    finding = detect("redundant_tool_calls", *calls)
    assert finding.decision == "fail"
    assert finding.evidence[0].evidence_type == "repeated_failing_call"
    assert finding.evidence[0].metadata["repeat_indices"] == [1, 2]


def test_redundant_tool_calls_severity_grows_with_count() -> None:
    call = ToolCall(name="page_down", arguments={"": {}}, error=KWARG_ERROR)
    few = detect("redundant_tool_calls", call, call)
    many = detect("redundant_tool_calls", *([call] * 9))
    assert few.decision == many.decision == "fail"
    assert many.severity > few.severity


@pytest.mark.parametrize(
    "calls",
    [
        (
            ToolCall(name="page_down", arguments={}, output=PAGE_ONE),
            ToolCall(name="page_down", arguments={}, output=PAGE_TWO),
        ),
        (
            ToolCall(name="fetch", arguments={"url": API}, status_code=503, output="Service Unavailable"),
            ToolCall(name="fetch", arguments={"url": API}, status_code=200, output={"ok": True}),
        ),
        (
            ToolCall(name="web_search", arguments={"query": "Paris weather"}, output="Sunny"),
            ToolCall(name="web_search", arguments={"query": "Lyon weather"}, output="Rain"),
        ),
    ],
    ids=["paging-new-content", "retry-after-503", "different-queries"],
)
def test_redundant_tool_calls_passes_justified_repeats(calls: tuple[ToolCall, ...]) -> None:
    finding = detect("redundant_tool_calls", *calls)
    assert finding.decision == "pass"
    assert finding.metrics["tool_call_redundancy"] == 0.0


# unhandled_tool_error


def test_unhandled_tool_error_failure_then_success_claim() -> None:
    calls = (
        ToolCall(name="check_availability", arguments={"date": "2024-06-01"}, output={"available": True}),
        ToolCall(
            name="book_table",
            arguments={"date": "2024-06-01", "people": 4},
            status_code=503,
            output="Service Unavailable",
        ),
    )
    finding = detect("unhandled_tool_error", *calls, output="Your table for 4 has been booked for June 1st. Enjoy!")
    assert finding.decision == "fail"
    assert finding.severity > 4.0
    sources = {e.source for e in finding.evidence}
    assert sources == {"tool_calls[1]", "output"}
    claim = next(e for e in finding.evidence if e.source == "output")
    assert "has been booked" in claim.content_snippet
    assert finding.metrics["tool_success_rate"] == pytest.approx(0.5)


def test_unhandled_tool_error_no_results_then_confident_answer() -> None:
    calls = (
        ToolCall(
            name="web_search",
            arguments={"query": "L1vXCYZAYYM bird analysis maximum species timestamp"},
            error="Exception: No results found for query: 'L1vXCYZAYYM bird analysis maximum species timestamp'. "
            "Use a less specific query.",
        ),
        ToolCall(name="final_answer", arguments={"answer": "3"}, output="3"),
    )
    finding = detect("unhandled_tool_error", *calls, output="3")
    assert finding.decision == "fail"
    assert "No results found" in finding.evidence[0].content_snippet


def test_unhandled_tool_error_passes_when_acknowledged() -> None:
    call = ToolCall(name="visit_page", arguments={"url": "https://www.jstor.org/stable/j.ct21"}, output="Error 403")
    output = "I could not open the JSTOR page (access was blocked), so the page count below is unverified."
    finding = detect("unhandled_tool_error", call, output=output)
    assert finding.decision == "pass"
    assert finding.metrics["tool_success_rate"] == 0.0


def test_unhandled_tool_error_passes_after_fallback() -> None:
    calls = (
        ToolCall(name="visit_page", arguments={"url": NYY}, output="Title: Error 403\n"),
        ToolCall(name="find_archived_url", arguments={"url": NYY}, output="Reggie Jackson 1977 walks: 74"),
    )
    finding = detect("unhandled_tool_error", *calls, output="Reggie Jackson had 74 walks in 1977.")
    assert finding.decision == "pass"


def test_unhandled_tool_error_empty_result_is_unsure() -> None:
    call = ToolCall(name="lookup_order", arguments={"order_id": "A-1001"}, output=[])
    finding = detect("unhandled_tool_error", call, output="Order A-1001 is on its way.")
    assert finding.decision == "unsure"
    assert finding.evidence[0].source == "tool_calls[0]"


def test_unhandled_tool_error_all_good_reports_success_rate() -> None:
    finding = detect(
        "unhandled_tool_error", ToolCall(name="get_weather", arguments={"city": "Paris"}, output={"temp_c": 18})
    )
    assert finding.decision == "pass"
    assert finding.metrics == {"tool_success_rate": 1.0}


@pytest.mark.parametrize(
    "call",
    [
        ToolCall(),
        ToolCall(name="x", arguments=12, output=3.5),
        ToolCall(name="x", arguments="[1, 2", output={"error": ["a", "b"]}),
        ToolCall(name="x", arguments={"q": None, "": None}, output="", status_code=422),
    ],
    ids=["empty", "scalars", "broken-list-json", "nulls"],
)
def test_tool_usage_detectors_never_raise(call: ToolCall) -> None:
    for subcategory in ("invalid_tool_call", "wrong_tool_selection", "redundant_tool_calls", "unhandled_tool_error"):
        for metadata in ({}, {"tools": "not a list"}, {"tools": [None, 3, {"name": 5}]}, {"tools": WEATHER_TOOLS}):
            finding = detect(subcategory, call, call, metadata=metadata)
            assert finding.decision in ("pass", "fail", "unsure")
