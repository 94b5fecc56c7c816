"""Premature termination (the run stops before delivering) or missed termination (it hits a step limit).

Missed termination (fail): a step/iteration/turn/recursion limit message in the output, the last messages or
the last tool errors: "Agent stopped due to iteration limit or time limit." (LangChain), "Recursion limit of
25 reached without hitting a stop condition" (LangGraph), "Reached max steps", "MaxTurnsExceeded",
"Maximum number of consecutive auto-replies reached", "max_iterations exceeded".
Premature termination:
  * fail: the final answer is missing after tool calls or messages (empty, "None", "null", a bare
    "Final Answer:");
  * fail: the output ends by announcing work it never shows — its last sentence is a first-person intention
    followed by an action verb ("I will now calculate...", "Next, I'll search...", "Let me check the
    logs."; not "Let's grab a coffee" or "I will not ...") or its last line is a prose
    lead-in ending with a colon ("Here are the results:"; code lines such as "if errors:" do not count);
  * unsure: the output is only the agent's own plan (numbered steps after "Here is my plan" / "I will";
    instructions for the user such as "follow these steps:" do not count) with no answer marker, or has
    an unclosed code fence (cut off mid-block).
Only the last TAIL_CHARS of the output are read for the ending checks. Blind spots: stopping early with
a fluent but incomplete answer (judge territory: compare with the task), and runs that keep going
after the goal was met without hitting a limit.
"""

from __future__ import annotations

import re

from taxonomy.model import Evidence, Finding, Item
from taxonomy.registry import detector
from taxonomy.text import sentences, snippet, truncate

DEFAULT_IMPACT = 4
TAIL_CHARS = 1_500
PLAN_HEAD_CHARS = 4_000
LAST_MESSAGES = 3
STEP_LIMIT_RE = re.compile(
    r"Agent stopped due to (?:iteration limit|max iterations|time limit)"
    r"|(?:reached|hit|exceeded|exceeding)\s+(?:the\s+)?(?:max(?:imum)?[ _](?:number of )?(?:steps|iterations"
    r"|turns|rounds|(?:consecutive )?auto[- ]replies|tool calls|loops)|(?:step|iteration|turn|round|recursion|loop)"
    r"\s+limit)|max_(?:steps|iterations|turns|rounds)\s+(?:reached|exceeded)|MaxTurnsExceeded|GraphRecursionError"
    r"|Recursion limit of \d+ reached|Maximum number of (?:consecutive auto-replies|rounds|turns|iterations|steps)"
    r" (?:reached|exceeded)|ran out of (?:steps|iterations|turns)|Terminated: Reached max",
    re.IGNORECASE,
)
EMPTY_ANSWERS = frozenset({"", "none", "null", "nil", "n/a", "undefined", "{}", "[]", '""', "''", "..."})
BARE_ANSWER_LABEL_RE = re.compile(r"^\W*(?:final\s+)?answer\s*:?\W*$", re.IGNORECASE)
ACTION_VERBS = (
    "check|search|look|find|fetch|get|retrieve|run|execute|calculate|compute|verify|try|start|begin|proceed"
    "|continue|analy[sz]e|inspect|open|examine|write|implement|test|investigate|explore|review|read|download"
    "|install|call|query|scroll|visit|navigate|browse|use|ask|gather|collect|extract|summari[sz]e|compile"
    "|prepare|create|draft|update|fix|debug|modify|apply|load|parse|process|convert|compare|identify|determine"
    "|locate|confirm|go|move|work|dig|do|perform|send|submit|report"
)
INTENT_RE = re.compile(
    r"^(?:(?:ok(?:ay)?|alright|great|good|now|next|first|then|so|finally)[,!.:]?\s+){0,3}"
    r"(?:I(?:'ll| will| am going to|'m going to| shall| need to)|let me|let's|we(?:'ll| will| need to)"
    r"|next,? I(?:'ll| will)|I'm now going to|I will now|proceeding to|moving on to|the next step is to)"
    rf"\s+(?:now\s+|first\s+|next\s+|then\s+|go ahead and\s+|quickly\s+){{0,2}}(?:{ACTION_VERBS})\b",
    re.IGNORECASE,
)
CLOSING_RE = re.compile(
    r"\b(?:let me know|i(?:'ll| will) be (?:happy|glad)|feel free|hope (?:this|that) helps|i(?:'ll| will) keep"
    r"|i(?:'ll| will) wait|let me help you with anything|i(?:'ll| will) remember|if you (?:have|need|want))",
    re.IGNORECASE,
)
PROSE_COLON_LINE_RE = re.compile(r"(?:^|\n)[ \t]{0,3}[A-Z][^\n(){}\[\]=;#]{8,200}:$")
PLAN_INTRO_RE = re.compile(
    r"(?:here(?:'s| is) my (?:plan|approach)|\bmy plan\b|^[^\S\n]*plan:|I will\b|I'll\b|we will\b"
    r"|to solve this,? I)",
    re.IGNORECASE | re.MULTILINE,
)
# Line starts read only the line's own indent ([^\S\n]*, not \s*, which would re-read every blank line after
# each line start: quadratic on a head of empty lines); the same lines match.
PLAN_STEP_RE = re.compile(r"^[^\S\n]*(?:\d{1,2}[.)]|step \d{1,2}:?|[-*•])\s+\S", re.IGNORECASE | re.MULTILINE)
ANSWER_MARKER_RE = re.compile(
    r"final answer|\banswer:|\bthe answer is|in summary|\btherefore\b|\bthus\b|\bresult(?:s)?:|\bso the\b"
    r"|\bin conclusion|=",
    re.IGNORECASE,
)


