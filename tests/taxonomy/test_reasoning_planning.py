"""Tests of the reasoning_planning detectors: loops, termination, inefficiency and checkable calculations.

Transcripts are modelled on real multi-agent logs (Magentic-One orchestrators re-issuing the same
instruction, OpenManus "Terminated: Reached max steps", AG2 replies that end with "Let's run this code"),
TRAIL tool sequences and HaluEval-style answers with arithmetic.
"""

from __future__ import annotations

import pytest

from taxonomy.model import Item, Message, ToolCall
from taxonomy.registry import discover

DETECTORS = discover()

SEARCH = ToolCall(name="web_search", arguments={"query": "USGS clownfish"}, output="1. [NAS - A. ocellaris]")
VISIT = ToolCall(name="visit_page", arguments={"url": "https://nas.er.usgs.gov/x"}, output="Title: Error 403\n")
RECURSION = "GraphRecursionError: Recursion limit of 25 reached without hitting a stop condition."
BATCHABLE = {"user_id": {"type": "integer"}, "user_ids": {"type": "array"}}


def detect(subcategory: str, output: str = "The answer is 34689.", **fields) -> object:
    return DETECTORS[subcategory].detect(Item(input="Where was the clownfish found?", output=output, **fields))


# repetition_loop


def test_repetition_loop_search_visit_cycle() -> None:
    finding = detect("repetition_loop", tool_calls=(SEARCH, VISIT) * 3)
    assert finding.decision == "fail"
    assert finding.evidence[0].source == "tool_calls[2]"
    assert finding.evidence[0].metadata["period"] == 2
    assert "web_search" in finding.evidence[0].content_snippet and "visit_page" in finding.evidence[0].content_snippet


def test_repetition_loop_same_failing_step() -> None:
    stuck = ToolCall(
        name="page_down",
        arguments={"page_down": {}},
        error="TypeError: PageDownTool.forward() got an unexpected keyword argument 'page_down'",
    )
    finding = detect("repetition_loop", tool_calls=(SEARCH, stuck, stuck, stuck, stuck))
    assert finding.decision == "fail"
    assert finding.evidence[0].metadata == {"start": 1, "period": 1, "repeats": 4}


def test_repetition_loop_orchestrator_repeats_instruction() -> None:
    instruction = (
        "Please continue scrolling down in the Astronomy Picture of the Day archive to locate the first week "
        "of August 2015 and identify the city shown in the image on the horizon."
    )
    messages = []
    for _ in range(3):
        messages.append(Message(role="Orchestrator (-> WebSurfer)", content=instruction))
        messages.append(
            Message(role="WebSurfer", content="I scrolled down one page in the browser. The viewport shows 2014.")
        )
    finding = detect("repetition_loop", messages=tuple(messages))
    assert finding.decision == "fail"
    assert finding.evidence[0].source == "messages[0]"
    assert "Astronomy Picture of the Day" in finding.evidence[0].content_snippet


def test_repetition_loop_two_passes_only_is_unsure() -> None:
    finding = detect("repetition_loop", tool_calls=(SEARCH, VISIT, SEARCH, VISIT))
    assert finding.decision == "unsure"


@pytest.mark.parametrize(
    "fields",
    [
        {
            "tool_calls": tuple(
                ToolCall(name="page_down", arguments={}, output=f"Viewport position: page {i} of 9") for i in range(6)
            )
        },
        {"tool_calls": (SEARCH, VISIT, ToolCall(name="final_answer", arguments={"answer": "Fred Howard Park"}))},
        {"messages": (Message(role="assistant", content="OK"),) * 5},
    ],
    ids=["paging-progress", "distinct-steps", "short-acknowledgements"],
)
def test_repetition_loop_passes_progress(fields: dict) -> None:
    assert detect("repetition_loop", **fields).decision == "pass"


# termination_error


