"""Term lookups in retrieved text, answered like `term_found(term, *chunk_vocabulary(text))` but usually
without building the vocabulary.

A question has a handful of key terms, a context thousands of words: stemming every word of the context
to look up five terms is most of the cost of the retrieval detectors. A word that matches a term (same
stem, or same 5-letter stem prefix) starts with a short key derived from the term, so the normalised
text is searched for that key (`str.find`, fast) and only the words starting at a hit are stemmed. After
too many hits (short, common keys; adversarial text), or when many terms are to be looked up, the full
vocabulary is built once instead. Both paths give the same answers.

Lookups are memoised per text (a small LRU keyed by the documents themselves), so the retrieval detectors
that examine the same context in one item share the work.
"""

from __future__ import annotations

from functools import lru_cache
from operator import itemgetter

from taxonomy.detectors.hallucination_grounding._facts import normalize
from taxonomy.detectors.hallucination_grounding._tokens import fast_stem, longer_words, stem_set, word_set
from taxonomy.text import WORD_RE

PREFIX = 5
MAX_HITS = 400  # key occurrences examined before building the full vocabulary instead
HIT_COST_CHARS = 32  # one term searched costs about as much as tokenising this many characters
APOSTROPHES = "'’"
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
        self.text = normalize(text)
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

    def _lookup(self, term: str) -> bool:
        if self._vocabulary is not None:
            return term_found(term, *self._vocabulary)
        text, key = self.text, _search_key(term)
        prefix = term[:PREFIX] if len(term) >= PREFIX else None
        position = text.find(key)
        while position != -1:
            self._hits_left -= 1
            if self._hits_left < 0:
                self._vocabulary = vocabulary(text)
                return term_found(term, *self._vocabulary)
            before = text[position - 1] if position else " "
            if not before.isalnum():  # a word may start here
                for word in self._words_at(position, before):
                    stem = fast_stem(word)
                    if len(word) > 1 and (stem == term or (prefix is not None and stem[:PREFIX] == prefix)):
                        return True
            position = text.find(key, position + 1)
        return False

    def _words_at(self, position: int, before: str) -> list[str]:
        """The word starting at `position` (preceded by a non-word character); after an apostrophe, the
        words of the whole apostrophe-joined run, since whether one starts here depends on its start."""
        text = self.text
        if before not in APOSTROPHES:
            match = WORD_RE.match(text, position)
            return [match.group()] if match else []
        start = position - 1
        while start > 0 and (text[start - 1].isalnum() or text[start - 1] in APOSTROPHES):
            start -= 1
        end = position
        while end < len(text) and (text[end].isalnum() or text[end] in APOSTROPHES):
            end += 1
        return WORD_RE.findall(text, start, end)


@lru_cache(maxsize=8)
def lookup_for(docs: tuple[str, ...]) -> TermLookup:
    """A TermLookup over documents (as one text; no word spans two documents), memoised for the detectors
    that look at the same context."""
    return TermLookup("\n".join(docs))
