"""A support index over the evidence an answer may rely on (context, input, earlier turns), and the
lookups the grounding detectors make against it: is this number, entity, quote or sentence backed?

Lookups are set membership on tokens, stems, bigrams, acronyms and number values, never substring
scans, so checking many facts against a large context stays linear overall.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import pairwise

from taxonomy.detectors.hallucination_grounding._aliases import aliases
from taxonomy.detectors.hallucination_grounding._facts import (
    GENERIC_HEADS,
    TOKEN_RE,
    EntityMention,
    bare_token,
    cached_stem,
    normalize,
    token_parts,
)
from taxonomy.detectors.hallucination_grounding._numbers import NumberMention, number_values
from taxonomy.text import WORD_RE

# "UnleashedUnleashed is", "NightWedding": knowledge-graph dumps glue sentences without a space.
CAMEL_JOIN_RE = re.compile(r"[a-z][A-Z]")
CAMEL_SPLIT_RE = re.compile(r"(?<=[a-z])(?=[A-Z])")
# Only word starts can open a run, and runs never give back characters: linear on glued "abcDefabcDef...".
CAPITALISED_RUN_RE = re.compile(
    r"\b[A-Z][\w'’-]*+(?:[ \t]++(?:of[ \t]++|and[ \t]++|the[ \t]++|for[ \t]++)?[A-Z][\w'’-]*+)+"
)
DEMONYM_PREFIX = 4


@dataclass
class SupportIndex:
    """Everything the answer may legitimately draw on, indexed for O(1) lookups."""

    tokens: set[str] = field(default_factory=set)
    stems: set[str] = field(default_factory=set)
    prefixes: set[str] = field(default_factory=set)
    bigrams: set[tuple[str, str]] = field(default_factory=set)
    acronyms: set[str] = field(default_factory=set)
    values: set[float] = field(default_factory=set)
    times: set[float] = field(default_factory=set)  # clock times, as minutes on a 12-hour dial
    codes: set[str] = field(default_factory=set)  # all-caps short tokens as written: "CA", "UK", "NYC"

    @classmethod
    def build(cls, texts: Iterable[str]) -> SupportIndex:
        index = cls()
        for text in texts:
            if text:
                index.add(text)
        return index

    def add(self, text: str) -> None:
        plain = WORD_RE.findall(normalize(text))
        self.bigrams.update(pairwise(plain))
        raw = set(TOKEN_RE.findall(text))
        if CAMEL_JOIN_RE.search(text):
            raw.update(TOKEN_RE.findall(CAMEL_SPLIT_RE.sub(" ", text)))
        self.codes.update(t.replace(".", "").lower() for t in raw if t.isupper() and 2 <= len(t) <= 6)
        tokens = {normalize(t) for t in raw}
        values, times = number_values(text, tokens)
        self.values |= values
        self.times |= times
        new_tokens = tokens - self.tokens
        self.tokens |= new_tokens
        self.stems.update(map(cached_stem, new_tokens))
        self.prefixes.update(tok[:DEMONYM_PREFIX] for tok in new_tokens if len(tok) > DEMONYM_PREFIX)
        for tok in new_tokens:
            if not tok.isalnum():  # TOKEN_RE tokens are letters/digits plus inner - . ' ’
                parts = token_parts(tok)
                forms = {bare_token(tok), *parts, "".join(parts)}
                self.tokens.update(forms)
                self.stems.update(map(cached_stem, forms))
        for match in CAPITALISED_RUN_RE.finditer(text):
            initials = "".join(w[0] for w in match.group().split() if w[:1].isupper())
            self.acronyms.add(initials.lower())

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
        for value in mention.values:
            if value in self.values:
                return True
            if value != int(value) and any(abs(v - value) < 0.051 for v in self.values):
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
        plain = WORD_RE.findall(normalize(text))
        if len(plain) < 2:
            return 1.0 if not plain or self.has_token(plain[0]) else 0.0
        pairs = list(pairwise(plain))
        return sum(pair in self.bigrams for pair in pairs) / len(pairs)

    def stem_coverage(self, content_stems: set[str]) -> float:
        if not content_stems:
            return 1.0
        return sum(1 for s in content_stems if s in self.stems or s in self.tokens) / len(content_stems)
