"""Domain Structs of the failure taxonomy: what an analysed item is and what a detector says about it.

This is the one definition of these shapes; workers/ and app/ import them and never redefine them.
Only the stdlib and msgspec are imported here.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta

Decision = Literal["pass", "fail", "unsure"]
DetectionApproach = Literal["deterministic", "llm_judge", "hybrid"]
FeatureKind = Literal["rag", "agent", "agentic_rag", "generic_llm"]
Risk = Literal["low", "medium", "high", "critical"]
Severity = Annotated[float, Meta(ge=0.0, le=5.0)]
Confidence = Annotated[float, Meta(ge=0.0, le=1.0)]

# Inputs a subcategory or detector can need; "transcript" is the multi-step / multi-turn record.
InputName = Literal["input", "output", "context", "tool_calls", "transcript"]


class Subcategory(msgspec.Struct, frozen=True, kw_only=True):
    """One failure type of the catalogue, with the metadata the Valiqor SDK reads."""

    id: str  # bare id, unique across buckets, e.g. "unsupported_claim"
    bucket_id: str
    bucket_name: str
    name: str
    definition: str
    applies_to: tuple[str, ...]
    required_inputs: tuple[InputName, ...]
    default_impact: Annotated[int, Meta(ge=1, le=5)]
    default_risk: Risk
    detection: DetectionApproach
    related_eval_metrics: tuple[str, ...] = ()
    related_security_categories: tuple[str, ...] = ()
    benchmarks: tuple[str, ...] = ()
    source_categories: tuple[str, ...] = ()

    @property
    def full_id(self) -> str:
        return f"{self.bucket_id}.{self.id}"

    @property
    def requires_retrieval(self) -> bool:
        return "context" in self.required_inputs

    @property
    def requires_tools(self) -> bool:
        return "tool_calls" in self.required_inputs

    @property
    def minimal_mode_compatible(self) -> bool:
        """True when a plain dataset item (no full trace) carries what this subcategory needs."""
        return "transcript" not in self.required_inputs


class Bucket(msgspec.Struct, frozen=True, kw_only=True):
    """A group of subcategories (hallucination & grounding, tool use, ...)."""

    id: str
    name: str
    description: str
    subcategories: tuple[Subcategory, ...]


class SecurityCategory(msgspec.Struct, frozen=True, kw_only=True):
    """A security category (S1..S23) that security_flags and mandatory_security_categories refer to."""

    id: str
    name: str


class ToolCall(msgspec.Struct, frozen=True, kw_only=True):
    """One tool/function call an agent made, with its result as the trace recorded it."""

    name: str = ""
    arguments: Any = None  # dict, JSON string or anything the client recorded
    output: Any = None  # the tool's result: text, object, or None when it returned nothing
    status_code: int | None = None  # HTTP-like status when the tool reported one
    error: str | None = None  # error message when the call failed
    id: str | None = None


class Message(msgspec.Struct, frozen=True, kw_only=True):
    """One turn of a conversation or one step of an agent transcript."""

    role: str = "user"
    content: str = ""
    name: str | None = None


class Item(msgspec.Struct, frozen=True, kw_only=True):
    """One analysable unit: a request, its answer and everything the system had when answering."""

    index: int = 0  # 0-based position in the submitted dataset
    input: str = ""
    output: str = ""
    context: tuple[str, ...] = ()
    tool_calls: tuple[ToolCall, ...] = ()
    system_prompt: str | None = None
    messages: tuple[Message, ...] = ()  # earlier turns / transcript steps, oldest first
    expected: str | None = None
    trace_id: str | None = None
    metadata: dict[str, Any] = {}

    def has(self, name: InputName) -> bool:
        """Whether this item carries the named input."""
        if name == "input":
            return bool(self.input.strip())
        if name == "output":
            return bool(self.output.strip())
        if name == "context":
            return any(doc.strip() for doc in self.context)
        if name == "tool_calls":
            return bool(self.tool_calls)
        return bool(self.messages) or bool(self.tool_calls)

    def kinds(self, feature_kind: str) -> frozenset[str]:
        """The application kinds this item counts as, for matching a subcategory's applies_to."""
        kinds = {feature_kind}
        if feature_kind == "agentic_rag":
            kinds |= {"rag", "agent"}
        if self.messages:
            kinds.add("conversation")
        return frozenset(kinds)


class Evidence(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=False):
    """A quoted snippet that backs a decision, and where it came from."""

    evidence_type: str  # e.g. "unsupported_entity", "tool_error", "pii", "injection_phrase"
    description: str
    source: str  # "output", "input", "context[2]", "tool_calls[1]", "system_prompt", "messages[3]"
    content_snippet: str | None = None
    confidence: Confidence = 1.0
    metadata: dict[str, Any] = {}


class Finding(msgspec.Struct, frozen=True, kw_only=True):
    """What one detector concluded about one item."""

    decision: Decision
    severity: Severity = 0.0  # 0 for pass; detectors grade fails within 0-5
    confidence: Confidence = 1.0
    evidence: tuple[Evidence, ...] = ()
    rationale: str = ""
    metrics: dict[str, float] = {}  # deterministic metric values this detector computed

    @classmethod
    def passed(cls, rationale: str, *, confidence: float = 0.9, **metrics: float) -> Finding:
        return cls(decision="pass", confidence=confidence, rationale=rationale, metrics=metrics)

    @classmethod
    def unsure(cls, rationale: str, *, severity: float = 0.0, confidence: float = 0.5) -> Finding:
        return cls(decision="unsure", severity=severity, confidence=confidence, rationale=rationale)
