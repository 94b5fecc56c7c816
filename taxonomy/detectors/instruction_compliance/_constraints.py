"""Explicit, cheaply checkable constraints stated in a prompt (user input or system prompt).

Parsed kinds: length limits on words / sentences / characters / paragraphs / lines / list items ("in 50
words or fewer", "at least 300 words", "2-3 sentences", "a 100-word story", "list five ideas", "no more than
3 bullet points"), answer language ("answer in French", "translate ... into German"), forbidden terms ("do not
mention X", "without using the word 'Y'", "no commas"), required terms ("include the words 'a' and 'b'",
"using the following words: x, y, z"), start/end phrases ("start your answer with 'Dear'"), letter case
("all caps", "in lowercase"). Clauses about a sub-part ("each paragraph", "per bullet") are skipped.
Every regex is linear-time: bounded gaps, no nested quantifiers.
"""

from __future__ import annotations

import re
from typing import Any, NamedTuple

from taxonomy.detectors.instruction_compliance._language import LANGUAGE_NAMES
from taxonomy.detectors.instruction_compliance._markdown import instruction_window, prompt_cache

# fmt: off
NUMBER_WORDS = {
    "a single": 1, "single": 1, "one": 1, "two": 2, "a couple of": 2, "three": 3, "four": 4, "five": 5,
    "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "fifteen": 15,
    "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "hundred": 100, "a hundred": 100,
}
# fmt: on
_NUM = r"(?:\d{1,6}|" + "|".join(sorted(NUMBER_WORDS, key=len, reverse=True)) + r")"
_UNIT = r"(?P<unit>words?|sentences?|characters?|chars|paragraphs?|lines?|bullet[- ]points?|bullets|items)\b"
_ANY_UNIT = r"(?P<unit>[a-z]+s)\b"  # any plural noun, only after a listing verb ("name five ways")
_ADJ = r"(?:(?:[a-z]+[- ]){0,2})"  # up to two words between the number and the unit ("five new ideas")
_LISTING_VERB = (
    r"(?P<verb>list(?:\s+out)?|name|give|provide|suggest|generate|write|create|compose|identify|think\s+of|"
    r"come\s+up\s+with|brainstorm|share|offer|recommend|outline|describe|find|state|mention)"
)
_QUANTIFIER = r"(?P<q>at\s+least|exactly|only|just|up\s+to|no\s+more\s+than|at\s+most)"
_MAX_SUFFIX = r"(?:or\s+(?:less|fewer|under|shorter)|max(?:imum)?|at\s+most)"
_MAX_PREFIX = r"(?:at\s+most|up\s+to|under|within|max(?:imum)?(?:\s+of)?|not\s+exceed(?:ing)?|limit(?:ed)?\s+(?:of|to))"
_MIN_PREFIX = r"(?:at\s+least|no\s+(?:less|fewer)\s+than|minimum(?:\s+of)?|(?:more|longer)\s+than)"
_LENGTH_PATTERNS = (
    ("max_excl", rf"\b(?:less|fewer|shorter)\s+than\s+(?P<n>{_NUM})\s+{_UNIT}"),
    ("max", rf"\b(?P<n>{_NUM})\s+{_UNIT}\s+{_MAX_SUFFIX}\b"),
    ("max", rf"\b(?:no|not)\s+(?:more|longer)\s+than\s+(?P<n>{_NUM})\s+{_UNIT}"),
    ("max", rf"\b{_MAX_PREFIX}\s+(?P<n>{_NUM})\s+{_UNIT}"),
    (
        "verb",
        rf"\b{_LISTING_VERB}\s+(?:me\s+|us\s+)?(?:a\s+list\s+of\s+)?(?:{_QUANTIFIER}\s+)?"
        rf"(?P<n>{_NUM})\s+{_ADJ}{_ANY_UNIT}",
    ),
    ("min", rf"\b{_MIN_PREFIX}\s+(?P<n>{_NUM})\s+{_UNIT}"),
    ("min", rf"\b(?P<n>{_NUM})\s+{_UNIT}\s+or\s+more\b"),
    ("range", rf"\bbetween\s+(?P<n>{_NUM})\s+and\s+(?P<m>{_NUM})\s+{_UNIT}"),
    ("range", rf"\b(?P<n>{_NUM})\s*(?:-|–|to)\s*(?P<m>{_NUM})[- ]{_UNIT}"),
    ("exact", rf"\bexactly\s+(?P<n>{_NUM})\s+{_ADJ}{_UNIT}"),
    ("exact", rf"\b(?P<prep>in|into|of|using|with)\s+(?P<n>{_NUM})\s+{_UNIT}"),
    ("exact", rf"\b(?:a|an)\s+(?P<n>{_NUM})[- ]{_UNIT}"),
)
LENGTH_RES = tuple((mode, re.compile(pattern, re.IGNORECASE)) for mode, pattern in _LENGTH_PATTERNS)
# fmt: off
QUANTIFIER_MODES = {
    "at least": "min", "exactly": "exact", "only": "exact", "just": "exact", "up to": "max",
    "no more than": "max", "at most": "max",
}
# fmt: on
MAX_LISTED_ITEMS = 30  # "name at least 500 calories" is not an item count
SUBPART_RE = re.compile(r"\b(?:each|every|per)\b", re.I)
_LANG = "|".join(sorted(LANGUAGE_NAMES, key=len, reverse=True))
_NOT_LANGUAGE_NOUN = (
    r"(?!\s+(?:style|cuisine|food|dish|recipe|history|culture|revolution|fashion|words?|names?|terms?|accent|"
    r"class|literature|poetry|songs?|films?|movies?|wine|people|speakers?|grammar|phrases?|expressions?|"
    r"vocabulary|version|origin|alphabet|law|government|art|music|press|toast|fries|kiss))"
)
_LANGUAGE_VERB = (
    r"(?:answer|respond|reply|write|speak|explain|responses?|answers|replies|output|summari[sz]e|describe|"
    r"tell\s+me|compose|rewrite|communicate)"
)
LANGUAGE_RES = (
    re.compile(
        rf"\b{_LANGUAGE_VERB}\b[^.\n?!]{{0,60}}?\bin\s+(?:the\s+)?(?P<lang>{_LANG})(?:\s+language)?\b"
        + _NOT_LANGUAGE_NOUN,
        re.IGNORECASE,
    ),
    re.compile(rf"\btranslat\w*\b[^.\n?!]{{0,80}}?\b(?:in|into|to)\s+(?P<lang>{_LANG})\b", re.IGNORECASE),
    re.compile(rf"\b(?:use|only|always)\s+(?P<lang>{_LANG})(?:\s+only)?\s*(?:[.,;!\n]|$)", re.IGNORECASE),
)
FORBID_RE = re.compile(
    r"\b(?:do\s+not|don'?t|never|must\s+not|should\s+not|avoid|without|no)\s+"
    r"(?:ever\s+)?(?:mention(?:ing)?|us(?:e|ing)|say(?:ing)?|(?P<loose>includ(?:e|ing)|writ(?:e|ing))|"
    r"refer(?:ring)?\s+to|talk(?:ing)?\s+about|bring(?:ing)?\s+up|mention\s+of)\s+(?P<target>[^.;:!?\n]{1,80})",
    re.I,
)
REQUIRE_RE = re.compile(
    r"\b(?:includ(?:e|es|ing)|us(?:e|es|ing)|contain(?:s|ing)?|mention(?:s|ing)?|with|incorporat(?:e|ing))\s+"
    r"(?:all\s+|each\s+of\s+)?(?:the\s+)?(?:following\s+)?(?:key)?(?:words?|terms?|phrases?)"
    r"(?:\s+(?:below|listed))?\s*:?\s*(?P<target>[^.;!?\n]{1,200})|"
    r"\b(?:make\s+sure\s+(?:to|you)|be\s+sure\s+to|must|should|remember\s+to)\s+(?:include|mention|use)\s+"
    r"(?P<quoted>(?:[\"“'`][^\"”'`\n]{1,60}[\"”'`][,\s]*(?:(?:and|or)\s+)?){1,8})",
    re.I,
)  # the {1,8} group is linear: each repetition must start with an opening quote
QUOTED_RE = re.compile(r"[\"“'`‘]([^\"”'`’\n]{1,60})[\"”'`’]")
LIST_SPLIT_RE = re.compile(r"\s*(?:,|;|\band\b|\bor\b|&)\s*", re.I)
START_END_RE = re.compile(
    r"\b(?P<which>start|begin|end|finish|conclude)(?:s|ing)?\s+(?:(?:your|the|each)\s+)?"
    r"(?:(?:answer|response|reply|message|output|email|letter|text|story|poem)\s+)?with\s+"
    r"(?:the\s+(?:word|phrase|sentence|line)\s+)?(?P<target>[\"“'`‘][^\"”'`’\n]{1,80}[\"”'`’]|a\s+question\b)",
    re.I,
)
CASE_RE = re.compile(
    r"\b(?P<upper>all\s+(?:capital|uppercase|upper-case)(?:\s+letters)?|all\s+caps|in\s+(?:all\s+)?"
    r"(?:capital\s+letters|caps|uppercase|upper-case))\b|"
    r"\b(?P<lower>(?:all\s+|in\s+)(?:lowercase|lower-case)(?:\s+letters)?|no\s+capital\s+letters|"
    r"lowercase\s+(?:letters\s+)?only)\b",
    re.I,
)
# fmt: off
PUNCTUATION_TARGETS = {
    "commas": ",", "comma": ",", "exclamation marks": "!", "exclamation points": "!", "semicolons": ";",
    "hyphens": "-", "dashes": "—", "emojis": "emoji", "emoji": "emoji",
}
# fmt: on
GENERIC_TARGET_WORDS = frozenset(
    {"it", "this", "that", "them", "these", "those", "anything", "something", "everything", "any", "specific"}
    | {"details", "information", "yourself", "myself", "you", "me", "your", "my", "personal", "jargon"}
    | {"technical", "terms", "examples", "words", "word", "bullet", "bullets", "markdown", "headers"}
    | {"headings", "lists", "formatting", "numbers", "names", "real", "other", "competitors"}
)
NEGATED_BEFORE_RE = re.compile(r"\b(?:not|n't|never|without|no|avoid)\s*$", re.I)
LITERAL_TARGET_RE = re.compile(r"[\"“'`‘]|(?:the|any)\s+(?:words?|terms?|phrases?|names?)\b", re.I)
CASE_SUBPART_RE = re.compile(
    r"\b(?:titles?|headings?|headlines?|headers?|subject(?:\s+line)?|names?|acronyms?|words?|letters?|keywords?|"
    r"labels?)\b[^.\n]{0,25}$",
    re.I,
)
LEADING_NOISE_RE = re.compile(r"^(?:(?:the|any|a|an|your|about|word|words|term|terms|phrase|name)\s+)+", re.I)
CLAUSE_END_RE = re.compile(
    r"\s+(?:but|in|when|because|unless|while|so|as|if|to|for|from|since|until|at|with|unless)\b", re.I
)


