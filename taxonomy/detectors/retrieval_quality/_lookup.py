"""Term lookups in retrieved text, answered like `term_found(term, *chunk_vocabulary(text))` but usually
without building the vocabulary.

A question has a handful of key terms, a context thousands of words: stemming every word of the context
to look up five terms is most of the cost of the retrieval detectors. A word that matches a term (same
stem, or same 5-letter stem prefix) starts with a short key derived from the term, so the normalised
text is searched for that key (`str.find`, fast) and only the words starting at a hit are stemmed. After
too many hits (short, common keys; adversarial text), or when many terms are to be looked up, the full
vocabulary is built once instead. Both paths give the same answers.

Text whose only non-ASCII characters are common punctuation (curly quotes, dashes) is read through its
ASCII twin (_facts.ascii_normalized), which normalises by lower-casing.

Lookups are memoised per text (a small LRU keyed by the documents themselves), so the retrieval detectors
that examine the same context in one item share the work.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache
from operator import itemgetter

from taxonomy.detectors.hallucination_grounding._facts import ascii_normalized, normalize
from taxonomy.text import WORD_RE, longer_words, stem, stem_set, word_set

PREFIX = 5
MAX_HITS = 400  # key occurrences examined before building the full vocabulary instead
HIT_COST_CHARS = 45  # one term searched costs about as much as tokenising this many characters
APOSTROPHES = "'’"
MAX_RUN = 200  # an apostrophe-joined run longer than this is left to the full vocabulary
RUN_RE = re.compile(r"(?:[^\W_]|['’])*")  # letters, digits and apostrophes
_PREFIX_OF = itemgetter(slice(None, PREFIX))


def vocabulary(normalized: str) -> tuple[set[str], set[str]]:
    """Stems of the words (of two or more characters) of normalised text, and the stems' first five letters.

    The prefix set also holds the (whole) stems shorter than five letters: lookups only ever ask for
    five-letter prefixes, which those can never equal."""
    stems = stem_set(longer_words(word_set(normalized), normalized))
    return stems, set(map(_PREFIX_OF, stems))


def term_found(term: str, stems: set[str], prefixes: set[str]) -> bool:
    return term in stems or (len(term) >= PREFIX and term[:PREFIX] in prefixes)


@lru_cache(maxsize=4096)
def _search_key(term: str) -> str:
    """The prefix every word matching `term` starts with: a word with the term's stem is the stem plus a
    suffix, or, for a stem in -y, the stem without it plus -ies/-ied; a word with the same 5-letter stem
    prefix starts with it, or with its first four letters before such an -ies/-ied."""
    if len(term) >= PREFIX:
        return term[: PREFIX - 1] if term[PREFIX - 1] == "y" else term[:PREFIX]
    return term[:-1] if term.endswith("y") else term


class TermLookup:
    """Whether terms (stems) occur in one normalised text, as chunk_vocabulary + term_found would say."""

    __slots__ = ("_answers", "_hits_left", "_vocabulary", "text")

    def __init__(self, text: str) -> None:
        # The ASCII twin of text with curly quotes or dashes has the words of its normalised form, at the
        # same offsets and of the same length, and normalises by lower-casing (no Unicode decomposition).
        twin = ascii_normalized(text)
        self.text = normalize(text if twin is None else twin)
        self._answers: dict[str, bool] = {}
        self._hits_left = MAX_HITS
        self._vocabulary: tuple[set[str], set[str]] | None = None

    def prepare(self, expected_lookups: int) -> None:
        """Build the full vocabulary now if that is cheaper than searching for `expected_lookups` terms."""
        if self._vocabulary is None and expected_lookups * HIT_COST_CHARS > len(self.text):
            self._vocabulary = vocabulary(self.text)

    def has(self, term: str) -> bool:
        answer = self._answers.get(term)
        if answer is None:
            answer = self._answers[term] = self._lookup(term)
        return answer

    def count(self, terms: Iterable[str]) -> int:
        """`sum(map(self.has, terms))`; once the vocabulary is built, by set operations on distinct terms."""
        if self._vocabulary is None or not isinstance(terms, set | frozenset):
            return sum(map(self.has, terms))
        stems, prefixes = self._vocabulary
        rest = terms - stems
        # a term of fewer than PREFIX letters is its own prefix, which `prefixes` holds only if `stems` does
        return len(terms) - len(rest) + sum(map(prefixes.__contains__, map(_PREFIX_OF, rest)))

    def _lookup(self, term: str) -> bool:
        if self._vocabulary is not None:
            return term_found(term, *self._vocabulary)
        text, key = self.text, _search_key(term)
        prefix = term[:PREFIX] if len(term) >= PREFIX else None
        position, examined = text.find(key), 0  # words before `examined` were looked at already
        while position != -1:
            self._hits_left -= 1
            before = text[position - 1] if position else " "
            if position >= examined and not before.isalnum():  # a word may start here
                words, examined = self._words_at(position, before)
                if words is None:
                    break
                for word in words:
                    found_stem = stem(word)
                    if len(word) > 1 and (found_stem == term or (prefix is not None and found_stem[:PREFIX] == prefix)):
                        return True
            if self._hits_left < 0:
                break
            position = text.find(key, position + 1)
        else:
            return False
        self._vocabulary = vocabulary(text)  # too many hits, or a run too long to read back: read it all
        return term_found(term, *self._vocabulary)

    def _words_at(self, position: int, before: str) -> tuple[list[str] | None, int]:
        """The word starting at `position` (preceded by a non-word character) and where it ends; after an
        apostrophe, the words of the whole apostrophe-joined run, since whether one starts here depends on
        where the run starts (None when that lies more than MAX_RUN characters back)."""
        text = self.text
        if before not in APOSTROPHES:
            match = WORD_RE.match(text, position)
            return ([match.group()], match.end()) if match else ([], position)
        start, limit = position - 1, max(0, position - MAX_RUN)
        while start > limit and (text[start - 1].isalnum() or text[start - 1] in APOSTROPHES):
            start -= 1
        if start == limit and start and (text[start - 1].isalnum() or text[start - 1] in APOSTROPHES):
            return None, position
        end = RUN_RE.match(text, position).end()
        return WORD_RE.findall(text, start, end), end


@lru_cache(maxsize=8)
def lookup_for(docs: tuple[str, ...]) -> TermLookup:
    """A TermLookup over documents (as one text; no word spans two documents), memoised for the detectors
    that look at the same context."""
    return TermLookup("\n".join(docs))
