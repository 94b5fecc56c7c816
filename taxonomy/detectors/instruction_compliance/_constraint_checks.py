"""Checking a parsed Constraint against an answer: counts, language, terms, start/end phrases, letter case.

Counts that depend on a splitter (sentences, paragraphs, lines, list items) get one unit of slack before a
miss is a failure (off by one is "unsure"); word and character counts are exact, except "in N words" /
"a N-word ..." which are read as approximate (fail outside 0.5N-2N, unsure outside 0.7N-1.4N). An answer
too short to identify its language, or a list count on an answer without a list, is not judged.
"""

from __future__ import annotations

import re
from itertools import pairwise
from typing import NamedTuple

from taxonomy.detectors.instruction_compliance._constraints import Constraint
from taxonomy.detectors.instruction_compliance._language import detect_language, language_label, target_share
from taxonomy.detectors.instruction_compliance._markdown import (
    ListItem,
    list_items,
    mask_code,
    safe_sentences,
    top_level_items,
)
from taxonomy.text import WORD_RE, stem, words

EMOJI_RE = re.compile(r"[\U0001F300-\U0001FAFF\u2600-\u27BF\U0001F000-\U0001F2FF]")
# A blank line, or a "***" line. The "***" line's indent is horizontal whitespace only: "^\s*" would let every
# line start re-read all the blank lines after it (quadratic on a run of whitespace lines); blank lines
# around a "***" land in a paragraph instead of the separator, which changes no non-blank paragraph.
PARAGRAPH_SPLIT_RE = re.compile(r"\n[ \t]*\n|^[^\S\n]*\*\*\*\s*$", re.MULTILINE)
EDGE_MARKUP = " \t\r\n*_#>\"'“”`"
MIN_WORDS_FOR_LANGUAGE = 12
CASE_SAMPLE_CHARS = 50_000
SCAN_CHARS = 200_000  # regex word scans stop here; beyond it words are counted by whitespace
SPLITTER_COUNTED = frozenset({"sentences", "paragraphs", "lines", "items"})


class Check(NamedTuple):
    """A constraint the answer misses."""

    status: str  # "fail", "unsure" or "skipped" (cannot be judged on this answer)
    evidence_type: str
    description: str
    span: tuple[int, int]
    severity: float
    confidence: float


class Answer:
    """The answer with its derived views, computed once and only when a check needs them."""

    def __init__(self, text: str) -> None:
        self.text = text
        self._masked: str | None = None
        self._words: int | None = None
        self._stems: set[str] | None = None

    @property
    def masked(self) -> str:
        if self._masked is None:
            self._masked = mask_code(self.text)
        return self._masked

    @property
    def stems(self) -> set[str]:
        """Stems of the answer's distinct lower-cased words."""
        if self._stems is None:
            self._stems = {stem(w) for w in set(WORD_RE.findall(self.text[:SCAN_CHARS].lower()))}
        return self._stems

    @property
    def word_count(self) -> int:
        if self._words is None:
            head, rest = self.text[:SCAN_CHARS], self.text[SCAN_CHARS:]
            self._words = len(WORD_RE.findall(head)) + len(rest.split())  # the far tail is only estimated
        return self._words

    def count(self, kind: str) -> int | None:
        if kind == "words":
            return self.word_count
        if kind == "characters":
            return len(self.text.strip())
        if kind == "sentences":
            return len(safe_sentences(self.masked))
        if kind == "paragraphs":
            return sum(1 for block in PARAGRAPH_SPLIT_RE.split(self.text.strip()) if block and block.strip())
        if kind == "lines":
            return sum(1 for line in self.text.splitlines() if line.strip())
        return _list_count(top_level_items(list_items(self.masked)))

    def whole(self) -> tuple[int, int]:
        return (0, min(len(self.text), 160))

    def tail(self) -> tuple[int, int]:
        return (max(0, len(self.text) - 160), len(self.text))


def _list_count(items: list[ListItem]) -> int | None:
    """How many items the answer's main list has: its numbered items when there are any, else its bullets.

    None when there is no list, or when numbering restarts (several lists: which one is "the" list?).
    """
    numbered = [item for item in items if item.kind == "number"]
    if len(numbered) >= 2:
        numbers = [item.number or 0 for item in numbered]
        restarts = any(later <= earlier for earlier, later in pairwise(numbers))
        return None if restarts else len(numbered)
    bullets = [item for item in items if item.kind == "bullet"]
    return len(bullets) if len(bullets) >= 2 else None


def _bounds_text(c: Constraint) -> str:
    if c.low == c.high:
        return f"{'about ' if c.approx else 'exactly '}{c.low}"
    if c.low is None:
        return f"at most {c.high}"
    if c.high is None:
        return f"at least {c.low}"
    return f"{c.low}-{c.high}"


def _skipped(reason: str) -> Check:
    return Check("skipped", "not_judged", reason, (0, 0), 0.0, 0.0)


def check_length(c: Constraint, answer: Answer) -> Check | None:
    count = answer.count(c.kind)
    if count is None:
        return _skipped("the answer has no Markdown list to count")
    low, high = c.low, c.high
    if c.approx and low is not None:
        hard_low, hard_high = low * 0.5, max(low * 2.0, low + 2)
        soft_low, soft_high = low * 0.7, max(low * 1.4, low + 1)
    else:
        slack = 1 if c.kind in SPLITTER_COUNTED else 0
        hard_low = (low - slack) if low is not None else None
        hard_high = (high + slack) if high is not None else None
        soft_low, soft_high = low, high
    too_short = hard_low is not None and count < hard_low
    too_long = hard_high is not None and count > hard_high
    near = (soft_low is not None and count < soft_low) or (soft_high is not None and count > soft_high)
    if not (too_short or too_long or near):
        return None
    description = f"Asked for {_bounds_text(c)} {c.kind}; the answer has {count}."
    span = answer.tail() if too_long or (near and soft_high is not None and count > soft_high) else answer.whole()
    if not (too_short or too_long):
        return Check("unsure", "length_borderline", description, span, 1.0, 0.5)
    reference = hard_high if too_long else hard_low
    off_by = abs(count - reference) / max(reference or 1, 1)
    severity = 3.0 if off_by >= 0.5 else 2.0 if off_by >= 0.15 else 1.5
    confidence = 0.9 if c.kind in ("words", "characters") else 0.75
    if off_by < 0.05:
        confidence = 0.6  # a few words over: counting conventions differ
    if c.kind == "items" and c.low == c.high:
        confidence = 0.7
    return Check("fail", "length_violation", description, span, severity, confidence)


