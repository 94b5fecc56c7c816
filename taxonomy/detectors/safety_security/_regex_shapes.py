"""Parse-tree helpers for _regex_facts: what characters an item of a regex can match, and its literal strings.

Works on `re._parser` trees. `shape` tells whether an item can match nothing and whether its first / last
character can be an ASCII letter (for word boundaries), `expand` the finite set of strings a small item
matches (`ignor(?:e|ing)`, `summari[sz]e`, `s?`), `start_prefixes` the strings every match begins with.
Answers are conservative: when unsure, an item may match letters, may be empty, and is not finite.
"""

from __future__ import annotations

import itertools
import re

try:  # the parser is internal to `re`; without it nothing is derived (every pattern stays a candidate)
    from re import _constants as C
    from re import _parser as P
except ImportError:  # pragma: no cover
    C = P = None

# dotted capital I, dotless small i, long s and the Kelvin sign: they IGNORECASE-match ASCII letters
UNSAFE_CHARS = "\u0130\u0131\u017f\u212a"
LETTERS = frozenset("abcdefghijklmnopqrstuvwxyz")
EXPANSION_CAP = 64
REPEATS = () if C is None else (C.MAX_REPEAT, C.MIN_REPEAT, C.POSSESSIVE_REPEAT)
_ZERO_WIDTH_OPS = () if C is None else (C.AT, C.ASSERT, C.ASSERT_NOT)


def parse(regex: re.Pattern[str]) -> list | None:
    if P is None or not isinstance(regex.pattern, str):
        return None
    try:
        return list(P.parse(regex.pattern, regex.flags))
    except Exception:  # the pattern compiled, so only a changed parser could get here
        return None


def start_prefixes(regex: re.Pattern[str]) -> tuple[str, ...] | None:
    """Lowercase ASCII strings one of which every match begins with (None: unknown, or a match may be empty)."""
    items = parse(regex)
    try:
        prefixes = None if items is None else _seq_prefixes(items)
    except (TypeError, ValueError, IndexError, AttributeError):
        return None
    if not prefixes or not all(p and p.isascii() for p in prefixes):
        return None
    lowered = sorted({p.lower() for p in prefixes}, key=len)
    kept: list[str] = []
    for p in lowered:  # "ignor" covers "ignore" and "ignoring"
        if not any(p.startswith(k) for k in kept):
            kept.append(p)
    return tuple(kept)


def _seq_prefixes(items: list) -> list[str] | None:
    i = 0
    while i < len(items) and items[i][0] in _ZERO_WIDTH_OPS:
        i += 1
    if i == len(items):
        return None
    strings = expand(items[i])
    if strings is not None:
        for item in items[i + 1 :]:
            more = expand(item)
            if more is None or len(strings) * len(more) > EXPANSION_CAP:
                break
            strings = [a + b for a in strings for b in more]
        return None if "" in strings else strings
    op, av = items[i]
    if op is C.SUBPATTERN:
        return _seq_prefixes(list(av[-1]))
    if op is C.ATOMIC_GROUP:
        return _seq_prefixes(list(av))
    if op in REPEATS and av[0] >= 1:
        return _seq_prefixes(list(av[2]))
    if op is C.BRANCH:
        out: list[str] = []
        for alt in av[1]:
            strings = _seq_prefixes(list(alt))
            if strings is None:
                return None
            out.extend(strings)
        return out
    return None


def _is_letter(ch: str) -> bool:
    """Whether a pattern character can match an ASCII letter in a safe text."""
    return ch.lower() in LETTERS or ch in UNSAFE_CHARS


_LETTER_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ" + UNSAFE_CHARS
_NO_LETTER_CATEGORIES = ("CATEGORY_DIGIT", "CATEGORY_SPACE", "CATEGORY_NOT_WORD", "CATEGORY_LINEBREAK")


def is_digit_class(items: list) -> bool:
    """Whether a character class matches decimal digits only (`\\d`, `[0-9]`)."""
    for op, av in items:
        if op is C.LITERAL and "0" <= chr(av) <= "9":
            continue
        if op is C.RANGE and ord("0") <= av[0] <= av[1] <= ord("9"):
            continue
        if op is C.CATEGORY and str(av) == "CATEGORY_DIGIT":
            continue
        return False
    return bool(items)