def _limit_sources(item: Item) -> list[tuple[str, str]]:
    """(source, text) pairs where a step-limit message would appear: output ends, last messages, last errors."""
    output = item.output
    sources = [
        ("output", output if len(output) <= 2 * TAIL_CHARS else output[:TAIL_CHARS] + "\n" + output[-TAIL_CHARS:])
    ]
    messages, calls = item.messages, item.tool_calls
    for i in range(max(0, len(messages) - LAST_MESSAGES), len(messages)):
        sources.append((f"messages[{i}]", (messages[i].content or "")[-TAIL_CHARS:]))
    for i in range(max(0, len(calls) - LAST_MESSAGES), len(calls)):
        sources.append((f"tool_calls[{i}]", (calls[i].error or "")[-TAIL_CHARS:]))
    return sources


def _step_limit(item: Item) -> Evidence | None:
    for source, text in _limit_sources(item):
        match = STEP_LIMIT_RE.search(text)
        if match:
            return Evidence(
                evidence_type="step_limit_reached",
                description="the run was cut off by a step/iteration limit instead of finishing",
                source=source,
                content_snippet=snippet(text, match.start(), match.end()),
                confidence=0.9,
                metadata={"matched": match.group(0)},
            )
    return None


def _ending(output: str) -> Evidence | None:
    tail = output[-TAIL_CHARS:].rstrip()
    parts = sentences(tail)
    if not parts:
        return None
    offset, last = parts[-1]
    base = len(output.rstrip()) - len(tail)
    if INTENT_RE.match(last) and not CLOSING_RE.search(last):
        kind, description, confidence = "announced_not_done", "the output ends by announcing a next step", 0.75
    elif PROSE_COLON_LINE_RE.search(tail):
        kind, description, confidence = "ends_with_colon", "the output ends with a colon; what follows is missing", 0.7
    elif tail.count("```") % 2 == 1:
        kind, description, confidence = "unclosed_code_block", "the output stops inside a code block", 0.55
    else:
        return None
    return Evidence(
        evidence_type=kind,
        description=description,
        source="output",
        content_snippet=truncate(last, 240),
        confidence=confidence,
        metadata={"start": base + offset, "end": base + offset + len(last)},
    )


def _plan_only(output: str) -> Evidence | None:
    head = output[:PLAN_HEAD_CHARS]
    intro = PLAN_INTRO_RE.search(head)
    if intro is None or len(PLAN_STEP_RE.findall(head)) < 2 or ANSWER_MARKER_RE.search(output[-TAIL_CHARS:]):
        return None
    return Evidence(
        evidence_type="plan_without_execution",
        description="the output is a plan of future steps with no result",
        source="output",
        content_snippet=snippet(head, intro.start(), intro.end()),
        confidence=0.5,
    )


@detector("termination_error", needs=("output",))
def detect(item: Item) -> Finding:
    limit = _step_limit(item)
    if limit is not None:
        return Finding(
            decision="fail",
            severity=DEFAULT_IMPACT,
            confidence=0.9,
            evidence=(limit,),
            rationale="Missed termination: the run hit its step/iteration limit ('"
            + limit.metadata["matched"]
            + "') instead of concluding.",
        )
    stripped = item.output.strip()
    if (item.tool_calls or item.messages) and (
        len(stripped) < 40 and (stripped.casefold() in EMPTY_ANSWERS or BARE_ANSWER_LABEL_RE.match(stripped))
    ):
        evidence = Evidence(
            evidence_type="missing_final_answer",
            description="the run ends without a final answer",
            source="output",
            content_snippet=stripped or "(empty)",
            confidence=0.85,
        )
        return Finding(
            decision="fail",
            severity=DEFAULT_IMPACT,
            confidence=0.85,
            evidence=(evidence,),
            rationale=f"Premature termination: after {len(item.tool_calls)} tool calls the final output is "
            f"{stripped!r}.",
        )
    ending = _ending(item.output)
    if ending is not None and ending.confidence >= 0.7:
        return Finding(
            decision="fail",
            severity=DEFAULT_IMPACT - 0.5,
            confidence=ending.confidence,
            evidence=(ending,),
            rationale=f"Premature termination: {ending.description} and stops there.",
        )
    weak = ending or _plan_only(item.output)
    if weak is not None:
        return Finding(
            decision="unsure",
            severity=3.0,
            confidence=0.5,
            evidence=(weak,),
            rationale=f"Possibly premature termination: {weak.description}.",
        )
    return Finding.passed("The output ends with a delivered answer and no step-limit message.", confidence=0.6)