@pytest.mark.parametrize(
    ("fields", "source", "quoted"),
    [
        ({"output": "Agent stopped due to iteration limit or time limit."}, "output", "iteration limit"),
        (
            {
                "output": "The total is still unknown.",
                "messages": (
                    Message(role="assistant", content="Step 20: Observed output of cmd `python_execute` executed"),
                    Message(role="system", content="Terminated: Reached max steps (20)"),
                ),
            },
            "messages[1]",
            "Reached max steps",
        ),
        (
            {
                "output": "Partial result.",
                "tool_calls": (ToolCall(name="graph", error=RECURSION),),
            },
            "tool_calls[0]",
            "Recursion limit of 25 reached",
        ),
    ],
    ids=["langchain", "openmanus-message", "langgraph-tool-error"],
)
def test_termination_error_step_limit(fields: dict, source: str, quoted: str) -> None:
    finding = detect("termination_error", **fields)
    assert finding.decision == "fail"
    assert finding.evidence[0].source == source
    assert quoted in finding.evidence[0].content_snippet


def test_termination_error_empty_final_answer_after_tools() -> None:
    finding = detect("termination_error", output="None", tool_calls=(SEARCH, VISIT))
    assert finding.decision == "fail"
    assert finding.evidence[0].evidence_type == "missing_final_answer"


@pytest.mark.parametrize(
    ("output", "quoted"),
    [
        (
            "I found the quicksort snippet in the repository. Let's execute this script and see if we can "
            "locate the C++ code.",
            "Let's execute this script",
        ),
        ("The Q3 figures are in the report. I will now calculate the total revenue for Q3.", "I will now calculate"),
        ("Here are the eateries open until 11 PM on Wednesdays:", "Here are the eateries"),
    ],
    ids=["lets-execute", "will-now-calculate", "dangling-colon"],
)
def test_termination_error_premature_ending(output: str, quoted: str) -> None:
    finding = detect("termination_error", output=output)
    assert finding.decision == "fail"
    assert finding.evidence[0].source == "output"
    assert quoted in finding.evidence[0].content_snippet


def test_termination_error_plan_only_is_unsure() -> None:
    output = (
        "Here is my plan:\n1. Search the USGS NAS database for Amphiprion ocellaris.\n"
        "2. Open the species profile and read the occurrence records.\n3. Extract the zip codes."
    )
    assert detect("termination_error", output=output).decision == "unsure"


@pytest.mark.parametrize(
    "output",
    [
        "The clownfish was found at Fred Howard Park, zip code 34689.",
        "Your refund has been issued. Let me know if you need anything else!",
        "To reset the router, follow these steps:\n1. Unplug it.\n2. Wait 30 seconds.\n3. Plug it back in.",
        "I will not share the access code.",
        "```python\nprint('done')\n```",
    ],
    ids=["answer", "closing-offer", "user-instructions", "refusal", "closed-code-block"],
)
def test_termination_error_passes_complete_outputs(output: str) -> None:
    assert detect("termination_error", output=output, tool_calls=(SEARCH,)).decision == "pass"


# inefficient_execution


def test_inefficient_execution_unbatched_lookups() -> None:
    calls = tuple(
        ToolCall(name="get_user", arguments={"user_id": 1000 + i}, output={"name": f"user {i}"}) for i in range(6)
    )
    tools = [{"name": "get_user", "parameters": {"type": "object", "properties": BATCHABLE}}]
    finding = detect("inefficient_execution", tool_calls=calls, metadata={"tools": tools})
    assert finding.decision == "fail"
    assert finding.severity <= 3.0
    assert finding.evidence[0].evidence_type == "unbatched_lookups"
    assert finding.evidence[0].source == "tool_calls[0]"
    assert "1000" in finding.evidence[0].content_snippet


def test_inefficient_execution_query_thrashing() -> None:
    queries = [
        "Ben & Jerry's flavor graveyard oldest flavor headstone 2022",
        "Ben & Jerry's flavor graveyard oldest headstone rhyme 2022",
        "Ben & Jerry's online flavor graveyard oldest flavor headstone",
        "Ben & Jerry's flavor graveyard headstone rhyme last line",
        "Ben & Jerry's flavor graveyard oldest flavor headstone photo",
        "Ben & Jerry's graveyard oldest flavor headstone inscription",
    ]
    calls = tuple(ToolCall(name="web_search", arguments={"query": q}, output=f"results for {q}") for q in queries)
    finding = detect("inefficient_execution", tool_calls=calls)
    assert finding.decision == "fail"
    assert finding.evidence[0].evidence_type == "query_thrashing"
    assert "flavor graveyard" in finding.evidence[0].content_snippet


