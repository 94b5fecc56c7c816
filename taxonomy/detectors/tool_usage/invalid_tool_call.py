"""Malformed tool calls: empty tool names, unparseable JSON arguments, missing or placeholder values, schema
violations, and tool errors that say the arguments were invalid.

Per call it checks: the name is not empty; string arguments that look like JSON ({... or [...) parse; dict
arguments have no empty key ({"": ""}); the tool error, if any, is an argument error (400/422, "got an
unexpected keyword argument", "missing 1 required positional argument", "invalid parameter", validation
errors — via the shared classifier in system_execution/_tool_errors.py).

Metadata read (all optional):
    item.metadata["tools"]: the tool specs offered to the model, as a list of OpenAI function specs
        ({"type": "function", "function": {"name", "description", "parameters"}}), flat specs ({"name",
        "parameters"}), Anthropic/MCP specs ({"name", "input_schema"/"inputSchema"}), or a {name: spec}
        mapping. When a called tool has a parameters JSON schema, its arguments are checked for missing
        required properties (or null ones), undeclared properties, wrong JSON types and enum violations
        (_schema.py); arguments that are not a JSON object at all are reported too.
Without a schema, values left None/empty or filled with placeholders ("<url>", "YOUR_API_KEY", "TODO")
under argument names that are normally required (query, url, path, id, ...) are a weak signal (unsure).
Blind spots: values that are well-formed but contradict the conversation (wrong date, wrong user id) need
a judge; schema keywords beyond type/properties/required/enum/items are ignored.
"""

from __future__ import annotations

import re
from typing import Any

from taxonomy.detectors.system_execution._tool_errors import classify_calls
from taxonomy.detectors.tool_usage._schema import check
from taxonomy.detectors.tool_usage._tool_args import call_preview, name_key, parse_arguments, tool_specs
from taxonomy.model import Evidence, Finding, Item, ToolCall
from taxonomy.registry import detector

DEFAULT_IMPACT = 3
FAIL_CONFIDENCE = 0.75  # evidence at least this sure makes a fail; weaker evidence only an unsure
MAX_EVIDENCE = 10
REQUIRED_LOOKING_KEYS = frozenset(
    {
        *("query", "q", "search_query", "question", "prompt", "text", "input", "url", "uri", "link"),
        *("path", "file_path", "filepath", "filename", "file", "id", "user_id", "order_id", "item_id"),
        *("record_id", "name", "command", "cmd", "code", "expression", "location", "city", "address"),
        *("email", "to", "recipient", "date", "start_date", "end_date", "symbol", "ticker"),
    }
)
PLACEHOLDER_RE = re.compile(
    r"<[^<>\n]{1,40}>|\{\{?[^{}\n]{1,40}\}?\}|your[_ -][\w-]{1,30}|todo|tbd|\.{3}|…|x{3,}|placeholder"
    r"|string|insert[_ ][\w ]{1,30}|example\.com/?|undefined",
    re.IGNORECASE,
)


def _evidence(index: int, call: ToolCall, kind: str, message: str, confidence: float, **meta: Any) -> Evidence:
    return Evidence(
        evidence_type=kind,
        description=f"{call.name or '<unnamed tool>'}: {message}",
        source=f"tool_calls[{index}]",
        content_snippet=call_preview(call),
        confidence=confidence,
        metadata={"tool": call.name, **meta},
    )


def _heuristic_values(index: int, call: ToolCall, arguments: dict[str, Any]) -> list[Evidence]:
    found = []
    for key, value in arguments.items():
        name = str(key).strip().casefold()
        if name not in REQUIRED_LOOKING_KEYS:
            continue
        if value is None or (isinstance(value, str) and not value.strip()):
            found.append(_evidence(index, call, "missing_argument_value", f"'{key}' is empty", 0.6, path=key))
        elif isinstance(value, str) and PLACEHOLDER_RE.fullmatch(value.strip()):
            message = f"'{key}' holds a placeholder ({value.strip()[:40]!r})"
            found.append(_evidence(index, call, "placeholder_argument", message, 0.65, path=key))
    return found


def _argument_evidence(index: int, call: ToolCall, schema: dict[str, Any] | None) -> list[Evidence]:
    found: list[Evidence] = []
    if not call.name.strip():
        found.append(_evidence(index, call, "empty_tool_name", "the call has no tool name", 0.95))
    value, parsed = parse_arguments(call.arguments)
    raw = call.arguments.strip() if isinstance(call.arguments, str) else ""
    if not parsed and raw[:1] in ("{", "["):
        found.append(_evidence(index, call, "unparseable_arguments", "arguments are not valid JSON", 0.95))
        return found
    has_properties = isinstance(schema, dict) and bool(schema.get("properties"))
    if not parsed and has_properties:
        message = "arguments are free text, but the tool expects a JSON object"
        found.append(_evidence(index, call, "non_object_arguments", message, 0.8))
        return found
    if isinstance(value, dict) and any(not str(k).strip() for k in value):
        found.append(_evidence(index, call, "empty_argument_name", "an argument has an empty name", 0.85))
    if isinstance(schema, dict) and parsed:
        for problem in check(value if value is not None else {}, schema):
            found.append(_evidence(index, call, problem.kind, problem.message, problem.confidence, path=problem.path))
    elif isinstance(value, dict):
        found.extend(_heuristic_values(index, call, value))
    return found


@detector("invalid_tool_call", needs=("tool_calls",))
def detect(item: Item) -> Finding:
    calls = item.tool_calls
    specs = {name_key(name): schema for name, schema in (tool_specs(item.metadata) or {}).items()}
    evidence: list[Evidence] = []
    errored: set[int] = set()
    bad: set[int] = set()
    for index, call in enumerate(calls):
        found = _argument_evidence(index, call, specs.get(name_key(call.name)))
        if found:
            bad.add(index)
            evidence.extend(found)
    for err in classify_calls(calls):
        if err is not None and err.detail == "invalid_arguments":
            errored.add(err.index)
            bad.add(err.index)
            evidence.append(err.evidence(calls[err.index], "argument_error"))
    evidence.sort(key=lambda e: -e.confidence)
    strong = [e for e in evidence if e.confidence >= FAIL_CONFIDENCE]
    bad_calls = sorted(bad)
    if not evidence:
        checked = sum(1 for call in calls if name_key(call.name) in specs)
        note = f"; {checked} checked against their schema" if checked else ""
        return Finding.passed(f"All {len(calls)} tool calls are well-formed{note}.", confidence=0.8)
    names = ", ".join(sorted({calls[i].name or "<unnamed>" for i in bad_calls}))
    if not strong:
        return Finding(
            decision="unsure",
            severity=2.0,
            confidence=0.5,
            evidence=tuple(evidence[:MAX_EVIDENCE]),
            rationale=f"{len(bad_calls)} tool call(s) ({names}) have empty or placeholder values under "
            "argument names that are usually required; no schema was given to confirm.",
        )
    severity = DEFAULT_IMPACT + (0.5 if errored else 0.0) + (0.5 if len(bad_calls) >= 3 else 0.0)
    kinds = sorted({e.evidence_type for e in strong})
    return Finding(
        decision="fail",
        severity=min(5.0, severity),
        confidence=max(e.confidence for e in strong),
        evidence=tuple(evidence[:MAX_EVIDENCE]),
        rationale=f"{len(bad_calls)} of {len(calls)} tool calls are malformed ({', '.join(kinds)}): {names}.",
    )