def check_language(c: Constraint, answer: Answer) -> Check | None:
    text = answer.masked
    guess = detect_language(text)
    target = str(c.value)
    if guess.code is None or guess.word_count < MIN_WORDS_FOR_LANGUAGE:
        return _skipped("the answer is too short to identify its language")
    if guess.code == target:
        return None
    share = target_share(text, target)
    if share >= 0.5 * guess.share:
        return None  # mixed text with a solid share of the target language (e.g. a translation with a preamble)
    description = f"Asked to answer in {language_label(target)}; the answer reads as {guess.label}."
    if share < 0.25 * guess.share and guess.margin >= 0.3:
        return Check("fail", "wrong_language", description, answer.whole(), 3.5, 0.85)
    return Check("unsure", "wrong_language", description, answer.whole(), 2.0, 0.5)


def _term_pattern(term: str) -> re.Pattern[str]:
    """The term with each word's plural/possessive optional ("interest rates" also finds "interest rate")."""
    parts = []
    for word in term.split():
        base = word[:-1] if word.endswith("s") and not word.endswith("ss") and len(word) > 3 else word
        parts.append(re.escape(base) + r"(?:s|es|'s)?")
    body = r"\s+".join(parts)
    return re.compile(rf"(?<!\w){body}(?!\w)", re.IGNORECASE)


def check_forbidden(c: Constraint, answer: Answer) -> Check | None:
    target = str(c.value)
    if target == "emoji":
        match = EMOJI_RE.search(answer.text)
    elif len(target) == 1 or target == "—":
        at = answer.masked.find(target)
        match = None if at == -1 else (at, at + 1)
        if match:
            count = answer.masked.count(target)
            return Check(
                "fail",
                "forbidden_term",
                f"Asked not to use {target!r}; the answer uses it {count} time(s).",
                match,
                2.0,
                0.9,
            )
        return None
    else:
        match = _term_pattern(target).search(answer.text)
    if match is None:
        return None
    span = (match.start(), match.end())
    return Check("fail", "forbidden_term", f"Asked not to mention {target!r}; the answer does.", span, 3.0, 0.85)


def check_required(c: Constraint, answer: Answer) -> Check | None:
    missing = []
    for term in c.value:
        if _term_pattern(term).search(answer.text):
            continue
        term_stems = {stem(w) for w in words(term)}
        if term_stems and not term_stems <= answer.stems:
            missing.append(term)
    if not missing:
        return None
    listed = ", ".join(repr(m) for m in missing)
    return Check("fail", "missing_term", f"Asked to include {listed}; the answer does not.", answer.whole(), 2.5, 0.8)


def check_edges(c: Constraint, answer: Answer) -> Check | None:
    if c.kind == "ends_with_question":
        if answer.text.rstrip(EDGE_MARKUP).endswith("?"):
            return None
        return Check(
            "fail", "wrong_ending", "Asked to end with a question; the answer does not.", answer.tail(), 2.0, 0.85
        )
    target = " ".join(str(c.value).casefold().split())
    if c.kind == "starts_with":
        head = " ".join(answer.text.lstrip(EDGE_MARKUP)[: len(target) + 40].casefold().split())
        if head.startswith(target):
            return None
        return Check(
            "fail", "wrong_opening", f"Asked to start with {c.value!r}; the answer does not.", answer.whole(), 2.0, 0.85
        )
    end = " ".join(answer.text.rstrip(EDGE_MARKUP)[-(len(target) + 40) :].casefold().split())
    if end.endswith(target) or end.rstrip(".!?").endswith(target.rstrip(".!?")):
        return None
    return Check(
        "fail", "wrong_ending", f"Asked to end with {c.value!r}; the answer does not.", answer.tail(), 2.0, 0.85
    )


def check_case(c: Constraint, answer: Answer) -> Check | None:
    sample = answer.masked[:CASE_SAMPLE_CHARS]
    upper = sum(1 for ch in sample if ch.isupper())
    lower = sum(1 for ch in sample if ch.islower())
    if upper + lower < 10:
        return None
    wrong = lower if c.value == "upper" else upper
    share = wrong / (upper + lower)
    if share <= 0.02:
        return None
    wanted = "all capital letters" if c.value == "upper" else "all lowercase"
    return Check(
        "fail", "wrong_case", f"Asked for {wanted}; {share:.0%} of the letters are not.", answer.whole(), 2.0, 0.9
    )


# fmt: off
CHECKERS = {
    "words": check_length, "sentences": check_length, "characters": check_length,
    "paragraphs": check_length, "lines": check_length, "items": check_length, "language": check_language,
    "forbidden": check_forbidden, "required": check_required, "starts_with": check_edges,
    "ends_with": check_edges, "ends_with_question": check_edges, "case": check_case,
}
# fmt: on


def check_constraint(c: Constraint, answer: Answer) -> Check | None:
    """The violation of `c` by the answer, or None when it is met or cannot be judged."""
    return CHECKERS[c.kind](c, answer)