class Constraint(NamedTuple):
    """One checkable requirement and the words that state it."""

    kind: str  # words, sentences, characters, paragraphs, lines, items, language, forbidden, required...
    quote: str  # the clause as written
    start: int  # offset of the clause in its source text
    low: int | None = None
    high: int | None = None
    approx: bool = False
    value: Any = None  # language code, term(s), phrase, "upper"/"lower"


def _number(text: str) -> int | None:
    text = " ".join(text.lower().split())
    return int(text) if text.isdigit() else NUMBER_WORDS.get(text)


def _unit_kind(unit: str) -> str:
    unit = unit.lower()
    for kind in ("word", "sentence", "paragraph", "line"):
        if unit.startswith(kind):
            return kind + "s"
    return "characters" if unit.startswith(("character", "char")) else "items"


def _length_mode(mode: str, m: re.Match[str], kind: str) -> tuple[str, str] | None:
    """Resolve the generic "verb" mode and the unit kind; None when the match is not a length constraint."""
    groups = m.groupdict()
    if mode == "verb":
        quantifier = " ".join((groups.get("q") or "exactly").lower().split())
        mode = QUANTIFIER_MODES[quantifier]
        verb = (groups.get("verb") or "list").lower()
        if kind == "words" and not verb.startswith(("write", "compose")):
            kind = "items"  # "think of 3 new words": the words are the items
    elif kind == "characters" and mode == "exact":
        if (groups.get("prep") or "").lower() != "in":
            return None  # "a password with 12 characters" describes content, not the answer
        mode = "max"
    return mode, kind