def _set_has_letter(items: list) -> bool:
    """Whether a character class can match an ASCII letter (True when unsure)."""
    for op, av in items:
        if op is C.LITERAL and not _is_letter(chr(av)):
            continue
        if op is C.RANGE and not any(av[0] <= ord(ch) <= av[1] for ch in _LETTER_CHARS):
            continue
        if op is C.CATEGORY and str(av) in _NO_LETTER_CATEGORIES:
            continue
        return True  # a letter, a category with letters, a negation (not worth proving), or an unknown item
    return False


class Shape:
    """Can the item match nothing; if it matches something, is its first / last character surely not a letter."""

    __slots__ = ("empty", "first", "last")

    def __init__(self, empty: bool, first: bool, last: bool) -> None:
        self.empty, self.first, self.last = empty, first, last


_UNKNOWN = Shape(True, False, False)
_ZERO_WIDTH = Shape(True, True, True)


def shape(item: tuple) -> Shape:
    op, av = item
    if op is C.LITERAL:
        other = not _is_letter(chr(av))
        return Shape(False, other, other)
    if op is C.IN:
        other = not _set_has_letter(av)
        return Shape(False, other, other)
    if op in (C.ASSERT, C.ASSERT_NOT):
        return _ZERO_WIDTH
    if op is C.SUBPATTERN:
        return seq_shape(list(av[-1]))
    if op is C.ATOMIC_GROUP:
        return seq_shape(list(av))
    if op is C.BRANCH:
        shapes = [seq_shape(list(alt)) for alt in av[1]]
        return Shape(any(s.empty for s in shapes), all(s.first for s in shapes), all(s.last for s in shapes))
    if op in REPEATS:
        body = seq_shape(list(av[2]))
        return Shape(av[0] == 0 or body.empty, body.first, body.last)
    if op is C.AT:
        return _ZERO_WIDTH  # handled where boundaries are read; transparent for first/last characters
    if op in (C.NOT_LITERAL, C.ANY):
        return Shape(False, False, False)
    return _UNKNOWN


def seq_shape(items: list) -> Shape:
    shapes = [shape(item) for item in items]
    first = last = True
    for s in shapes:
        first = first and s.first
        if not s.empty:
            break
    for s in reversed(shapes):
        last = last and s.last
        if not s.empty:
            break
    return Shape(all(s.empty for s in shapes), first, last)


_START_ATS = ("AT_BEGINNING", "AT_BEGINNING_LINE", "AT_BEGINNING_STRING", "AT_BOUNDARY", "AT_UNI_BOUNDARY")
_END_ATS = ("AT_END", "AT_END_LINE", "AT_END_STRING", "AT_BOUNDARY", "AT_UNI_BOUNDARY")


def bound(items: list, index: int, step: int, inherited: bool) -> bool:
    """Whether the character just before (step -1) / after (step +1) items[index] is surely not a letter.

    A `\\b` next to a run counts: either the run's edge is a letter and the boundary puts a non-word character
    beside it, or the run's edge is not a letter and the word split happens inside the run anyway."""
    j = index + step
    while 0 <= j < len(items):
        op, av = items[j]
        if op is C.AT:
            return str(av) in (_START_ATS if step < 0 else _END_ATS)
        item_shape = shape(items[j])
        edge = item_shape.last if step < 0 else item_shape.first
        if not item_shape.empty:
            return edge
        if not edge:
            return False
        j += step
    return inherited


def expand(item: tuple) -> list[str] | None:
    """The finite set of strings an item matches, or None (too many, or not finite)."""
    op, av = item
    if op is C.LITERAL:
        ch = chr(av)
        return None if ch in UNSAFE_CHARS else [ch]
    if op is C.IN:
        if len(av) <= 8 and all(o is C.LITERAL and chr(v) not in UNSAFE_CHARS for o, v in av):
            return [chr(v) for _, v in av]
        return None
    if op is C.SUBPATTERN:
        return expand_seq(list(av[-1]))
    if op is C.BRANCH:
        out: list[str] = []
        for alt in av[1]:
            strings = expand_seq(list(alt))
            if strings is None:
                return None
            out.extend(strings)
        return out if len(out) <= EXPANSION_CAP else None
    if op in REPEATS and av[1] <= 3:
        body = expand_seq(list(av[2]))
        if body is None:
            return None
        out = []
        for count in range(av[0], av[1] + 1):
            out.extend("".join(p) for p in itertools.product(body, repeat=count))
            if len(out) > EXPANSION_CAP:
                return None
        return out
    return None


def expand_seq(items: list) -> list[str] | None:
    strings = [""]
    for item in items:
        part = expand(item)
        if part is None or len(strings) * len(part) > EXPANSION_CAP:
            return None
        strings = [a + b for a in strings for b in part]
    return strings