def test_inefficient_execution_long_paging_is_unsure() -> None:
    calls = tuple(
        ToolCall(name="page_down", arguments={}, output=f"Viewport position: Showing page {i} of 129.")
        for i in range(12)
    )
    assert detect("inefficient_execution", tool_calls=calls).decision == "unsure"


def test_inefficient_execution_passes_short_focused_run() -> None:
    find = ToolCall(name="find_on_page_ctrl_f", arguments={"search_string": "Florida"}, output="Fred Howard Park")
    assert detect("inefficient_execution", tool_calls=(SEARCH, VISIT, find)).decision == "pass"


# logic_error


@pytest.mark.parametrize(
    ("output", "quoted", "computed"),
    [
        ("Adding the two orders gives 12 + 7 = 21 items in total.", "12 + 7 = 21", "19"),
        ("The discount is 15% of 200 is 40 dollars, so you pay 160.", "15% of 200 is 40", "30"),
        ("Each shelf holds 3 x 4 = 13 boxes.", "3 x 4 = 13", "12"),
        ("The dot product is 2*4 + 3*6 = 20.", "2*4 + 3*6 = 20", "26"),
        ("The flight lasts 3 hours = 120 minutes.", "3 hours = 120 minutes", "180"),
        ("Budget:\n- Rent: $1,200\n- Food: $300\n- Transport: $150\nTotal: $1,750", "Total: $1,750", "1650"),
        ("Examples equal to 36: (2 x 3)^3 = 36 and 9 + 27 = 36.", "(2 x 3)^3 = 36", "216"),
    ],
    ids=["sum", "percent", "times", "dot-product", "unit-conversion", "listed-total", "power"],
)
def test_logic_error_wrong_calculation(output: str, quoted: str, computed: str) -> None:
    finding = detect("logic_error", output=output)
    assert finding.decision == "fail"
    assert finding.evidence[0].source == "output"
    assert quoted in finding.evidence[0].content_snippet
    assert finding.evidence[0].metadata["computed"] == computed


@pytest.mark.parametrize(
    "output",
    [
        "Adding the two orders gives 12 + 7 = 19 items in total.",
        "10 / 3 = 3.33, and 1 mile is about 1.6 km.",
        "The Q3 window (2019-2020 = FY20) covers pages 10-12 = the appendix.",
        "COVID-19 = a coronavirus disease; see v2 = latest release.",
        "Plugging in: 25 + 25 = 49\n\n50 = 49 (not true), so the triangle is not right-angled.",
        "1,200 + 300 = 1,500 and 2 + 3 = 5 + 1 = 6.",
    ],
    ids=["correct-sum", "rounded", "ranges", "glued-identifiers", "marked-false", "thousands-and-running-total"],
)
def test_logic_error_passes_correct_or_unjudgeable(output: str) -> None:
    assert detect("logic_error", output=output).decision == "pass"


def test_logic_error_nothing_checkable_says_so() -> None:
    finding = detect("logic_error", output="The clownfish was found at Fred Howard Park.")
    assert finding.decision == "pass"
    assert finding.confidence < 0.5
    assert "No checkable" in finding.rationale


# robustness and speed


@pytest.mark.parametrize(
    "output",
    [
        "1 + " * 250_000 + "= 5",
        "= " * 500_000,
        "5% of 5 is " * 100_000,
        "- item: $5\n" * 90_000 + "Total: $3",
        "I will now " * 100_000,
        "```" * 300_000,
    ],
    ids=["long-sum", "equals", "percent", "bullets", "intent", "fences"],
)
def test_reasoning_planning_detectors_decide_on_adversarial_output(output: str) -> None:
    item = Item(
        input="q",
        output=output,
        tool_calls=(ToolCall(name="t", arguments={"q": output[:2000]}, output=output),) * 3,
        messages=(Message(role="assistant", content=output),) * 3,
    )
    for subcategory in ("repetition_loop", "termination_error", "inefficient_execution", "logic_error"):
        finding = DETECTORS[subcategory].detect(item)
        assert finding.decision in ("pass", "fail", "unsure")
