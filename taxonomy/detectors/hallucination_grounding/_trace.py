"""Reading an agent trace: which tool calls failed, what a call's name/arguments/output say as text, and
which kinds of action a completed-action claim in an answer refers to.
"""

from __future__ import annotations

import json
import re
from typing import Any

from taxonomy.detectors.hallucination_grounding._numbers import _trie_pattern
from taxonomy.model import ToolCall

MAX_PAYLOAD_CHARS = 4000
ERROR_TEXT_RE = re.compile(
    r"^\s*(?:error|exception|traceback|failed|failure|fatal)\b|\b(?:error|exception)\s*:|"
    r"\b(?:failed to|could not|couldn't|unable to|not found|permission denied|unauthori[sz]ed|forbidden|"
    r"timed? ?out|rate limit|invalid (?:request|argument|parameter))",
    re.IGNORECASE,
)
FAILED_STATUS = frozenset({"error", "failed", "failure", "fail", "denied", "rejected", "timeout", "cancelled"})

# Action kinds: the verbs an answer uses for a completed action, and tool-name fragments that perform it.
ACTIONS: dict[str, tuple[str, str]] = {
    "booking": (r"booked|reserved|made (?:a|the|your) (?:booking|reservation)", r"book|reserv"),
    "sending": (r"sent|emailed|e-mailed|messaged|texted|forwarded|notified", r"send|mail|message|notif|sms|slack|post"),
    "scheduling": (
        r"scheduled|rescheduled|set up (?:a|the|your) (?:meeting|call|appointment)",
        r"schedul|calendar|event|meeting|appointment",
    ),
    "cancelling": (r"cancell?ed|called off", r"cancel"),
    "creating": (
        r"created|added|opened (?:a|the|your) (?:ticket|account|case|issue)|registered|signed (?:you )?up",
        r"creat|add|new|insert|register|open|signup|sign_up",
    ),
    "updating": (r"updated|changed|modified|edited|renamed|reset", r"updat|chang|modif|edit|set|patch|put|renam|reset"),
    "deleting": (r"deleted|removed|erased|cleared", r"delet|remov|eras|clear|destroy"),
    "ordering": (
        r"ordered|purchased|bought|placed (?:an|the|your) order|checked out",
        r"order|purchas|buy|checkout|cart",
    ),
    "paying": (r"paid|transferred|charged|processed (?:the|your) payment", r"pay|transfer|charg|invoice|billing"),
    "refunding": (r"refunded|issued (?:a|the|your) refund|processed (?:a|the|your) refund", r"refund"),
    "searching": (
        r"searched|looked up|queried|checked (?:the|your) (?:database|records|account|calendar|order|inventory)",
        r"search|lookup|look_up|query|find|get|fetch|retriev|read|list|check",
    ),
    "running": (
        r"ran|executed|ran the (?:code|script|tests?)|tested",
        r"run|exec|python|shell|code|terminal|bash|test",
    ),
    "saving": (r"saved|uploaded|stored|wrote (?:the|it|your|a) (?:file|data)", r"save|upload|store|write|put"),
}
_VERBS = "|".join(f"(?P<{kind}>{verbs})" for kind, (verbs, _) in ACTIONS.items())
# First-person completed action ("I've booked", "I have successfully sent", "I just cancelled").
# \b(?:i|we)(?:'ve| have| had)?(?: (?:now|just|already|successfully|also))* (?:verbs)\b, first-letter first
# (as PASSIVE_RE below) with a possessive adverb loop: no verb starts with an adverb.
FIRST_PERSON_RE = re.compile(
    rf"[iw](?<!\w.)(?:(?<=[iI])|(?<=[wW])e)(?:'ve| have| had)?(?: (?:now|just|already|successfully|also))*+"
    rf" (?:{_VERBS})\b",
    re.IGNORECASE,
)
# Passive report of a completed action about the user's things or the agent's work ("Your flight has been
# booked", "The email was sent"); third-person narrative ("he was charged") is not a claim about the run.
ACTION_OBJECTS = (
    r"booking|reservation|flight|hotel|table|room|ticket|email|e-mail|message|invite|invitation|meeting|"
    r"appointment|event|order|payment|refund|transfer|file|document|report|account|password|subscription|"
    r"request|issue|case|items?|package|reminder|note|record|entry|changes|update|transaction|invoice"
)
_OBJECTS_TRIE = _trie_pattern(ACTION_OBJECTS.replace("items?", "item|items").split("|"))
# Shaped for speed on long texts, matching what the plain form would: \b(?:your\s+(?:[\w-]+\s+){0,3}?|
# (?:the|this|that|a|an)\s+(?:[\w-]+\s+){0,2}?(?:objects)\s+) is written first-letter first ("[yta]" and a
# look-behind for the word start) so the engine jumps between candidate letters, with the objects as a
# trie; whitespace runs and the adverb loops are possessive (what follows never starts with a space or an
# adverb), so "a" followed by a million spaces is not re-tried a million times.
PASSIVE_RE = re.compile(
    rf"[yta](?<!\w.)(?:(?<=[yY])our\s++(?:[\w-]++\s++){{0,3}}?|"
    rf"(?:(?<=[tT])h(?:e|is|at)|(?<=[aA])n?)\s++(?:[\w-]++\s++){{0,2}}?(?:{_OBJECTS_TRIE})\s++)"
    rf"(?:(?:has|have) (?:now |just |already |successfully )*+been|was|were)(?: (?:now|just|already|successfully))*+"
    rf" (?:{_VERBS})\b",
    re.IGNORECASE,
)
# An answer attributing content to a tool result ("the search returned", "according to the API").
ATTRIBUTION_RE = re.compile(
    r"\b(?:the|my|our) (?:search(?: results?)?|query|lookup|api|database|tool|system|calculation) "
    r"(?:returned|shows?|showed|found|says|said|indicates?|indicated|reports?|reported|confirms?|confirmed)\b|"
    r"\baccording to (?:the|my) (?:search(?: results?)?|api|database|tool|lookup|records)\b",
    re.IGNORECASE,
)
NEGATED_BEFORE_RE = re.compile(
    r"(?:\bnot|n't|\bnever|\bunable to|\bfailed to|\bcould not|\bcannot|\bwasn't|\bhaven't|\bhasn't|\bif|\bonce|"
    r"\bwhen|\bwill|\bshould|\bplease|\bcan|\btry to|\bwant to|\bneed to)\W+(?:\w+\W+){0,3}$",
    re.IGNORECASE,
)
ACTION_TOOL_RES = {kind: re.compile(fragments, re.IGNORECASE) for kind, (_, fragments) in ACTIONS.items()}
WRITE_ACTIONS = frozenset(ACTIONS) - {"searching", "running"}
GENERIC_TOOL_RE = re.compile(r"api|request|http|execute|invoke|action|tool|function|call|run|agent", re.IGNORECASE)


