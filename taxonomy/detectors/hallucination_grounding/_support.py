"""A support index over the evidence an answer may rely on (context, input, earlier turns), and the
lookups the grounding detectors make against it: is this number, entity, quote or sentence backed?

Lookups are set membership on tokens, stems, bigrams, acronyms and number values, never substring
scans, so checking many facts against a large context stays linear overall.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from itertools import filterfalse, pairwise
from math import isfinite
from operator import methodcaller

from taxonomy.detectors.hallucination_grounding._aliases import aliases
from taxonomy.detectors.hallucination_grounding._facts import (
    GENERIC_HEADS,
    JOINERS_DELETED,
    JOINERS_TO_SPACE,
    POSSESSIVE_ENDINGS,
    EntityMention,
    bare_token,
    cached_stem,
    content_stems,
    normalize,
    token_parts,
)
from taxonomy.detectors.hallucination_grounding._numbers import (
    NumberMention,
    listed_values,
    spelled_values,
    stated_at,
)
from taxonomy.detectors.hallucination_grounding._tokens import TOKEN_RE, stem_set, token_set, word_list
from taxonomy.text import WORD_RE

# "UnleashedUnleashed is", "NightWedding": knowledge-graph dumps glue sentences without a space.
CAMEL_JOIN_RE = re.compile(r"[a-z][A-Z]")
CAMEL_SPLIT_RE = re.compile(r"(?<=[a-z])(?=[A-Z])")
# Only word starts can open a run, and runs never give back characters: linear on glued "abcDefabcDef...".
# (\b[A-Z]..., written capital-first so that the regex engine jumps between capitals.)
CAPITALISED_RUN_RE = re.compile(
    r"[A-Z](?<!\w[A-Z])[\w'’-]*+(?:[ \t]++(?:of[ \t]++|and[ \t]++|the[ \t]++|for[ \t]++)?[A-Z][\w'’-]*+)+"
)
DEMONYM_PREFIX = 4
MAX_NUMBER_PROBES = 20  # occurrences of a number's digits read before reading all numbers instead
# ASCII lower-case letters to "a", upper-case ones to "A", every other byte to a space: b"aA" marks a join.
_LETTER_CASES = bytes(0x61 if 0x61 <= b <= 0x7A else 0x41 if 0x41 <= b <= 0x5A else 0x20 for b in range(256))


def _raw_tokens(text: str) -> set[str]:
    """The distinct TOKEN_RE tokens of `text` as written, plus those of the text split at camel-case joins
    (CAMEL_SPLIT_RE): a join lies inside one token, so only the tokens holding one are split again."""
    raw = token_set(text)
    if b"aA" in text.encode("utf-8", "surrogatepass").translate(_LETTER_CASES):  # CAMEL_JOIN_RE.search(text)
        mixed = filterfalse(str.isupper, filterfalse(str.istitle, filterfalse(str.islower, raw)))
        for token in [token for token in mixed if CAMEL_JOIN_RE.search(token)]:
            raw.update(TOKEN_RE.findall(CAMEL_SPLIT_RE.sub(" ", token)))
    return raw


def _normalized(text: str, raw: set[str]) -> set[str]:
    """`{normalize(t) for t in raw}` (the tokens of `text`); an ASCII token just lower-cases (tokens hold
    no whitespace, so lower-casing them joined is lower-casing each)."""
    if text.isascii():
        return set(" ".join(raw).lower().split())
    ascii_tokens = set(filter(str.isascii, raw))
    tokens = set(" ".join(ascii_tokens).lower().split())
    tokens.update(map(normalize, raw - ascii_tokens))
    return tokens


def _apostrophe_words(tokens: list[str]) -> list[str]:
    """The words (WORD_RE) with an inner apostrophe of joined tokens ("o'neil" of "o'neil-smith")."""
    return [word for token in tokens if "'" in token for word in WORD_RE.findall(token) if "'" in word]


def _split_forms(tokens: list[str]) -> set[str]:
    """Forms of tokens with inner joiners (see token_parts, bare_token): their parts, the parts glued, the
    token without "'s" ("stahl-david" -> "stahl", "david", "stahldavid"; "lowry's" -> "lowry")."""
    forms = set(" ".join(tokens).translate(JOINERS_TO_SPACE).split())
    forms.update(map(methodcaller("translate", JOINERS_DELETED), tokens))
    forms.update(token[:-2] for token in tokens if token.endswith(POSSESSIVE_ENDINGS))
    return forms


class SupportIndex:
    """Everything the answer may legitimately draw on, indexed for O(1) lookups.

    Tokens and stems are built as texts are added; the parts few answers need (bigrams for quotes, number
    values, codes, acronyms, prefixes) are derived from the added texts on first use."""

    __slots__ = (
        "_acronyms",
        "_added",
        "_bigrams",
        "_codes",
        "_listed_values",
        "_prefixes",
        "_times",
        "_values",
        "stems",
        "tokens",
    )

    def __init__(self) -> None:
        self.tokens: set[str] = set()
        self.stems: set[str] = set()
        # Per added text: the text, its tokens as written, normalised, the normalised ones new to the index,
        # and when all were new, the stems of its words (see word_stems).
        self._added: list[tuple[str, set[str], set[str], set[str], set[str] | None]] = []
        self._reset_derived()

    def _reset_derived(self) -> None:
        self._bigrams: set[tuple[str, str]] | None = None
        self._acronyms: set[str] | None = None
        self._codes: set[str] | None = None  # all-caps short tokens as written: "CA", "UK", "NYC"
        self._prefixes: set[str] | None = None
        self._listed_values: set[float] | None = None  # values found without scanning for spelled numbers
        self._values: set[float] | None = None
        self._times: set[float] | None = None  # clock times, as minutes on a 12-hour dial

    @classmethod
    def build(cls, texts: Iterable[str]) -> SupportIndex:
        index = cls()
        for text in texts:
            if text:
                index.add(text)
        return index

    def add(self, text: str) -> None:
        raw = _raw_tokens(text)
        tokens = _normalized(text, raw)
        new_tokens = tokens - self.tokens
        self.tokens |= new_tokens
        word_stems = stem_set(new_tokens)
        self.stems |= word_stems
        # TOKEN_RE tokens are letters/digits plus inner - . ' ’: those with joiners add their forms.
        joined = list(filterfalse(str.isalnum, new_tokens))
        if joined:
            forms = _split_forms(joined)
            self.tokens |= forms
            form_stems = stem_set(forms)
            self.stems |= form_stems
            word_stems |= form_stems
            word_stems |= stem_set(_apostrophe_words(joined))
        own = word_stems if len(new_tokens) == len(tokens) else None  # else other texts' stems are mixed in
        self._added.append((text, raw, tokens, new_tokens, own))
        self._reset_derived()

    @property
    def bigrams(self) -> set[tuple[str, str]]:
        if self._bigrams is None:
            self._bigrams = set()
            for text, _, _, _, _ in self._added:
                self._bigrams.update(pairwise(word_list(normalize(text))))
        return self._bigrams

    @property
    def codes(self) -> set[str]:
        if self._codes is None:
            self._codes = set()
            for _, raw, _, _, _ in self._added:
                self._codes.update(t.replace(".", "").lower() for t in raw if t.isupper() and 2 <= len(t) <= 6)
        return self._codes

    @property
    def prefixes(self) -> set[str]:
        if self._prefixes is None:
            self._prefixes = set()
            for _, _, _, new_tokens, _ in self._added:
                self._prefixes.update(tok[:DEMONYM_PREFIX] for tok in new_tokens if len(tok) > DEMONYM_PREFIX)
        return self._prefixes

    @property
    def acronyms(self) -> set[str]:
        if self._acronyms is None:
            self._acronyms = set()
            for text, _, _, _, _ in self._added:
                for match in CAPITALISED_RUN_RE.finditer(text):
                    self._acronyms.add("".join(w[0] for w in match.group().split() if w[:1].isupper()).lower())
        return self._acronyms

    @property
    def values(self) -> set[float]:
        """Every number value the evidence states (number_values)."""
        if self._values is None:
            self._values = set(self.listed_values)
            for text, _, tokens, _, _ in self._added:
                self._values |= spelled_values(text, tokens)
        return self._values

    @property
    def listed_values(self) -> set[float]:
        """The values but those of spelled-out numbers with scale words: a subset of `values`, cheaper."""
        if self._listed_values is None:
            self._listed_values, self._times = set(), set()
            for text, _, tokens, _, _ in self._added:
                values, times = listed_values(text, tokens)
                self._listed_values |= values
                self._times |= times
        return self._listed_values

    @property
    def times(self) -> set[float]:
        if self._times is None:
            _ = self.listed_values
        return self._times  # type: ignore[return-value]

    def word_stems(self, text: str) -> set[str]:
        """A superset of content_stems(text) for a text of the index, from its tokens when it is ASCII: every
        word (WORD_RE) lies inside one of its tokens (TOKEN_RE): it is the token, one of its parts (forms),
        or a word with an apostrophe of it."""
        if text.isascii():
            for added, _, tokens, _, own in self._added:
                if added is text:
                    if own is not None:
                        return own
                    words = set(filter(str.isalnum, tokens))
                    for token in filterfalse(str.isalnum, tokens):
                        words.update(WORD_RE.findall(token))
                    return stem_set(words)
        return content_stems(text)

    def has_token(self, token: str) -> bool:
        """Whether the evidence has this word: as written, stemmed, without "'s", or all its parts."""
        token = bare_token(token)
        if token in self.tokens or cached_stem(token) in self.stems:
            return True
        parts = token_parts(token)
        if len(parts) < 2:
            return False
        if "".join(parts) in self.tokens:
            return True
        pieces = [p for p in parts if len(p) > 1]
        return bool(pieces) and all(p in self.tokens or cached_stem(p) in self.stems for p in pieces)

    def has_value(self, mention: NumberMention) -> bool:
        if mention.is_time:
            return any(value in self.times for value in mention.values)
        if all(map(isfinite, mention.values)) and (
            self._written(mention.values) or self._states(mention.values, self.listed_values)
        ):
            return True  # found without reading every number of the evidence
        return self._states(mention.values, self.values)

    def _written(self, mention_values: tuple[float, ...]) -> bool:
        """Whether a text states one of the values written out in digits the plain way ("1889", "3.5"): each
        occurrence of those digits that starts a number is read; a hit is one of `values`, a miss proves
        nothing."""
        for value in mention_values:
            key = str(int(value)) if value == int(value) and abs(value) < 1e15 else repr(value)
            for text, _, _, _, _ in self._added:
                position, tries = text.find(key), 0
                while position != -1 and tries < MAX_NUMBER_PROBES:
                    if value in stated_at(text, position):
                        return True
                    position, tries = text.find(key, position + 1), tries + 1
        return False

    @staticmethod
    def _states(mention_values: tuple[float, ...], values: set[float]) -> bool:
        for value in mention_values:
            if value in values:
                return True
            if value != int(value) and any(abs(v - value) < 0.051 for v in values):
                return True  # 3.45 reported as 3.5 (kept strict for whole numbers: years, counts)
        return False

    def has_alias(self, name: str) -> bool:
        """Whether the evidence names `name` another way ("California" written "CA", "Spanish" as "Spain")."""
        for alternative in aliases(name):
            if len(alternative) == 1 and len(alternative[0]) <= 3:
                if alternative[0] in self.codes:
                    return True
            elif all(self.has_token(t) for t in alternative):
                return True
        return False

    def entity_support(self, mention: EntityMention) -> tuple[float, bool]:
        """Share of the entity's identifying tokens found in the evidence, and whether its distinctive last
        token (a surname, "Costner" of "Kevin Costner") is among the missing ones.

        Acronyms, aliases and demonyms count as support; a shared 4-letter prefix counts half."""
        if len(mention.tokens) > 1 and self.has_alias(" ".join(mention.tokens)):
            return 1.0, False
        found = 0.0
        last_missing = False
        for position, token in enumerate(mention.tokens):
            bare = token.replace(".", "")
            if self.has_token(token) or self.has_alias(bare) or (len(bare) >= 2 and bare in self.acronyms):
                found += 1
            elif len(token) > DEMONYM_PREFIX and token[:DEMONYM_PREFIX] in self.prefixes:
                found += 0.5  # "British" vs "Britain", "Portuguese" vs "Portugal": weak support
            elif position == len(mention.tokens) - 1 and bare not in GENERIC_HEADS:
                last_missing = True
        return found / len(mention.tokens), last_missing

    def phrase_support(self, text: str) -> float:
        """Share of a phrase's word bigrams (or words, for a single word) present in the evidence."""
        plain = word_list(normalize(text))
        if len(plain) < 2:
            return 1.0 if not plain or self.has_token(plain[0]) else 0.0
        pairs = list(pairwise(plain))
        return sum(pair in self.bigrams for pair in pairs) / len(pairs)

    def stem_coverage(self, content_stems: set[str]) -> float:
        if not content_stems:
            return 1.0
        return sum(1 for s in content_stems if s in self.stems or s in self.tokens) / len(content_stems)
