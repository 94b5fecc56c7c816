"""Output format violations: the answer does not have the format or schema the request asked for.

The requested format is read from item.metadata (OpenAI-style `response_format` = "json" /
{"type": "json_object"} / {"type": "json_schema", "json_schema": {...}}, or `json_schema`), from the system
prompt (or system messages) and from the user input, and only from directive phrasings ("respond in JSON",
"return a JSON object with keys a, b", "use bullet points", "no bullet points", "numbered list", "in a
table", "answer yes or no", "respond only with the code", "wrap the answer in <answer></answer> tags").
Checks: strict JSON must parse as a whole (one fenced ```json block is accepted unless markdown/fences were
ruled out or JSON mode was set at the API level, where the raw content is parsed; JSON wrapped in prose
fails); "write/convert to JSON" only needs parseable JSON somewhere; a
schema is checked on a small subset (type, required, properties, items, enum, const, additionalProperties
false, min/maxItems); lists, tables, yes/no openings, code-only answers and required tags are checked on
the Markdown structure (code blocks masked). Metric `format_validity` (1.0/0.0) is emitted when a format
was requested and the decision is pass or fail.
Not this detector: length limits of any kind ("in 50 words or fewer", "one sentence"), language, keyword
and item-count constraints, which are task_constraint_violation's (the catalogue defines length as a task
constraint), so that one miss is not tagged twice.
Blind spots: formats described only by example, conditional formats ("if you call a tool, use <tool>"),
schemas using $ref/anyOf/oneOf, non-Markdown lists, yes/no answers in other languages.
"""

from __future__ import annotations

from taxonomy.detectors.instruction_compliance._format_checks import CHECKS, Context, Violation
from taxonomy.detectors.instruction_compliance._format_requests import (
    FormatRequest,
    metadata_requests,
    request_sources,
    text_requests,
)
from taxonomy.model import Evidence, Finding, Item
from taxonomy.registry import detector
from taxonomy.text import snippet, truncate


def requested_formats(item: Item) -> list[FormatRequest]:
    """Every format the item's metadata, system prompt and input ask for."""
    requests = metadata_requests(item.metadata)
    for source, text in request_sources(item):
        for request in text_requests(source, text):
            if request.kind in ("json", "json_schema") and any(r.kind == request.kind for r in requests):
                continue  # the API-level request is the authoritative one
            requests.append(request)
    return requests


def _evidence(violations: list[Violation], output: str) -> tuple[Evidence, ...]:
    evidence: list[Evidence] = []
    quoted: set[tuple[str, str]] = set()
    for v in violations:
        key = (v.request.source, v.request.quote)
        if key not in quoted:
            quoted.add(key)
            evidence.append(
                Evidence(
                    evidence_type="format_request",
                    description=f"Requested format: {v.request.kind}"
                    f"{' (strict)' if v.request.kind == 'json' and v.request.strict else ''}.",
                    source=v.request.source,
                    content_snippet=truncate(v.request.quote, 300),
                )
            )
        start, end = v.span
        evidence.append(
            Evidence(
                evidence_type=v.kind,
                description=v.description,
                source="output",
                content_snippet=snippet(output, start, end),
                confidence=v.confidence,
                metadata={"start": start, "end": end, "format": v.request.kind},
            )
        )
    return tuple(evidence)


@detector("output_format_violation", needs=("output",))
def detect(item: Item) -> Finding:
    output = item.output if isinstance(item.output, str) else str(item.output)
    requests = requested_formats(item)
    if not requests:
        return Finding.passed(
            "No output format was requested (metadata, system prompt and input checked).", confidence=0.7
        )
    ctx = Context(output)
    violations = [v for r in requests if (v := CHECKS[r.kind](r, ctx)) is not None]
    kinds = ", ".join(sorted({r.kind for r in requests}))
    hard = [v for v in violations if v.hard]
    if not violations:
        note = " (accepted one fenced ```json block)" if ctx.json_checked and ctx.json.how == "fenced" else ""
        return Finding.passed(f"Answer matches the requested format(s): {kinds}{note}.", format_validity=1.0)
    if not hard:
        return Finding(
            decision="unsure",
            severity=1.0,
            confidence=0.5,
            evidence=_evidence(violations, output),
            rationale="; ".join(v.description for v in violations) + " Close to the requested format.",
        )
    return Finding(
        decision="fail",
        severity=max(v.severity for v in hard),
        confidence=max(v.confidence for v in hard),
        evidence=_evidence(hard, output),
        rationale=f"{len(hard)} of {len(requests)} requested format(s) not met: "
        + " ".join(v.description for v in hard),
        metrics={"format_validity": 0.0},
    )