def payload_text(value: Any) -> str:
    """A tool argument or output as bounded text (JSON for structures)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value[:MAX_PAYLOAD_CHARS]
    try:
        return json.dumps(value, default=str)[:MAX_PAYLOAD_CHARS]
    except (TypeError, ValueError):
        return str(value)[:MAX_PAYLOAD_CHARS]


def failure_reason(call: ToolCall) -> str | None:
    """Why a call failed (error field, HTTP status, error-shaped payload), or None when it looks fine."""
    if call.error and str(call.error).strip():
        return f"error: {str(call.error).strip()[:120]}"
    if isinstance(call.status_code, int) and call.status_code >= 400:
        return f"status {call.status_code}"
    output = call.output
    if isinstance(output, dict):
        if output.get("error") or output.get("errors"):
            return "error in output"
        if output.get("success") is False or output.get("ok") is False:
            return "success: false"
        status = output.get("status")
        if isinstance(status, str) and status.strip().lower() in FAILED_STATUS:
            return f"status {status!r}"
        if isinstance(status, int) and status >= 400:
            return f"status {status}"
    elif isinstance(output, str) and ERROR_TEXT_RE.search(output[:300]):
        return "error text in output"
    return None


def call_matches(call: ToolCall, kind: str) -> bool:
    """Whether a call's name (or, for generic tools, its arguments) performs this kind of action."""
    pattern = ACTION_TOOL_RES[kind]
    name = call.name or ""
    if pattern.search(name):
        return True
    if GENERIC_TOOL_RE.search(name):
        return pattern.search(payload_text(call.arguments)[:500]) is not None
    return False


def claimed_kind(match: re.Match[str]) -> str:
    return next(kind for kind in ACTIONS if match.group(kind))
