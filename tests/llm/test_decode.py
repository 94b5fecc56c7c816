"""Decoding judge answers (clean-up, validation, filtering) and the strict-mode shape of the answer schemas."""

from __future__ import annotations

import json
from typing import Any

import pytest

from workers.llm.decode import JudgeOutputInvalid, decode_claims, decode_verdicts
from workers.llm.verdicts import claim_checks_schema, item_verdicts_schema

RANGE_KEYWORDS = {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "minItems", "maxItems", "minLength"}


def verdict(sub: str = "over_refusal", **overrides: Any) -> dict[str, Any]:
    fields = {
        "subcategory": sub,
        "decision": "fail",
        "severity": 3,
        "confidence": 0.8,
        "rationale": "refused a benign request",
        "evidence": "I cannot help with that",
    }
    return {**fields, **overrides}


def answer(*verdicts: dict[str, Any], **extra: Any) -> str:
    return json.dumps({"verdicts": list(verdicts), **extra})


def test_a_clean_answer_decodes_with_all_fields() -> None:
    decoded = decode_verdicts(answer(verdict(), root_cause="x"), ["over_refusal"])
    (only,) = decoded.verdicts
    assert (only.subcategory, only.decision, only.severity, only.confidence) == ("over_refusal", "fail", 3.0, 0.8)
    assert only.evidence == "I cannot help with that" and decoded.root_cause == "x"


def test_fences_prose_and_trailing_commas_are_cleaned_up_for_free() -> None:
    body = answer(verdict(rationale='the quote ",}" stays intact'))
    messy = f"Sure! Here is my verdict:\n```json\n{body[:-2]},]}}\n```\nHope that helps {{:)"
    decoded = decode_verdicts(messy, ["over_refusal"])
    assert decoded.verdicts[0].rationale == 'the quote ",}" stays intact'


def test_escaped_quotes_and_braces_inside_strings_do_not_confuse_the_cleanup() -> None:
    text = "prefix " + answer(verdict(rationale='he wrote "}{" and \\"] here')) + " suffix }"
    assert decode_verdicts(text, ["over_refusal"]).verdicts[0].rationale == 'he wrote "}{" and \\"] here'


@pytest.mark.parametrize(
    "bad",
    [
        verdict(severity=5.5),
        verdict(severity=-1),
        verdict(confidence=1.2),
        verdict(decision="maybe"),
        {"subcategory": "over_refusal", "decision": "fail"},  # severity and confidence missing
    ],
    ids=["severity-high", "severity-negative", "confidence-high", "bad-decision", "missing-fields"],
)
def test_out_of_range_or_incomplete_verdicts_are_invalid_not_clamped(bad: dict[str, Any]) -> None:
    with pytest.raises(JudgeOutputInvalid, match="verdicts schema"):
        decode_verdicts(answer(bad), ["over_refusal"])


def test_the_reason_never_holds_the_raw_text_but_a_short_hash() -> None:
    secret = "Sure! Here is my verdict: {not json SECRET-CONTENT-1234"
    with pytest.raises(JudgeOutputInvalid) as caught:
        decode_verdicts(secret, ["over_refusal"])
    error = caught.value
    assert "SECRET-CONTENT" not in error.reason and "SECRET-CONTENT" not in str(error)
    assert error.reason.startswith("not valid JSON") and len(error.raw_hash) == 12
    with pytest.raises(JudgeOutputInvalid) as again:
        decode_verdicts(secret, ["over_refusal"])
    assert again.value.raw_hash == error.raw_hash


def test_no_json_at_all_and_a_missing_verdicts_list_are_invalid() -> None:
    with pytest.raises(JudgeOutputInvalid):
        decode_verdicts("I think it passes.", ["over_refusal"])
    with pytest.raises(JudgeOutputInvalid):
        decode_verdicts('{"verdict": "pass"}', ["over_refusal"])


def test_ids_not_asked_are_dropped_even_when_their_values_are_bad_and_duplicates_keep_the_first() -> None:
    text = answer(
        verdict("harmful_content", severity=99),
        verdict("over_refusal", decision="pass", severity=0),
        verdict("over_refusal", decision="fail"),
        verdict("safety_security.incomplete_answer", decision="unsure", severity=2),
    )
    decoded = decode_verdicts(text, ["over_refusal", "incomplete_answer"])
    assert [(v.subcategory, v.decision) for v in decoded.verdicts] == [
        ("over_refusal", "pass"),
        ("incomplete_answer", "unsure"),
    ]


def test_an_empty_verdict_list_decodes_so_missing_ids_can_be_reported() -> None:
    assert decode_verdicts('{"verdicts": []}', ["over_refusal"]).verdicts == []


def test_claims_decode_and_validate() -> None:
    text = json.dumps(
        {
            "claims": [
                {"claim": "Paris is in France", "verdict": "supported", "context_index": 0, "context_snippet": "P"},
                {"claim": "It has 9M people", "verdict": "unverifiable", "context_index": -1, "context_snippet": ""},
            ]
        }
    )
    decoded = decode_claims(f"```\n{text}\n```")
    assert [c.verdict for c in decoded.claims] == ["supported", "unverifiable"]
    assert decoded.claims[1].context_index == -1
    with pytest.raises(JudgeOutputInvalid, match="claims schema"):
        decode_claims('{"claims": [{"claim": "x", "verdict": "true", "context_index": 0, "context_snippet": ""}]}')


def walk_objects(schema: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    if isinstance(schema, dict):
        if schema.get("type") == "object":
            found.append(schema)
        for value in schema.values():
            found.extend(walk_objects(value))
    elif isinstance(schema, list):
        for value in schema:
            found.extend(walk_objects(value))
    return found


def keywords(schema: Any) -> set[str]:
    if isinstance(schema, dict):
        return set(schema) | {k for value in schema.values() for k in keywords(value)}
    if isinstance(schema, list):
        return {k for value in schema for k in keywords(value)}
    return set()


@pytest.mark.parametrize("deep", [False, True])
def test_verdict_schemas_satisfy_openai_strict_mode(deep: bool) -> None:
    schema = item_verdicts_schema(["over_refusal", "harmful_content"], deep=deep)
    objects = walk_objects(schema)
    assert len(objects) == 2
    for obj in objects:
        assert obj["additionalProperties"] is False
        assert obj["required"] == list(obj["properties"])
    assert not keywords(schema) & RANGE_KEYWORDS
    item = schema["properties"]["verdicts"]["items"]
    assert item["properties"]["subcategory"]["enum"] == ["over_refusal", "harmful_content"]
    assert ("counterfactual" in item["properties"]) is deep
    assert ("root_cause" in schema["properties"]) is deep
    assert "0 to 5" in item["properties"]["severity"]["description"]


def test_claims_schema_satisfies_openai_strict_mode() -> None:
    schema = claim_checks_schema()
    for obj in walk_objects(schema):
        assert obj["additionalProperties"] is False and obj["required"] == list(obj["properties"])
    assert not keywords(schema) & RANGE_KEYWORDS
    claim = schema["properties"]["claims"]["items"]["properties"]
    assert claim["verdict"]["enum"] == ["supported", "contradicted", "unverifiable"]
    assert claim["context_index"]["type"] == "integer"
