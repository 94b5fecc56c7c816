"""Tests of the conversation_quality detectors: degenerate or leaky output."""

from __future__ import annotations

import time

import pytest

from taxonomy.model import Finding, Item
from taxonomy.registry import discover

DETECTORS = discover()

POEM = (
    "In the land of beauty and dreams,\nThe sun shines bright and beams,\nA sky so large and blue,\n"
    "Makes my heart feel brand new.\n\nMountains tall and trees so green,\nA world so pure it seems,\n"
    "Waves crash as the seagulls glide,\nA picture perfect scene so wide."
)
AS_AN_AI = (
    "As an AI language model, I do not have personal experiences. However, I can describe how a virus spreads: "
    "it passes from one person to another through droplets, contact with contaminated surfaces, or bodily "
    "fluids, and then replicates inside the new host's cells."
)
CODE_ANSWER = (
    "Here is a function that reverses a string:\n\n```python\ndef reverse(text: str) -> str:\n"
    "    # TODO: handle None\n    return text[::-1]\n```\n\nSlicing with a negative step walks the string backwards."
)


def run(**fields: object) -> Finding:
    return DETECTORS["degenerate_output"].detect(Item(**fields))


def output_snippets(finding: Finding) -> list[str]:
    return [e.content_snippet or "" for e in finding.evidence if e.source == "output"]


@pytest.mark.parametrize(
    ("request_text", "output"),
    [
        ("Compose a short poem with the following words: beauty, dream, sun and blue.", POEM),
        ("Describe how a virus spreads.", AS_AN_AI),
        ("Write a function that reverses a string.", CODE_ANSWER),
        ("What is the capital of Australia?", "Canberra."),
    ],
    ids=["poem", "as-an-ai-language-model", "code-with-todo-comment", "one-word"],
)
def test_degenerate_output_passes_normal_answers(request_text: str, output: str) -> None:
    finding = run(input=request_text, output=output)
    assert finding.decision == "pass", finding.rationale
    assert 0.0 <= finding.metrics["output_repetition"] < 0.1


@pytest.mark.parametrize(
    ("output", "offending", "evidence_type"),
    [
        ("The refund has been issued to your card. I hope this helps!<|im_end|>\n<|im_start|>user\nthanks",
         "<|im_end|>", "special_token"),
        ("Dear {customer_name}, your order [ORDER_ID] has shipped and will arrive on Tuesday.",
         "{customer_name}", "placeholder"),
        ("Our return policy allows returns within 30 days. [Insert link to the returns portal here] "
         "Refunds take five business days.", "[Insert link", "placeholder"),
        ("Thought: I need the order status.\nAction: lookup_order\nAction Input: {\"order_id\": \"A-1043\"}\n"
         "Observation: shipped", "Thought: I need the order status", "scaffolding_leak"),
        ("Your package is on its way. It should arrive by Friday, and you will receive a tracking email "
         "once it leaves our warehouse in Denver. If it does not arrive on time, please contact our "
         "support team and mention your order number so that we can", "so that we can", "truncation"),
        ("Here is the script:\n\n```python\nimport csv\n\nwith open('orders.csv') as f:\n    for row in csv.reader(f):",
         "```python", "truncation"),
        ("Caf\u00c3\u00a9 opening hours: Monday \u00e2\u20ac\u201c Friday. We\u00e2\u20ac\u2122re closed on "
         "holidays \u00e2\u20ac\u201d see the site.", "Caf", "garbled_text"),
    ],
    ids=["special-token", "template-variables", "insert-here", "react-scaffolding", "mid-sentence",
         "unclosed-fence", "mojibake"],
)  # fmt: skip
def test_degenerate_output_flags(output: str, offending: str, evidence_type: str) -> None:
    finding = run(input="Where is my order A-1043?", output=output)
    assert finding.decision == "fail", finding.rationale
    matching = [e for e in finding.evidence if e.evidence_type == evidence_type]
    assert matching and all(e.source == "output" for e in matching)
    assert any(offending in (e.content_snippet or "") for e in matching)


def test_degenerate_output_flags_loop_and_reports_repetition() -> None:
    loop = "I apologize for the confusion, let me check that for you. " * 12
    finding = run(input="Where is my order?", output="Let me look into it. " + loop)
    assert finding.decision == "fail"
    assert finding.evidence[0].evidence_type == "loop"
    assert "I apologize for the confusion" in (finding.evidence[0].content_snippet or "")
    assert finding.metrics["output_repetition"] > 0.7


def test_degenerate_output_flags_finish_reason_length() -> None:
    finding = run(
        input="Summarize the report.",
        output="The report covers revenue, costs and the hiring plan for the next two quarters.",
        metadata={"finish_reason": "length"},
    )
    assert finding.decision == "fail"
    assert "finish_reason" in finding.rationale
    assert any("hiring plan" in s for s in output_snippets(finding))


def test_degenerate_output_flags_bare_tool_call_json() -> None:
    finding = run(
        input="What's the weather in Lyon?",
        output='{"name": "get_weather", "arguments": {"city": "Lyon", "unit": "celsius"}}',
    )
    assert finding.decision == "fail"
    assert any('"get_weather"' in s for s in output_snippets(finding))


def test_degenerate_output_accepts_requested_json_with_name_key() -> None:
    finding = run(
        input='Return a JSON object with keys name and arguments describing the CLI command "ls -la".',
        output='{"name": "ls", "arguments": ["-la"]}',
    )
    assert finding.decision == "pass", finding.rationale


def test_degenerate_output_placeholders_in_requested_template_are_unsure() -> None:
    finding = run(
        input="Create a cover page for the following report.\nReport name: The Future of Machine Learning",
        output="The Future of Machine Learning\n\n[Insert image or logo here]\n\nPrepared by the research group",
    )
    assert finding.decision == "unsure"


def test_degenerate_output_does_not_flag_tokens_the_user_asked_about() -> None:
    finding = run(
        input="What does the <|endoftext|> token mean in GPT-2?",
        output="In GPT-2, <|endoftext|> marks the boundary between documents in the training data.",
    )
    assert finding.decision == "pass", finding.rationale


@pytest.mark.parametrize(
    "adversarial",
    ["a " * 500_000, "```\n" * 250_000, '{"a": "' + 'x\\"' * 330_000, "\n \n" * 330_000, "[insert " * 125_000],
    ids=["one-word-loop", "fences", "escaped-quotes", "blank-lines", "brackets"],
)
def test_degenerate_output_is_fast_on_one_megabyte(adversarial: str) -> None:
    start = time.perf_counter()
    finding = run(input="Summarize.", output=adversarial)
    assert time.perf_counter() - start < 2.0
    assert finding.decision in ("pass", "fail", "unsure")
