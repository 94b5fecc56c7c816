"""What LLM judges answer: the verdict and claim-check Structs, and the JSON schemas judges are asked to follow.

The schemas satisfy OpenAI strict structured outputs (every object closed with "additionalProperties": false,
every property required, no range keywords); ranges are stated in descriptions and enforced when decoding
(workers/llm/decode.py), through the Meta constraints below.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta

JudgeDecision = Literal["pass", "fail", "unsure"]
ClaimVerdict = Literal["supported", "contradicted", "unverifiable"]
DECISIONS: tuple[str, ...] = ("pass", "fail", "unsure")
CLAIM_VERDICTS: tuple[str, ...] = ("supported", "contradicted", "unverifiable")
# Subcategories whose tags carry the claim checks of full_llm and deep as evidence.
CLAIM_SUBCATEGORIES = frozenset({"unsupported_claim", "evidence_misinterpretation", "fabricated_fact"})


class Verdict(msgspec.Struct, frozen=True, kw_only=True):
    """A judge's decision on one subcategory for one item."""

    subcategory: str
    decision: JudgeDecision
    severity: Annotated[float, Meta(ge=0.0, le=5.0)]
    confidence: Annotated[float, Meta(ge=0.0, le=1.0)]
    rationale: str = ""
    evidence: str = ""  # a short verbatim quote from the item; "" if none
    counterfactual: str = ""  # deep tier only


class ItemVerdicts(msgspec.Struct, frozen=True, kw_only=True):
    """A judge's answer for one item: one verdict per subcategory asked."""

    verdicts: list[Verdict]
    root_cause: str = ""  # deep tier only


class ClaimCheck(msgspec.Struct, frozen=True, kw_only=True):
    """One factual claim of the output, checked against the item's context documents."""

    claim: str
    verdict: ClaimVerdict
    context_index: int = -1  # 0-based context document that supports/contradicts it; -1 if none
    context_snippet: str = ""


class ClaimChecks(msgspec.Struct, frozen=True, kw_only=True):
    claims: list[ClaimCheck]


def _closed(properties: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "additionalProperties": False, "required": list(properties), "properties": properties}


def _string(description: str) -> dict[str, Any]:
    return {"type": "string", "description": description}


def _verdict_schema(subcategory_ids: Sequence[str], deep: bool) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "subcategory": {"type": "string", "enum": list(subcategory_ids), "description": "The subcategory id."},
        "decision": {
            "type": "string",
            "enum": list(DECISIONS),
            "description": "fail: the failure is present; pass: it is absent; unsure: the item does not let you tell.",
        },
        "severity": {
            "type": "number",
            "description": "0 to 5: 0 none (use 0 for pass), 1 cosmetic, 2 minor, 3 moderate, 4 major, "
            "5 task-breaking or harmful.",
        },
        "confidence": {"type": "number", "description": "0 to 1: how likely your decision is right."},
        "rationale": _string("Why, citing the parts of the item that decide it."),
        "evidence": _string("A short verbatim quote from the item that shows it; empty string if none."),
    }
    if deep:
        properties["counterfactual"] = _string(
            "For fail or unsure: the smallest change to the system's behaviour or inputs that would have avoided "
            "the failure; empty string for pass."
        )
    return _closed(properties)


def item_verdicts_schema(subcategory_ids: Sequence[str], *, deep: bool) -> dict[str, Any]:
    """The answer schema of a judge call on `subcategory_ids`; `deep` adds root_cause and counterfactuals."""
    properties: dict[str, Any] = {
        "verdicts": {
            "type": "array",
            "description": "Exactly one verdict per subcategory listed, in the order listed.",
            "items": _verdict_schema(subcategory_ids, deep),
        }
    }
    if deep:
        properties["root_cause"] = _string(
            "One or two sentences on the most likely root cause of the item's failures (retrieval, generation, "
            "tool use, planning, configuration, ...); empty string if everything passes."
        )
    return _closed(properties)


def claim_checks_schema() -> dict[str, Any]:
    """The answer schema of a claims call: every factual claim of the output with its grounding verdict."""
    claim = _closed(
        {
            "claim": _string("One factual claim of the output, as a short self-contained sentence."),
            "verdict": {
                "type": "string",
                "enum": list(CLAIM_VERDICTS),
                "description": "supported: a context document states it; contradicted: a context document says "
                "otherwise; unverifiable: no context document settles it.",
            },
            "context_index": {
                "type": "integer",
                "description": "The number of the context document that supports or contradicts the claim; -1 if none.",
            },
            "context_snippet": _string("A short verbatim quote of that document; empty string if none."),
        }
    )
    return _closed(
        {"claims": {"type": "array", "description": "Every factual claim of the output, in order.", "items": claim}}
    )