def _length_constraints(text: str, offset: int) -> list[Constraint]:
    found: list[Constraint] = []
    taken: list[tuple[int, int]] = []
    for raw_mode, pattern in LENGTH_RES:
        for m in pattern.finditer(text):
            if any(s < m.end() and m.start() < e for s, e in taken):
                continue
            if SUBPART_RE.search(text, max(0, m.start() - 40), m.end() + 40):
                continue
            resolved = _length_mode(raw_mode, m, _unit_kind(m.group("unit")))
            n = _number(m.group("n"))
            if resolved is None or n is None:
                continue
            mode, kind = resolved
            high_raw = m.groupdict().get("m")
            m_value = _number(high_raw) if high_raw else None
            if kind == "items" and (n > MAX_LISTED_ITEMS or (mode == "exact" and n < 2)):
                continue
            low, high, approx = {
                "max_excl": (None, n - 1, False),
                "max": (None, n, False),
                "min": (n, None, False),
                "range": (n, m_value, False),
                "exact": (n, n, kind == "words"),
            }[mode]
            taken.append((m.start(), m.end()))
            found.append(Constraint(kind, m.group(0), offset + m.start(), low, high, approx))
    return found


def _forbidden_targets(raw: str) -> list[str]:
    quoted = QUOTED_RE.findall(raw)
    if quoted:
        return [q.strip(" ,") for q in quoted if q.strip(" ,")]
    clause = CLAUSE_END_RE.split(raw, maxsplit=1)[0]
    targets = [_clean_target(part) for part in LIST_SPLIT_RE.split(clause) if part.strip()]
    return [t for t in targets if t] if all(targets) else []


