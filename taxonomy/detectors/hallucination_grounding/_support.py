"""A support index over the evidence an answer may rely on (context, input, earlier turns), and the
lookups the grounding detectors make against it: is this number, entity, quote or sentence backed?

Lookups are set membership on tokens, stems, bigrams, acronyms and number values, so checking many facts
against a large context stays linear overall. Only tokens and stems are built eagerly; bigrams, acronyms,
codes, prefixes and number values are derived on first use, and a number is first looked for where its
digits occur (a cheap, exact hit) before every number of the evidence is read.

The context's part is shared: `context_index(docs)` builds an index of a context once (memoised, like the
per-text analyses of taxonomy/text.py) and never changes it; `SupportIndex.extending(base)` starts an item's
index from it (copies of its token and stem sets) and adds the item's own texts. Every derived part of an
extending index is the base's (worked out once, on first use by any item) plus that of its own texts, so items
that share a context, as several answers to one source document do, index the context once.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Iterator, Sequence
from functools import lru_cache
from itertools import filterfalse, pairwise
from math import isfinite

from taxonomy.detectors.hallucination_grounding._aliases import aliases
from taxonomy.detectors.hallucination_grounding._facts import (
    GENERIC_HEADS,
    EntityMention,
    bare_token,
    cached_stem,
    content_stems,
    normalize,
    token_parts,
)
from taxonomy.detectors.hallucination_grounding._index_tokens import (
    apostrophe_words,
    ascii_twin,
    has_camel_join,
    normalized_tokens,
    raw_tokens,
    split_forms,
)
from taxonomy.detectors.hallucination_grounding._numbers import (
    NumberMention,
    listed_values,
    spelled_values,
    stated_at,
    word_values,
)
from taxonomy.text import WORD_RE, stem_set, token_set, word_list

# Only word starts can open a run, and runs never give back characters: linear on glued "abcDefabcDef...".
# (\b[A-Z]..., written capital-first so that the regex engine jumps between capitals.)
CAPITALISED_RUN_RE = re.compile(
    r"[A-Z](?<!\w[A-Z])[\w'’-]*+(?:[ \t]++(?:of[ \t]++|and[ \t]++|the[ \t]++|for[ \t]++)?[A-Z][\w'’-]*+)+"
)
DEMONYM_PREFIX = 4
MAX_NUMBER_PROBES = 20  # occurrences of a number's digits read before reading all numbers instead
MAX_DIGIT_PROBES = 4  # the same for a one-digit number, whose digit occurs in many numbers
# Numbers looked up by probing before every number of the evidence is read once: each probe may scan the
# whole evidence, so an answer with thousands of distinct numbers must not probe them all (quadratic).
MAX_PROBED_NUMBERS = 64

# Per text added to an index: the text, its tokens as written (None if not needed for normalising), normalised,
# the normalised ones new to the index, and when all were new, the stems of its words (word_stems).
_Entry = tuple[str, set[str] | None, set[str], set[str], set[str] | None]
MAX_CACHED_CONTEXTS = 24  # contexts whose index is kept (see context_index); items are grouped by context
# A longer context is indexed for its item alone, not kept. An index with every derived part holds about 50
# bytes per character of text (1.1 MB for 20,000 characters), so the kept ones stay under ~40 MB in all.
MAX_CACHED_CONTEXT_CHARS = 32_000


class SupportIndex:
    """Everything the answer may legitimately draw on, indexed for O(1) lookups.

    Tokens and stems are built as texts are added; the parts few answers need (bigrams for quotes, number
    values, codes, acronyms, prefixes) are derived from the added texts on first use."""

    __slots__ = (
        "_acronyms",
        "_added",
        "_base",
        "_bigrams",
        "_codes",
        "_listed_values",
        "_prefixes",
        "_probed",
        "_times",
        "_values",
        "_word_values",
        "stems",
        "tokens",
    )

    def __init__(self, base: SupportIndex | None = None) -> None:
        self._base = base  # never changed: its derived parts are shared, this index adds to copies of its sets
        self.tokens: set[str] = set() if base is None else set(base.tokens)
        self.stems: set[str] = set() if base is None else set(base.stems)
        # An extending index starts with its base's entries; its own follow (see _own).
        self._added: list[_Entry] = [] if base is None else list(base._added)
        self._probed = 0  # numbers looked up by _written (see MAX_PROBED_NUMBERS)
        self._reset_derived()

    @classmethod
    def extending(cls, base: SupportIndex) -> SupportIndex:
        """A new index holding everything `base` holds, to add an item's own texts to; `base` is not changed."""
        return cls(base)

    def _own(self) -> list[_Entry]:
        """The entries added to this index itself, after its base's."""
        return self._added if self._base is None else self._added[len(self._base._added) :]

    def _union(self, base_part: set, own_parts: Iterable[Iterable]) -> set:  # type: ignore[type-arg]
        """A derived part: the base's (shared, not copied while nothing is added to it) and the own texts'."""
        found = None
        for part in own_parts:
            if found is None:
                found = set(base_part)
            found.update(part)
        return base_part if found is None else found

    def _reset_derived(self) -> None:
        self._bigrams: set[tuple[str, str]] | None = None
        self._acronyms: set[str] | None = None
        self._codes: set[str] | None = None  # all-caps short tokens as written: "CA", "UK", "NYC"
        self._prefixes: set[str] | None = None
        self._listed_values: set[float] | None = None  # values found without scanning for spelled numbers
        self._values: set[float] | None = None
        self._word_values: set[float] | None = None
        self._times: set[float] | None = None  # clock times, as minutes on a 12-hour dial

    @classmethod
    def build(cls, texts: Iterable[str]) -> SupportIndex:
        index = cls()
        for text in texts:
            if text:
                index.add(text)
        return index

    def add(self, text: str) -> None:
        raw: set[str] | None
        twin = ascii_twin(text)
        if twin is not None and not has_camel_join(text):
            raw, tokens = None, token_set(twin.lower())  # ASCII tokens normalise by lower-casing, as the text
        else:
            raw = raw_tokens(text)
            tokens = normalized_tokens(text, raw)
        new_tokens = tokens - self.tokens
        self.tokens |= new_tokens
        word_stems = stem_set(new_tokens)
        self.stems |= word_stems
        # TOKEN_RE tokens are letters/digits plus inner - . ' ’: those with joiners add their forms.
        joined = list(filterfalse(str.isalnum, new_tokens))
        if joined:
            forms = split_forms(joined)
            self.tokens |= forms
            form_stems = stem_set(forms)
            self.stems |= form_stems
            word_stems |= form_stems
            word_stems |= stem_set(apostrophe_words(joined))
        own = word_stems if len(new_tokens) == len(tokens) else None  # else other texts' stems are mixed in
        self._added.append((text, raw, tokens, new_tokens, own))
        self._reset_derived()

    @property
    def bigrams(self) -> set[tuple[str, str]]:
        if self._bigrams is None:
            base = self._base.bigrams if self._base is not None else set()
            self._bigrams = self._union(base, (pairwise(word_list(normalize(e[0]))) for e in self._own()))
        return self._bigrams

    @property
    def codes(self) -> set[str]:
        if self._codes is None:
            base = self._base.codes if self._base is not None else set()
            self._codes = self._union(base, map(_codes_of, self._own()))
        return self._codes

    @property
    def prefixes(self) -> set[str]:
        if self._prefixes is None:
            base = self._base.prefixes if self._base is not None else set()
            self._prefixes = self._union(
                base, ((tok[:DEMONYM_PREFIX] for tok in e[3] if len(tok) > DEMONYM_PREFIX) for e in self._own())
            )
        return self._prefixes

    @property
    def acronyms(self) -> set[str]:
        if self._acronyms is None:
            base = self._base.acronyms if self._base is not None else set()
            self._acronyms = self._union(base, map(_acronyms_of, self._own()))
        return self._acronyms

    @property
    def values(self) -> set[float]:
        """Every number value the evidence states (number_values)."""
        if self._values is None:
            base = self._base.values if self._base is not None else set()
            own = self._own()
            self._values = (
                self._union(
                    base, [self.listed_values, *(spelled_values(text, tokens) for text, _, tokens, _, _ in own)]
                )
                if own
                else base
            )
        return self._values

    @property
    def word_values(self) -> set[float]:
        """The values of number words ("twenty", "dozen"): a subset of `values`, from the tokens alone."""
        if self._word_values is None:
            base = self._base.word_values if self._base is not None else set()
            self._word_values = self._union(base, (word_values(e[2]) for e in self._own()))
        return self._word_values

    @property
    def listed_values(self) -> set[float]:
        """The values but those of spelled-out numbers with scale words: a subset of `values`, cheaper."""
        if self._listed_values is None:
            own = [listed_values(text, tokens) for text, _, tokens, _, _ in self._own()]
            base_values = self._base.listed_values if self._base is not None else set()
            base_times = self._base.times if self._base is not None else set()
            self._listed_values = self._union(base_values, (values for values, _ in own))
            self._times = self._union(base_times, (times for _, times in own))
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
                if added == text:  # the same text (items sharing a context hold equal, not identical, strings)
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
            self._states(mention.values, self.word_values)
            or (self._listed_values is None and self._written(mention.values))
            or self._states(mention.values, self.listed_values)
        ):
            return True  # found without reading every number of the evidence
        return self._states(mention.values, self.values)

    def _written(self, mention_values: tuple[float, ...]) -> bool:
        """Whether a text states one of the values written out in digits the plain way ("1889", "3.5"): each
        occurrence of those digits that starts a number is read; a hit is one of `values`, a miss proves
        nothing. Past MAX_PROBED_NUMBERS lookups it answers False at once: reading every number is cheaper."""
        self._probed += 1
        if self._probed > MAX_PROBED_NUMBERS:
            return False
        for value in mention_values:
            key = str(int(value)) if value == int(value) and abs(value) < 1e15 else repr(value)
            for text, _, _, _, _ in self._added:
                position, tries = text.find(key), MAX_NUMBER_PROBES if len(key) > 1 else MAX_DIGIT_PROBES
                while position != -1 and tries:
                    if value in stated_at(text, position):
                        return True
                    position, tries = text.find(key, position + 1), tries - 1
        return False

    @staticmethod
    def _states(mention_values: tuple[float, ...], values: set[float]) -> bool:
        for value in mention_values:
            if value in values:
                return True
            if math.isfinite(value) and value != int(value) and any(abs(v - value) < 0.051 for v in values):
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


def _codes_of(entry: _Entry) -> Iterator[str]:
    """All-caps short tokens of an added text as written, without dots: "CA", "UK", "NYC"."""
    text, written, _, _, _ = entry
    raw = raw_tokens(text) if written is None else written
    return (t.replace(".", "").lower() for t in raw if t.isupper() and 2 <= len(t) <= 6)


def _acronyms_of(entry: _Entry) -> Iterator[str]:
    """The initials of each run of capitalised words of an added text ("United Nations" -> "un")."""
    for match in CAPITALISED_RUN_RE.finditer(entry[0]):
        yield "".join(w[0] for w in match.group().split() if w[:1].isupper()).lower()


@lru_cache(maxsize=MAX_CACHED_CONTEXTS)
def _cached_context_index(docs: tuple[str, ...]) -> SupportIndex:
    return SupportIndex.build(docs)


def context_index(docs: Sequence[str]) -> SupportIndex:
    """The index of a context's documents, to extend (never to add to: it may be shared). Memoised for
    contexts up to MAX_CACHED_CONTEXT_CHARS, keyed by their text."""
    key = tuple(docs)
    if sum(map(len, key)) > MAX_CACHED_CONTEXT_CHARS:
        return SupportIndex.build(key)
    return _cached_context_index(key)
