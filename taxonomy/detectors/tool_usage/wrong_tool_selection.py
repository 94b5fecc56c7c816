"""Calls to a tool that is not in the toolbox, or that the runtime rejected as an unknown tool/function.

Metadata read (optional):
    item.metadata["tools"]: the tools offered to the model (OpenAI function specs, flat {"name", ...}
        specs, Anthropic/MCP specs, bare names, or a {name: spec} mapping; see _tool_args.tool_specs).
A call whose name is not in that list (compared case-insensitively, '-' = '_') fails with high confidence;
a near-miss name ("web_search" vs "search_web") is quoted with the closest offered tool. Independently, a
tool error such as "Unknown tool", "Tool 'x' not found", "is not a valid tool" or smolagents' "It is not
permitted to evaluate other functions than the provided tools" fails too (via the shared classifier).
With no tool list and no such error the detector passes with low confidence, since it cannot tell
whether a *different available* tool would have fitted better; that judgement (the core of this
subcategory) needs an LLM judge.
"""

from __future__ import annotations

import difflib

from taxonomy.detectors.system_execution._tool_errors import classify_calls
from taxonomy.detectors.tool_usage._tool_args import call_preview, name_key, tool_specs
from taxonomy.model import Evidence, Finding, Item
from taxonomy.registry import detector

DEFAULT_IMPACT = 3
MAX_EVIDENCE = 8


@detector("wrong_tool_selection", needs=("tool_calls",))
def detect(item: Item) -> Finding:
    calls = item.tool_calls
    specs = tool_specs(item.metadata)
    offered = {name_key(name): name for name in specs} if specs else {}
    evidence: list[Evidence] = []
    flagged: set[int] = set()
    for index, call in enumerate(calls):
        if not offered or not call.name.strip() or name_key(call.name) in offered:
            continue
        close = difflib.get_close_matches(name_key(call.name), list(offered), n=1, cutoff=0.6)
        hint = f"; closest offered tool: {offered[close[0]]}" if close else ""
        flagged.add(index)
        evidence.append(
            Evidence(
                evidence_type="unknown_tool",
                description=f"'{call.name}' is not among the {len(offered)} offered tools{hint}",
                source=f"tool_calls[{index}]",
                content_snippet=call_preview(call),
                confidence=0.9,
                metadata={"tool": call.name, "closest": offered[close[0]] if close else None},
            )
        )
    for err in classify_calls(calls):
        if err is not None and err.detail == "unknown_tool" and err.index not in flagged:
            flagged.add(err.index)
            evidence.append(err.evidence(calls[err.index], "unknown_tool_error"))
    if not evidence:
        if offered:
            return Finding.passed(f"All {len(calls)} tool calls use offered tools.", confidence=0.6)
        return Finding.passed(
            "No call was rejected as an unknown tool; no tool list in metadata to check the choice against.",
            confidence=0.35,
        )
    names = ", ".join(sorted({calls[i].name or "<unnamed>" for i in flagged}))
    return Finding(
        decision="fail",
        severity=min(5.0, DEFAULT_IMPACT + (0.5 if len(flagged) >= 3 else 0.0)),
        confidence=max(e.confidence for e in evidence),
        evidence=tuple(evidence[:MAX_EVIDENCE]),
        rationale=f"{len(flagged)} of {len(calls)} tool calls target a tool that is not available: {names}.",
    )