def _clean_target(raw: str) -> str | None:
    quoted = QUOTED_RE.match(raw.strip())
    if quoted:
        return quoted.group(1).strip()
    target = LEADING_NOISE_RE.sub("", raw.strip().rstrip(",")).strip(" \"'`“”")
    tokens = target.lower().split()
    if not tokens or len(tokens) > 3 or any(t in GENERIC_TARGET_WORDS for t in tokens):
        return None
    return target


def _term_constraints(text: str, offset: int) -> list[Constraint]:
    found: list[Constraint] = []
    for m in FORBID_RE.finditer(text):
        raw = m.group("target").strip()
        punctuation = PUNCTUATION_TARGETS.get(LEADING_NOISE_RE.sub("", raw.lower()).rstrip(" ,"))
        if m.group("loose") and not punctuation and not LITERAL_TARGET_RE.match(raw):
            continue  # "do not include examples / write code" names a category, not a literal term
        targets = [punctuation] if punctuation else _forbidden_targets(raw)
        for target in targets:
            found.append(Constraint("forbidden", m.group(0), offset + m.start(), value=target))
    for m in REQUIRE_RE.finditer(text):
        if NEGATED_BEFORE_RE.search(text, max(0, m.start() - 20), m.start()):
            continue  # "do not include the word X" is the forbidden form, parsed above
        raw = m.group("target") or m.group("quoted") or ""
        quoted = QUOTED_RE.findall(raw)
        items = quoted or [p for p in LIST_SPLIT_RE.split(raw.strip()) if p]
        terms = tuple(t.strip(" \"'`“”,") for t in items if t.strip() and len(t.split()) <= 3)
        announced = quoted or len(terms) >= 2 or "following" in m.group(0).lower() or ":" in m.group(0)
        if terms and announced and len(terms) == len(items):
            found.append(Constraint("required", m.group(0), offset + m.start(), value=terms))
    return found


@prompt_cache(maxsize=512)
def parse_constraints(text: str) -> tuple[Constraint, ...]:
    """Every checkable constraint stated in `text` (its instruction head and tail); cached per prompt."""
    if not isinstance(text, str) or not text.strip():
        return ()
    constraints: list[Constraint] = []
    for offset, chunk in instruction_window(text):
        constraints.extend(_length_constraints(chunk, offset))
        constraints.extend(_term_constraints(chunk, offset))
        for pattern in LANGUAGE_RES:
            for m in pattern.finditer(chunk):
                code = LANGUAGE_NAMES[m.group("lang").lower()]
                constraints.append(Constraint("language", m.group(0), offset + m.start(), value=code))
        for m in START_END_RE.finditer(chunk):
            target = m.group("target")
            which = "starts_with" if m.group("which").lower() in ("start", "begin") else "ends_with"
            if target.lower().startswith("a question"):
                constraints.append(Constraint("ends_with_question", m.group(0), offset + m.start()))
            elif not re.fullmatch(r".<[\w/-]+>.", target):  # required tags belong to output_format_violation
                constraints.append(Constraint(which, m.group(0), offset + m.start(), value=target[1:-1].strip()))
        for m in CASE_RE.finditer(chunk):
            if CASE_SUBPART_RE.search(chunk, max(0, m.start() - 40), m.start()):
                continue  # "write the title in all caps" constrains a part, not the whole answer
            value = "upper" if m.group("upper") else "lower"
            constraints.append(Constraint("case", m.group(0), offset + m.start(), value=value))
    return tuple(_dedupe(constraints))


def _dedupe(constraints: list[Constraint]) -> list[Constraint]:
    seen: set[tuple[object, ...]] = set()
    unique = []
    for c in constraints:
        key = (c.kind, c.low, c.high, str(c.value))
        if key not in seen:
            seen.add(key)
            unique.append(c)
    return unique
