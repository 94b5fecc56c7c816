"""The run is broken by its setup: missing modules, env vars or API keys, file permissions, absent commands,
sandbox-forbidden imports, or a tool whose declared schema does not match what its implementation accepts.

Deterministic part (fail): calls the shared classifier (_tool_errors.py) puts in the "environment" class
("ModuleNotFoundError: No module named 'x'", "KeyError: 'OPENAI_API_KEY'", "OPENAI_API_KEY is not set",
"[Errno 13] Permission denied", "bash: jq: command not found", "Import of requests is not allowed"), and
tool-definition mismatches: with tool schemas in item.metadata["tools"], an error saying the implementation
rejects an argument the schema declares ("unexpected keyword argument 'q'" while "q" is a declared property)
or demands one the schema does not declare. Weak part (unsure): an internal bug raised inside a named,
non-interpreter tool (UnboundLocalError, NotImplementedError), which points at the tool's implementation
rather than the agent's call. Blind spots: misconfiguration that produces plausible but wrong results;
descriptions that promise features the tool lacks without any error.
"""

from __future__ import annotations

import re

from taxonomy.detectors.system_execution._tool_errors import KIND_LABELS, ToolError, classify_calls
from taxonomy.detectors.tool_usage._tool_args import name_key, tool_specs
from taxonomy.model import Evidence, Finding, Item, ToolCall
from taxonomy.registry import detector

DEFAULT_IMPACT = 4
MAX_EVIDENCE = 8
INTERPRETER_NAME_RE = re.compile(r"python|interpreter|exec|code|shell|bash|terminal|jupyter|ipython|run", re.I)
UNEXPECTED_ARG_RE = re.compile(r"unexpected keyword argument '([^'\n]{0,80})'")
MISSING_ARG_RE = re.compile(
    r"missing \d+ required (?:positional |keyword-only )?arguments?: '(\w{1,80})'"
    r"|missing required (?:argument|parameter|field)\W{0,3}(\w{1,80})",
    re.IGNORECASE,
)


def _definition_mismatch(call: ToolCall, err: ToolError, properties: set[str]) -> Evidence | None:
    """Evidence when the error contradicts the tool's declared schema (`properties`)."""
    text = err.snippet
    unexpected = UNEXPECTED_ARG_RE.search(text)
    if unexpected and unexpected.group(1) and unexpected.group(1) in properties:
        reason = f"the implementation rejects '{unexpected.group(1)}', which its schema declares"
    else:
        missing = MISSING_ARG_RE.search(text)
        name = (missing.group(1) or missing.group(2)) if missing else None
        if not name or name in properties:
            return None
        reason = f"the implementation requires '{name}', which its schema does not declare"
    return Evidence(
        evidence_type="tool_definition_mismatch",
        description=f"{call.name}: {reason}",
        source=f"tool_calls[{err.index}]",
        content_snippet=err.snippet,
        confidence=0.8,
        metadata={"status_code": err.status_code, "tool": call.name, "error_class": err.kind},
    )


def _schema_properties(item: Item) -> dict[str, set[str]]:
    specs = tool_specs(item.metadata) or {}
    out: dict[str, set[str]] = {}
    for name, schema in specs.items():
        props = schema.get("properties") if isinstance(schema, dict) else None
        if isinstance(props, dict):
            out[name_key(name)] = {str(k) for k in props}
    return out


@detector("environment_misconfiguration", needs=("tool_calls",))
def detect(item: Item) -> Finding:
    calls = item.tool_calls
    properties = _schema_properties(item)
    strong: list[Evidence] = []
    weak: list[Evidence] = []
    for err in classify_calls(calls):
        if err is None:
            continue
        call = calls[err.index]
        if err.kind == "environment":
            strong.append(err.evidence(call, "environment_error"))
        elif err.detail == "invalid_arguments" and name_key(call.name) in properties:
            mismatch = _definition_mismatch(call, err, properties[name_key(call.name)])
            if mismatch is not None:
                strong.append(mismatch)
        elif err.detail == "internal_error" and call.name and not INTERPRETER_NAME_RE.search(call.name):
            weak.append(err.evidence(call, "tool_internal_error"))
    if strong:
        severity = DEFAULT_IMPACT + (0.5 if len(strong) >= 3 else 0.0)
        return Finding(
            decision="fail",
            severity=min(5.0, severity),
            confidence=max(e.confidence for e in strong),
            evidence=tuple((strong + weak)[:MAX_EVIDENCE]),
            rationale=f"{len(strong)} of {len(calls)} tool calls failed on {KIND_LABELS['environment']}: "
            + "; ".join(e.description for e in strong[:3])
            + ".",
        )
    if weak:
        return Finding(
            decision="unsure",
            severity=3.0,
            confidence=0.5,
            evidence=tuple(weak[:MAX_EVIDENCE]),
            rationale=f"{len(weak)} tool call(s) crashed inside the tool's own code "
            f"({', '.join(sorted({e.metadata['tool'] for e in weak}))}); this suggests a broken tool "
            "implementation or setup, but may also be triggered by unusual input.",
        )
    return Finding.passed(f"No environment or tool-setup error in {len(calls)} tool calls.", confidence=0.85)
