"""Exact prefilters: which of a set of regexes cannot match a text, decided from the text's words at once.

Running dozens of case-insensitive patterns (or their literal anchors) over every text costs far more than
tokenising it once. Each regex gets, at import, the condition every match implies (see _regex_facts) and
one "key": a set of words or other atoms one of which must be present. On a text, one set intersection of its
words with all keys picks the candidates, whose full condition is then checked. A condition is never
stronger than its regex, so a regex ruled out could not have matched; the callers still run the regex (behind
its usual anchor gate) on the texts that pass. Texts with UNSAFE_CHARS are not prefiltered at all.

`Prefilter.finditer` replaces `regex.finditer(text)` with the same matches: when every match must begin with
one of a few literal prefixes, the regex is tried only where they occur (`regex.match` at those positions,
leftmost first, resuming after each match, exactly as finditer would). `PrefilteredGate` is a `Gate` that
does both for the regexes of its prefilters.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

from taxonomy.detectors.safety_security._gate import DEFAULT_BUDGET, Gate
from taxonomy.detectors.safety_security._regex_facts import Formula, derive
from taxonomy.detectors.safety_security._regex_shapes import UNSAFE_CHARS, start_prefixes

_WORD_TABLE = bytes(b if 97 <= b <= 122 else 32 for b in range(256))  # a-z stay, every other byte separates
_DIGIT_OR_NON_ASCII_RE = re.compile("[0-9\x80-\U0010ffff]")  # what a `\d` match needs in the text
# rough chances that a text has an atom, for choosing keys: a stopword, a short or a longer word, an atom
COMMON_WORD_ODDS, SHORT_WORD_ODDS, WORD_ODDS = 0.3, 0.05, 0.01
ATOM_ODDS = {"s": 0.07, "n": 0.15, "d": 0.5}  # substrings cost an `in` check on top of their odds
MAX_STARTS_PER_CHAR = 1 / 16  # more prefix occurrences than this and a plain finditer is cheaper


def is_safe(text: str) -> bool:
    """Whether lowercasing maps every ASCII-letter match of a pattern onto the same ASCII letters."""
    return text.isascii() or not any(ch in text for ch in UNSAFE_CHARS)


class Facts:
    """What a prefilter reads of one safe text: its lowercased form, its words, which atoms it has."""

    __slots__ = ("_atoms", "_tokens", "lower")

    def __init__(self, lower: str) -> None:
        self.lower = lower
        self._tokens: list[bytes] | None = None
        self._atoms: dict[tuple, bool] = {}

    @property
    def tokens(self) -> list[bytes]:
        if self._tokens is None:
            self._tokens = self.lower.encode("utf-8", "surrogatepass").translate(_WORD_TABLE).split()
        return self._tokens

    def has(self, atom: tuple) -> bool:
        """A substring ("s", text), some non-ASCII character ("n",) or some digit ("d",) is present."""
        found = self._atoms.get(atom)
        if found is None:
            if atom[0] == "s":
                found = atom[1] in self.lower
            elif atom[0] == "n":
                found = not self.lower.isascii()
            else:
                found = _DIGIT_OR_NON_ASCII_RE.search(self.lower) is not None
            self._atoms[atom] = found
        return found


class _Node:
    """A compiled condition: the words and other atoms of one level, then nested conditions."""

    __slots__ = ("atoms", "children", "is_and", "words")

    def __init__(self, formula: Formula) -> None:
        kind, parts = (formula[0], formula[1]) if formula[0] in ("&", "|") else ("&", (formula,))
        self.is_and = kind == "&"
        self.words = frozenset(p[1] for p in parts if p[0] == "w")
        self.atoms = tuple(p for p in parts if p[0] in ATOM_ODDS)
        self.children = tuple(_Node(p) for p in parts if p[0] in ("&", "|"))

    def holds(self, facts: Facts, present: frozenset[bytes]) -> bool:
        if self.is_and:
            if not self.words.issubset(present):
                return False
            for atom in self.atoms:
                if not facts.has(atom):
                    return False
            return all(child.holds(facts, present) for child in self.children)
        if not self.words.isdisjoint(present):
            return True
        for atom in self.atoms:
            if facts.has(atom):
                return True
        return any(child.holds(facts, present) for child in self.children)


class Prefilter:
    """Candidate selection (and prefix-driven matching) for a fixed sequence of regexes."""

    def __init__(self, regexes: Sequence[re.Pattern[str]], common_words: frozenset[str] = frozenset()) -> None:
        self.regexes = list(regexes)
        self.index_of = {id(rx): i for i, rx in enumerate(self.regexes)}
        self._common = common_words
        formulas = [derive(rx) for rx in self.regexes]
        self.prefixes = [start_prefixes(rx) for rx in self.regexes]
        self.nodes = [None if f is True else _Node(f) for f in formulas]
        self.always: list[int] = []
        self.by_word: dict[bytes, list[int]] = {}
        other: dict[tuple, list[int]] = {}
        vocab: set[bytes] = set()
        for index, formula in enumerate(formulas):
            vocab.update(_words_of(formula))
            key = self._key(formula)
            if key is None:
                self.always.append(index)
                continue
            for atom in key:
                target = self.by_word.setdefault(atom[1], []) if atom[0] == "w" else other.setdefault(atom, [])
                target.append(index)
        self.by_other = list(other.items())
        self.key_words = frozenset(self.by_word)
        self.vocab = frozenset(vocab)

    def candidates(self, facts: Facts) -> list[int]:
        """Indexes (ascending) of the regexes whose derived condition holds on the text."""
        present = self.vocab.intersection(facts.tokens)
        picked = set(self.always)
        for word in self.key_words.intersection(present):
            picked.update(self.by_word[word])
        for atom, indexes in self.by_other:
            if not picked.issuperset(indexes) and facts.has(atom):
                picked.update(indexes)
        nodes = self.nodes
        return [i for i in sorted(picked) if nodes[i] is None or nodes[i].holds(facts, present)]

    def may_match(self, index: int, facts: Facts) -> bool:
        """The derived condition of one regex alone (no key lookup): False only if it surely cannot match."""
        node = self.nodes[index]
        return node is None or node.holds(facts, self.vocab.intersection(facts.tokens))

    def finditer(self, index: int, text: str, facts: Facts) -> list[re.Match[str]]:
        """`list(regexes[index].finditer(text))` for a safe text whose lowercased form is `facts.lower`."""
        regex = self.regexes[index]
        starts = self._starts(index, facts)
        if starts is None:
            return list(regex.finditer(text))
        found: list[re.Match[str]] = []
        resume = 0
        for pos in starts:
            if pos >= resume and (m := regex.match(text, pos)):
                found.append(m)
                resume = m.end()
        return found

    def search(self, index: int, text: str, facts: Facts) -> re.Match[str] | None:
        """`regexes[index].search(text)`, for a safe text whose lowercased form is `facts.lower`."""
        regex = self.regexes[index]
        starts = self._starts(index, facts)
        if starts is None:
            return regex.search(text)
        return next((m for pos in starts if (m := regex.match(text, pos))), None)

    def _starts(self, index: int, facts: Facts) -> list[int] | None:
        """Every position (ascending) where a match could begin, or None (no prefixes, or too many places)."""
        prefixes = self.prefixes[index]
        if prefixes is None:
            return None
        lower = facts.lower
        limit = len(lower) * MAX_STARTS_PER_CHAR + 16
        starts: set[int] = set()
        for prefix in prefixes:
            pos = lower.find(prefix)
            while pos >= 0:
                starts.add(pos)
                if len(starts) > limit:
                    return None
                pos = lower.find(prefix, pos + 1)
        return sorted(starts)

    def _odds(self, atom: tuple) -> float:
        if atom[0] != "w":
            return ATOM_ODDS[atom[0]]
        word = atom[1].decode()
        if word in self._common:
            return COMMON_WORD_ODDS
        return SHORT_WORD_ODDS if len(word) <= 2 else 2 * WORD_ODDS if len(word) == 3 else WORD_ODDS

    def _key(self, formula: Formula) -> frozenset[tuple] | None:
        """A set of atoms one of which every match implies, as cheap and rare as the formula allows."""
        if formula is True:
            return None
        if formula[0] not in ("&", "|"):
            return frozenset([formula])
        keys = [self._key(part) for part in formula[1]]
        if formula[0] == "|":
            return None if any(k is None for k in keys) else frozenset().union(*keys)
        known = [k for k in keys if k is not None]
        return min(known, key=lambda k: sum(map(self._odds, k))) if known else None


class PrefilteredGate(Gate):
    """A `Gate` whose `finditer` skips its prefilters' regexes that cannot match and runs the rest from their
    prefixes. Same matches as `Gate.finditer`; long or unsafe texts take the plain `Gate` path."""

    def __init__(self, text: str, *prefilters: Prefilter) -> None:
        super().__init__(text)
        self.prefilters = prefilters
        self.facts = Facts(self.lower) if is_safe(text) else None
        self._candidates: dict[int, frozenset[int]] = {}

    def _owner(self, pattern: re.Pattern[str]) -> tuple[Prefilter, int] | None:
        for prefilter in self.prefilters:
            index = prefilter.index_of.get(id(pattern))
            if index is not None:
                return prefilter, index
        return None

    def _can_match(self, prefilter: Prefilter, index: int) -> bool:
        found = self._candidates.get(id(prefilter))
        if found is None:
            found = self._candidates[id(prefilter)] = frozenset(prefilter.candidates(self.facts))
        return index in found

    def all_matches(self, prefilter: Prefilter) -> list[list[re.Match[str]]]:
        """`[list(rx.finditer(self.text)) for rx in prefilter.regexes]` (`prefilter` must be one of the gate's)."""
        if self.facts is None:
            return [list(rx.finditer(self.text)) for rx in prefilter.regexes]
        found: list[list[re.Match[str]]] = [[] for _ in prefilter.regexes]
        for index in prefilter.candidates(self.facts):
            found[index] = prefilter.finditer(index, self.text, self.facts)
        return found

    def matches(self, pattern: re.Pattern[str]) -> list[re.Match[str]]:
        """`list(pattern.finditer(self.text))`: the whole text, no anchor gate."""
        owner = self._owner(pattern)
        if self.facts is None or owner is None:
            return list(pattern.finditer(self.text))
        return owner[0].finditer(owner[1], self.text, self.facts) if self._can_match(*owner) else []

    def finditer(
        self, pattern: re.Pattern[str], anchors: re.Pattern[str], budget: int = DEFAULT_BUDGET
    ) -> Iterator[re.Match[str]]:
        owner = self._owner(pattern)
        if self.facts is None or owner is None or len(self.text) > budget:
            yield from super().finditer(pattern, anchors, budget)
        elif self._can_match(*owner) and anchors.search(self.lower):
            yield from owner[0].finditer(owner[1], self.text, self.facts)


def _words_of(formula: Formula) -> set[bytes]:
    if formula is True:
        return set()
    if formula[0] == "w":
        return {formula[1]}
    if formula[0] in ("&", "|"):
        return set().union(*(_words_of(part) for part in formula[1]))
    return set()
