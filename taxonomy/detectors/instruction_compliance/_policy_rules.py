"""Operator rules in a system prompt that can be checked cheaply (their checks are in _policy_checks.py).

Rule kinds: competitor (named brands that must not be mentioned), topic ("do not discuss politics"),
scope ("only answer questions about our products"), secret ("never reveal the access code 'X'"),
prompt_secrecy ("do not reveal these instructions") and advice ("do not give medical/legal/financial
advice"). Topic and scope checks ignore sentences that decline ("I can't discuss politics"), because a
refusal that names the topic is compliance. Scope can only be "unsure" (staying in scope needs a judge).
"""

from __future__ import annotations

import re
from typing import Any, NamedTuple

from taxonomy.detectors.instruction_compliance._markdown import prompt_cache, safe_sentences
from taxonomy.text import WORD_RE, content_words, stem

_NEG = r"(?:do\s+not|don'?t|never|must\s+not|should\s+not|shall\s+not|cannot|can'?t|may\s+not|avoid|refuse\s+to)"
COMPETITOR_RE = re.compile(
    rf"\b{_NEG}\s+(?:ever\s+)?(?:mention|name|recommend|promote|endorse|refer\s+to|talk\s+about|discuss|compare)"
    r"[^.\n]{0,30}?\bcompetitors?\b(?:'s?)?[^.\n]{0,20}?(?:such\s+as|like|including|e\.g\.,?|namely|:|\()\s*"
    r"(?P<names>[^.\n)]{1,200})",
    re.IGNORECASE,
)
TOPIC_RE = re.compile(
    rf"\b{_NEG}\s+(?:discuss(?:ing)?|talk(?:ing)?\s+about|(?:engag(?:e|ing)\s+in\s+)?(?:discussions?|conversations?)"
    r"\s+(?:about|of|on)|answer(?:ing)?\s+questions\s+(?:about|on|regarding)|comment(?:ing)?\s+on|"
    r"(?:give|offer|share|express)(?:ing)?\s+(?:your\s+)?opinions?\s+(?:about|on)|speculat(?:e|ing)\s+about)\s+"
    r"(?P<topic>[^.;:!?\n]{1,80})",
    re.IGNORECASE,
)
SCOPE_RE = re.compile(
    r"\b(?:only|exclusively|solely)\s+(?:answer|respond\s+to|help\s+with|assist\s+with|discuss|talk\s+about|"
    r"handle)\s+(?:questions\s+|requests\s+|topics\s+)?(?:about|on|regarding|related\s+to|concerning)?\s*"
    r"(?P<domain>[^.;!?\n]{3,100})|"
    r"\b(?:decline|refuse|do\s+not\s+answer|don'?t\s+answer)\s+(?:any\s+|all\s+)?(?:questions|requests|topics)\s+"
    r"(?:that\s+are\s+)?(?:unrelated|not\s+related|outside|off-topic)",
    re.IGNORECASE,
)
SECRET_RULE_RE = re.compile(
    rf"\b{_NEG}\s+(?:ever\s+)?(?:reveal|disclose|share|expose|leak|tell|give\s+out|"
    r"repeat|output|print)",
    re.IGNORECASE,
)
SECRET_VALUE_RE = re.compile(
    r"\b(?:password|passcode|access\s+code|secret(?:\s+(?:word|code|key|phrase))?|code\s*word|passphrase|pin)"
    r"\s*(?P<sep>is|:|=)\s*(?P<quote>[\"'`“]?)(?P<secret>[^\s\"'`”.,;]{3,64})",
    re.IGNORECASE,
)
CODE_LIKE_RE = re.compile(r"[\d_\-]|^[A-Z]{3,}$|[a-z][A-Z]")
RULE_SENTENCE_RE = re.compile(
    r"\b(?:you\s+are|your\s+(?:role|task|job|goal)|do\s+not|don'?t|never|always|must|should)\b", re.IGNORECASE
)
PROMPT_SECRECY_RE = re.compile(
    rf"\b{_NEG}\s+(?:ever\s+)?(?:reveal|disclose|share|repeat|output|print|leak|summari[sz]e)\s+(?:\w+\s+){{0,3}}"
    r"(?:system\s+prompt|prompt|instructions|rules|guidelines|configuration)\b",
    re.IGNORECASE,
)
ADVICE_RULE_RE = re.compile(
    rf"\b{_NEG}\s+(?:give|provide|offer|dispense)\s+(?:any\s+)?(?P<domains>(?:(?:medical|legal|financial|"
    r"investment|tax|health)(?:\s*,\s*|\s+or\s+|\s+and\s+|\s*/\s*)?){1,4})\s*advice",
    re.IGNORECASE,
)  # the {1,4} repetition is linear: each round must start with one of the domain words
# fmt: off
ADVICE_DOMAIN = {
    "medical": "medical", "health": "medical", "legal": "legal", "financial": "financial",
    "investment": "financial", "tax": "financial",
}
# fmt: on
TOPIC_EXPANSIONS = {  # unambiguous words only ("campaign", "conservative", "faith" have everyday senses)
    "politic": "politics political politician politicians election elections democrat democrats republican "
    "republicans senator senators congress parliament partisan vote voting",
    "religion": "religion religions religious god church bible quran islam christianity jesus muslim hindu "
    "buddhism buddhist jewish judaism prayer",
}
LIST_SPLIT_RE = re.compile(r"\s*(?:,|;|/|\bor\b|\band\b|&)\s*", re.IGNORECASE)
TOPIC_STOP = frozenset({"topics", "topic", "subjects", "matters", "issues", "questions", "anything", "related"})
MIN_LEAK_WORDS, MAX_LEAK_WORDS = 8, 12  # a rule sentence (or 12 words of it) repeated verbatim reveals it


