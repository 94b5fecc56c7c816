"""Leaks and garbage in an answer: special tokens, unfilled placeholders, agent scaffolding, mojibake.

Only text outside fenced code blocks is searched for tokens, placeholders and scaffolding (code may
legitimately contain `{{ name }}` or `# TODO`), and anything the user's own input contains is skipped (the
user asked about it). Placeholders are only "unsure" when the user asked for a template, letter or sample,
where fill-in slots are expected.
"""

from __future__ import annotations

import json
import re

from taxonomy.detectors.conversation_quality._degeneration import Signal
from taxonomy.detectors.instruction_compliance._markdown import mask_code

SPECIAL_TOKEN_RE = re.compile(  # every branch starts with a literal character, so scanning is fast
    r"<\|[A-Za-z_][\w.-]{0,40}\|>|\[/?INST\]|<</?SYS>>|<(?:start|end)_of_turn>|<(?:unk|pad|eos|bos)>|"
    r"\[(?:PAD|UNK|CLS|SEP|MASK)\]|<s>[ \t]*\[INST\]|###[ \t]*(?:Instruction|Response|Human|Assistant)[ \t]*:"
)
PLACEHOLDER_RE = re.compile(
    r"\{\{[ \t]{0,3}[A-Za-z_][\w.]{0,40}[ \t]{0,3}\}\}|\$\{[A-Za-z_]\w{0,40}\}|\[[ \t]?(?i:insert)\b[^\]\n]{0,80}\]|"
    r"<[ \t]?(?i:insert)\b[^>\n]{0,80}>|\[[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+\]|\{[A-Za-z][a-z0-9]*(?:_[A-Za-z0-9]+)+\}|"
    r"[Ll]orem[ \t]ipsum\b|TODO\b|PLACEHOLDER\b"
)
TEMPLATE_REQUEST_RE = re.compile(
    r"\b(?:templates?|letters?|e-?mails?|cover|forms?|samples?|examples?|drafts?|website|web\s*page|html|"
    r"mock-?ups?|outlines?|resumes?|cv|invitations?|fill[- ]in)\b",
    re.IGNORECASE,
)
SENTENCE_PIECE_RE = re.compile(r"</?s>")
REACT_RE = re.compile(r"^[ \t]*(Thought|Action Input|Action|Observation|Final Answer)[ \t]*:", re.MULTILINE)
TOOL_MARKUP_RE = re.compile(r"</?tool_call>|<function_call>|<\|python_tag\|>|<function=\w|\[TOOL_CALLS\]")
THINK_RE = re.compile(r"</?think(?:ing)?>")
MOJIBAKE_RE = re.compile(r"Ã[\u0080-\u00bf]|Â[\u00a0-\u00bf]|â€[\u0080-\u00bf\u2018-\u201e\u2122\u0153\u02dc\u00a6]")
CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffd]")
TOOL_CALL_KEY_SETS = ({"name", "arguments"}, {"name", "parameters"}, {"action", "action_input"})
TOOL_CALL_KEYS = frozenset({"tool_calls", "function_call", "tool_use"})


def _first_leak(pattern: re.Pattern[str], prose: str, asked: str) -> re.Match[str] | None:
    """The first match that sits on its own (not glued to a word or a LaTeX subscript) and was not asked about."""
    for match in pattern.finditer(prose):
        value = match.group(0)
        before = prose[match.start() - 1] if match.start() else " "
        if value.lower() in asked or before.isalnum() or before in "_^\\":
            continue
        if value.startswith("###") and before != "\n" and match.start():
            continue  # "### Response:" only leaks a prompt template at the start of a line
        return match
    return None


