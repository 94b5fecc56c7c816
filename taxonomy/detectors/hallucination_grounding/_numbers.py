"""Numbers in free text: digits ("1,000" = "1000", "3.45", "$5", "17th"), number words ("ten",
"twenty-five", "three hundred", "five million"), scale words, percentages, clock times and dates' days.

Every regex is compiled once and linear-time; the number-word alternation is shaped as a trie so that
scanning long contexts stays fast. The hot patterns open with the character they consume first (a digit,
a currency sign, a number word's first letter) and check what precedes it with a look-behind after it:
the regex engine then jumps between those characters instead of trying the pattern at every position.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import filterfalse

# A number written with digits: "1,000", "1000", "3.45", "$5", "17th"; not the tail of "3.45" or "1,000".
# (?<![\w.,])([$€£¥]\s?)?(\d{1,3}(?:,\d{3})+|\d+)(\.\d+)?(?:(st|nd|rd|th)\b)? written sign/digit-first:
# groups 1-2 are the space and digits after a currency sign, 3 the digits after a leading digit.
NUMBER_RE = re.compile(
    r"[$€£¥\d](?<![\w.,].)(?:(?<=[$€£¥])(\s?)(\d{1,3}(?:,\d{3})+|\d+)|(?<=\d)(\d{0,2}(?:,\d{3})+|\d*))"
    r"(\.\d+)?(?:(st|nd|rd|th)\b)?"
)
SCALE_AFTER_RE = re.compile(
    r"\s?(%|per ?cent\b|percent\b|thousand\b|million\b|billion\b|trillion\b|bn\b|m\b|k\b)", re.IGNORECASE
)
# NUMBER_RE plus a scale word, as far as values go: a currency sign only ever precedes a match that would
# also start at its first digit, so matches are taken from digits only.
DIGIT_VALUE_RE = re.compile(
    r"(\d(?<![\w.,]\d)(?:\d{0,2}(?:,\d{3})+|\d*))(\.\d+)?(?:(st|nd|rd|th)\b)?"
    r"(?:\s?(%|per ?cent\b|percent\b|thousand\b|million\b|billion\b|trillion\b|bn\b|m\b|k\b))?",
    re.IGNORECASE,
)
DIGIT_RE = re.compile(r"\d")
# (?:^|\n)[ \t]*(?:\d{1,2}[.)]|[-*•])[ \t], as a match at the start plus matches opening with a newline.
LIST_MARKER_RE = re.compile(r"\n[ \t]*(?:\d{1,2}[.)]|[-*•])[ \t]")
LEADING_LIST_MARKER_RE = re.compile(r"[ \t]*(?:\d{1,2}[.)]|[-*•])[ \t]")
UNITS = {
    w: i
    for i, w in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
        "sixteen seventeen eighteen nineteen".split()
    )
}
TENS = {w: 10 * (i + 2) for i, w in enumerate("twenty thirty forty fifty sixty seventy eighty ninety".split())}
ORDINALS = {
    w: i + 3
    for i, w in enumerate(
        "third fourth fifth sixth seventh eighth ninth tenth eleventh twelfth thirteenth fourteenth "
        "fifteenth sixteenth seventeenth eighteenth nineteenth twentieth".split()
    )
}
SCALES = {
    "hundred": 100.0,
    "thousand": 1e3,
    "million": 1e6,
    "billion": 1e9,
    "trillion": 1e12,
    "bn": 1e9,
    "m": 1e6,
    "k": 1e3,
}
SCALE_WORDS = frozenset({"hundred", "thousand", "million", "billion", "trillion"})
OTHER_NUMBER_WORDS = {"dozen": 12.0, "half": 0.5, "twice": 2.0, "double": 2.0, "triple": 3.0, "once": 1.0}
NUMBER_WORDS = {**UNITS, **TENS, **ORDINALS}


def _trie_pattern(choices: list[str]) -> str:
    """A regex alternation shaped as a trie ("t(?:en|hree|wo)"): much faster than a flat list of words."""
    trie: dict[str, dict] = {}
    for choice in choices:
        node = trie
        for ch in choice:
            node = node.setdefault(ch, {})
        node[""] = {}

    def emit(node: dict[str, dict]) -> str:
        branches = [re.escape(ch) + emit(sub) for ch, sub in sorted(node.items()) if ch]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        return f"(?:{body})?" if "" in node else body

    return emit(trie)


def _first_letter_pattern(choices: list[str]) -> str:
    """`\\b(?:trie of choices)` for lower-case text, opening with the first letter: "[ot](?<!\\w.)(?:(?<=o)ne|...)"."""
    firsts = sorted({choice[0] for choice in choices})
    branches = [f"(?<={first}){_trie_pattern([c[1:] for c in choices if c[0] == first])}" for first in firsts]
    return f"[{''.join(firsts)}](?<!\\w.)(?:{'|'.join(branches)})"


_NUMBER_WORD_ALT = _trie_pattern(list(NUMBER_WORDS))
_SCALE_WORDS_AFTER = r"((?:\s+(?:hundred|thousand|million|billion|trillion)\b)+)?"
NUMBER_WORD_RE = re.compile(
    rf"\b((?:{_NUMBER_WORD_ALT})(?:-(?:{_NUMBER_WORD_ALT}))?)\b{_SCALE_WORDS_AFTER}", re.IGNORECASE
)
# NUMBER_WORD_RE for lower-cased ASCII text (where IGNORECASE is plain lower-casing), first-letter first.
LOWER_NUMBER_WORD_RE = re.compile(
    rf"((?:{_first_letter_pattern(list(NUMBER_WORDS))})(?:-(?:{_NUMBER_WORD_ALT}))?)\b{_SCALE_WORDS_AFTER}"
)
OTHER_NUMBER_WORD_RE = re.compile(rf"\b({_trie_pattern(list(OTHER_NUMBER_WORDS))})\b", re.IGNORECASE)


_MONTH_NAMES = "january|february|march|april|may|june|july|august|september|october|november|december"
# Possessive: a month never starts with a space, and a number followed by a megabyte of spaces is not re-read.
MONTH_AFTER_RE = re.compile(rf"\s++(?:of\s++)?(?:{_MONTH_NAMES})\b", re.IGNORECASE)
MONTH_BEFORE_RE = re.compile(rf"\b(?:{_MONTH_NAMES})\.?\s+$", re.IGNORECASE)
# "7:00 PM" is 19 in a 24-hour record; the minutes are part of the time, not a separate number.
# \b(\d{1,2})(:\d{1,2})?(?::\d{2})?(?:\s?([AaPp])\.?[Mm]\b\.?)?, digit-first, and only where minutes or AM/PM
# follow: the bare numbers it would also match are never used (and hide no time, being one or two digits).
TIME_RE = re.compile(r"(\d(?<!\w\d)\d?)(?=:\d|\s?[AaPp]\.?[Mm]\b)(:\d{1,2})?(?::\d{2})?(?:\s?([AaPp])\.?[Mm]\b\.?)?")
# "a summary in 200 words": the answer describing itself, not a claim about the source.
SELF_LENGTH_RE = re.compile(r"\s?(?:words?|sentences?|paragraphs?|characters|bullet points?)\b", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class NumberMention:
    """A number in the text, its value(s) and where it is."""

    start: int
    end: int
    text: str
    values: tuple[float, ...]  # the value as written, plus its scaled variant when a scale word follows
    weak: bool  # small counts, ordinals and list-like numbers: common in paraphrase, poor evidence alone
    is_time: bool = False  # a clock time; its value is minutes past 12 on a 12-hour dial


def _parse_number(digits: str, decimals: str | None) -> float:
    return float(digits.replace(",", "") + (decimals or ""))


def stated_at(text: str, position: int) -> tuple[float, ...]:
    """The values number_values takes from a number starting at `position` of `text` (none if none does)."""
    match = DIGIT_VALUE_RE.match(text, position)
    if match is None:
        return ()
    digits, decimals, ordinal, scale = match.groups()
    value = _parse_number(digits, decimals)
    if scale and not ordinal and scale.lower() in SCALES:
        return value, value * SCALES[scale.lower()]
    return (value,)


def numbers(text: str) -> list[NumberMention]:
    """Numbers written with digits or number words, with scale words applied ("1.5 million")."""
    found: list[NumberMention] = []
    if DIGIT_RE.search(text):
        _digit_numbers(text, found)
    found.extend(_number_words(text))
    return found


def _list_marker_ends(text: str) -> set[int]:
    ends = {m.end() - 1 for m in LIST_MARKER_RE.finditer(text)}
    if leading := LEADING_LIST_MARKER_RE.match(text):
        ends.add(leading.end() - 1)
    return ends


def _digit_numbers(text: str, found: list[NumberMention]) -> None:
    """Clock times and numbers written with digits, appended to `found`."""
    list_marker_ends: set[int] | None = None
    time_spans: dict[int, int] = {}
    for match in TIME_RE.finditer(text):
        hour = int(match.group(1))
        if not (match.group(2) or match.group(3)) or hour > 24:
            continue
        # On a 12-hour dial: records write "19:0" or "7:0" for what answers call "7:00 PM"; AM/PM mix-ups
        # are left to a judge. The value is minutes past the hour on the dial.
        minutes = int(match.group(2)[1:]) if match.group(2) else 0
        time_spans[match.start()] = match.end()
        dial = float((hour % 12) * 60 + minutes)
        found.append(NumberMention(match.start(), match.end(), match.group().strip(), (dial,), True, True))
    skip_until = -1
    for match in NUMBER_RE.finditer(text):
        start = match.start()
        if start < skip_until:
            continue
        if start in time_spans:
            skip_until = time_spans[start]
            continue
        if list_marker_ends is None:
            list_marker_ends = _list_marker_ends(text)
        if match.end() in list_marker_ends or match.end() + 1 in list_marker_ends:
            continue  # "1." / "2)" list numbering
        if SELF_LENGTH_RE.match(text, match.end()):
            continue  # "in 200 words"
        currency = match.start(2) >= 0
        digits = match.group(2) if currency else text[start] + match.group(3)
        decimals, ordinal = match.group(4), match.group(5)
        value = _parse_number(digits, decimals)
        end = match.end()
        values = [value]
        scale = SCALE_AFTER_RE.match(text, end)
        if scale is not None and not ordinal:
            word = scale.group(1).lower()
            if word in SCALES:
                values.append(value * SCALES[word])
            end = scale.end()
        weak = bool(ordinal) or (value <= 10 and not decimals and not currency)
        if weak and value <= 31 and _next_to_month(text, start, end):
            weak = False  # a day of a date: "6th August", "February 29th"
        found.append(NumberMention(start, end, text[start:end], tuple(values), weak))


def _next_to_month(text: str, start: int, end: int) -> bool:
    after = MONTH_AFTER_RE.match(text, end)
    before = MONTH_BEFORE_RE.search(text[max(0, start - 12) : start])
    return after is not None or before is not None


def _number_words(text: str) -> Iterator[NumberMention]:
    """Spelled-out numbers: "ten", "twenty-five", "three hundred", "five million", "seventeenth"."""
    ascii_text = text.isascii()
    for match in LOWER_NUMBER_WORD_RE.finditer(text.lower()) if ascii_text else NUMBER_WORD_RE.finditer(text):
        parts = match.group(1).lower().split("-")
        if parts[0] in ("one", "zero") and len(parts) == 1 and not match.group(2):
            continue  # "one of them": a pronoun far more often than a count
        if not all(p in NUMBER_WORDS for p in parts):
            continue  # a case-insensitive match on an unusual letter ("ſix") that .lower() does not map
        value = float(sum(NUMBER_WORDS[p] for p in parts))
        for scale in (match.group(2) or "").lower().split():
            value *= SCALES[scale]
        weak = any(p in ORDINALS for p in parts) or value <= 12
        yield NumberMention(match.start(), match.end(), text[match.start() : match.end()], (value,), weak)


def number_values(text: str, tokens: set[str]) -> tuple[set[float], set[float]]:
    """Every value a text states, with and without its scale, plus fixed words ("dozen", "half"); and,
    separately, the clock times it states (as minutes on a 12-hour dial). `tokens` are the text's
    distinct normalised tokens, which carry the number words without another scan.

    The support side of the comparison: deliberately lenient (list numbers and the hours of times count)
    and built from distinct matches so that indexing a large context stays fast."""
    values, times = listed_values(text, tokens)
    return values | spelled_values(text, tokens), times


def listed_values(text: str, tokens: set[str]) -> tuple[set[float], set[float]]:
    """number_values without spelled-out numbers found by scanning the text (see spelled_values)."""
    values, times = digit_values(text)
    return values | word_values(tokens), times


def digit_values(text: str) -> tuple[set[float], set[float]]:
    """The values of the numbers a text writes in digits, and its clock times (see number_values)."""
    values: set[float] = set()
    times: set[float] = set()
    if DIGIT_RE.search(text):
        for digits, decimals, ordinal, scale in set(DIGIT_VALUE_RE.findall(text)):
            value = _parse_number(digits, decimals or None)
            values.add(value)
            if scale and not ordinal and scale.lower() in SCALES:
                values.add(value * SCALES[scale.lower()])
        for hour, minutes, meridiem in set(TIME_RE.findall(text)):
            if (minutes or meridiem) and int(hour) <= 24:
                times.add(float((int(hour) % 12) * 60 + (int(minutes[1:]) if minutes else 0)))
    return values, times


def word_values(tokens: set[str]) -> set[float]:
    """The values of the number words among a text's distinct normalised tokens (see number_values)."""
    values = {float(NUMBER_WORDS[token]) for token in tokens & NUMBER_WORDS.keys()}
    values.update(OTHER_NUMBER_WORDS[token] for token in tokens & OTHER_NUMBER_WORDS.keys())
    if "half" in tokens:
        values.add(50.0)
    for token in filterfalse(str.isalnum, tokens):  # "twenty-five"; hyphenated tokens are never alphanumeric
        if "-" in token and token.split("-", 1)[0] in NUMBER_WORDS:
            parts = token.split("-")
            if all(part in NUMBER_WORDS for part in parts):
                values.add(float(sum(NUMBER_WORDS[part] for part in parts)))
    return values


def spelled_values(text: str, tokens: set[str]) -> set[float]:
    """The values of the spelled-out numbers of a text that has scale words ("five million"): the costly
    part of number_values, a scan of the whole text."""
    if tokens.isdisjoint(SCALE_WORDS):
        return set()
    return {value for mention in _number_words(text) for value in mention.values}