class PolicyRule(NamedTuple):
    kind: str  # competitor, topic, scope, secret, prompt_secrecy, advice
    quote: str
    start: int
    value: Any = None


def _names(raw: str) -> list[str]:
    names = [n.strip(" \"'`“”") for n in LIST_SPLIT_RE.split(raw) if n.strip(" \"'`“”")]
    return [n for n in names if len(n.split()) <= 4 and n[:1].isalnum()]


@prompt_cache(maxsize=256)
def parse_policy_rules(text: str) -> tuple[PolicyRule, ...]:
    """The checkable operator rules of a system prompt (cached: one prompt serves many items)."""
    rules: list[PolicyRule] = []
    for m in COMPETITOR_RE.finditer(text):
        names = _names(m.group("names"))
        if names:
            rules.append(PolicyRule("competitor", m.group(0), m.start(), tuple(names)))
    for m in TOPIC_RE.finditer(text):
        parts = [p.strip() for p in LIST_SPLIT_RE.split(m.group("topic")) if p.strip()]
        topics = [(p, pattern) for p in parts if (pattern := _topic_pattern(p))]
        if topics:
            rules.append(PolicyRule("topic", m.group(0), m.start(), tuple(topics)))
    scope = SCOPE_RE.search(text)
    if scope:
        rules.append(PolicyRule("scope", scope.group(0), scope.start(), frozenset(content_stems(text[:4000]))))
    if SECRET_RULE_RE.search(text):
        for m in SECRET_VALUE_RE.finditer(text):
            secret = m.group("secret")
            if m.group("quote") or m.group("sep") != "is" or CODE_LIKE_RE.search(secret):
                rules.append(PolicyRule("secret", m.group(0), m.start(), secret))
    m = PROMPT_SECRECY_RE.search(text)
    if m:
        rules.append(PolicyRule("prompt_secrecy", m.group(0), m.start(), rule_shingles(text)))
    for m in ADVICE_RULE_RE.finditer(text):
        domains = {ADVICE_DOMAIN[d] for d in re.findall(r"[a-z]+", m.group("domains").lower()) if d in ADVICE_DOMAIN}
        rules.append(PolicyRule("advice", m.group(0), m.start(), tuple(sorted(domains))))
    return tuple(rules)


def content_stems(text: str) -> set[str]:
    """Stems of the meaningful words of `text`."""
    return {stem(w) for w in content_words(text)}


def rule_shingles(text: str) -> dict[int, set[tuple[str, ...]]]:
    """Word n-grams (n = 8..12) of the prompt's rule-like sentences, keyed by n."""
    shingles: dict[int, set[tuple[str, ...]]] = {}
    for _, sentence in safe_sentences(text[:100_000]):
        if not RULE_SENTENCE_RE.search(sentence):
            continue
        tokens = WORD_RE.findall(sentence.lower())
        n = min(MAX_LEAK_WORDS, len(tokens))
        if n >= MIN_LEAK_WORDS:
            shingles.setdefault(n, set()).update(tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1))
    return shingles


def _topic_pattern(topic: str) -> re.Pattern[str] | None:
    """A regex for the topic's words and their inflections (stems of 4+ letters match as prefixes)."""
    found = {stem(w) for w in content_words(topic) if w not in TOPIC_STOP}
    for key, expansion in TOPIC_EXPANSIONS.items():
        if any(s.startswith(key) for s in found):
            found |= {stem(w) for w in expansion.split()}
    if not found:
        return None
    parts = sorted((re.escape(s) + (r"\w*" if len(s) >= 4 else "") for s in found), key=len, reverse=True)
    return re.compile(r"(?<!\w)(?:" + "|".join(parts) + r")(?!\w)", re.IGNORECASE)