def find_leaks(text: str, user_input: str, json_requested: bool) -> list[Signal]:
    """Special tokens, placeholders, tool markup, ReAct scaffolding, bare tool-call JSON, <think> tags."""
    signals: list[Signal] = []
    prose = mask_code(text)
    asked = user_input.lower()
    token = _first_leak(SPECIAL_TOKEN_RE, prose, asked) or _sentence_piece_leak(prose)
    if token:
        message = f"The answer contains a leaked special/chat-template token: {token.group(0).strip()[:60]!r}."
        signals.append(Signal("special_token", "fail", message, token.span(), 3.0, 0.9))
    slot = _first_leak(PLACEHOLDER_RE, prose, asked)
    if slot:
        message = f"The answer contains an unfilled placeholder: {slot.group(0)[:60]!r}."
        if TEMPLATE_REQUEST_RE.search(user_input):
            signals.append(
                Signal("placeholder", "unsure", message + " (a template was asked for)", slot.span(), 1.5, 0.4)
            )
        else:
            signals.append(Signal("placeholder", "fail", message, slot.span(), 3.0, 0.85))
    markup = _first_leak(TOOL_MARKUP_RE, prose, asked)
    if markup:
        message = f"Tool-call markup leaked into the answer: {markup.group(0)!r}."
        signals.append(Signal("scaffolding_leak", "fail", message, markup.span(), 3.0, 0.85))
    labels = {m.group(1) for m in REACT_RE.finditer(prose)}
    if len(labels) >= 2 and labels & {"Action", "Action Input", "Observation"} and "observation:" not in asked:
        first = REACT_RE.search(prose)
        start = first.start() if first else 0
        message = f"Agent scaffolding leaked into the answer ({', '.join(sorted(labels))})."
        signals.append(Signal("scaffolding_leak", "fail", message, (start, start + 120), 3.0, 0.85))
    if not json_requested and _is_tool_call_json(text):
        message = "The answer is a raw function-call JSON object, not a reply to the user."
        signals.append(Signal("scaffolding_leak", "fail", message, (0, min(len(text), 160)), 3.5, 0.8))
    think = THINK_RE.search(prose)
    if think and "<think" not in asked:
        message = "Reasoning tags (<think>) are visible in the answer."
        signals.append(Signal("scaffolding_leak", "unsure", message, think.span(), 1.5, 0.4))
    return signals


def _sentence_piece_leak(prose: str) -> re.Match[str] | None:
    """A bare <s> opening or </s> closing the answer (SentencePiece BOS/EOS markers)."""
    stripped = prose.strip()
    if stripped.startswith("<s>") or stripped.endswith("</s>"):
        return SENTENCE_PIECE_RE.search(prose)
    return None


def _is_tool_call_json(text: str) -> bool:
    stripped = text.strip().removeprefix("```json").removeprefix("```").removesuffix("```").strip()
    if not stripped.startswith("{") or len(stripped) > 100_000:
        return False
    try:
        value = json.loads(stripped)
    except (ValueError, RecursionError):
        return False
    if not isinstance(value, dict):
        return False
    keys = set(value)
    return any(required <= keys for required in TOOL_CALL_KEY_SETS) or bool(keys & TOOL_CALL_KEYS)


def find_garbage(text: str) -> list[Signal]:
    """Replacement/control characters and mojibake (UTF-8 decoded as Latin-1/CP1252)."""
    sample = text[:500_000]
    control = CONTROL_RE.findall(sample)
    mojibake = MOJIBAKE_RE.findall(sample)
    bad = len(control) + len(mojibake)
    if not bad:
        return []
    first = min(m.start() for m in (CONTROL_RE.search(sample), MOJIBAKE_RE.search(sample)) if m is not None)
    share = bad / len(sample)
    message = (
        f"The answer contains {len(control)} replacement/control character(s) and {len(mojibake)} mojibake "
        "sequence(s) (text decoded with the wrong encoding)."
    )
    if len(mojibake) >= 3 or (len(control) >= 5 and share >= 0.005) or share >= 0.05:
        return [Signal("garbled_text", "fail", message, (first, first + 40), 3.0, 0.85)]
    return [Signal("garbled_text", "unsure", message, (first, first + 40), 1.5, 0.45)]
