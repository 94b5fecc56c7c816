"""Fast, exact replacements for the hot text primitives, shared by the grounding and retrieval detectors:
word and token sets/lists (`WORD_RE` / `TOKEN_RE` findall), stems (`taxonomy.text.stem`) and sentences
(`taxonomy.text.sentences`).

The regex engine tries a pattern at every character, which dominates the cost of reading a long
context. Here ASCII separators are blanked with one `bytes.translate` and the text is split on
whitespace; only the few pieces that still hold a token joiner (apostrophe, dot, hyphen) or a non-ASCII
character go through the regex. Every token lies inside one piece (separators cannot be part of a
token), so the result equals the regex's exactly. Several short texts (the sentences of an answer) are
split in one pass, joined by a separator character no word can span. Stems are memoised in a bounded
dict looked up in bulk (`map`), so stemming a vocabulary costs no Python call per known word. The
sentence splitter's pattern opens with the character it consumes first, so the engine skips ahead.
All of it is checked against the originals by differential tests (random and corpus text).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from functools import lru_cache
from itertools import filterfalse
from operator import itemgetter

from taxonomy import text as text_module
from taxonomy.text import STOPWORDS, WORD_RE

# A word token that may carry inner apostrophes, dots or hyphens ("O'Neil", "U.S", "Jean-Luc").
TOKEN_RE = re.compile(r"[^\W_]+(?:['’.\-][^\W_]+)*")


def _keep_table(keep: bytes) -> bytes:
    """A bytes.translate table that blanks every ASCII byte but letters, digits and `keep` (UTF-8 multibyte
    sequences, all >= 0x80, pass unchanged and are judged by the regex)."""
    return bytes(b if b >= 0x80 or chr(b).isalnum() or b in keep else 0x20 for b in range(256))


_WORD_TABLE = _keep_table(b"'")
_TOKEN_TABLE = _keep_table(b"'.-")
_ALNUM_TABLE = _keep_table(b"")
_WORD_JOINERS = (b"'",)
_TOKEN_JOINERS = (b"'", b".", b"-")
_LONGER_THAN_ONE = itemgetter(slice(1, None))  # truthy for strings of two or more characters
_ASCII_CHARACTERS = frozenset(map(chr, range(128)))
MAX_CACHED_STEMS = 65536
# taxonomy.text.stem's suffixes in its order of trial (long ones, then short ones), by last letter:
# (suffix, length, replacement). A word whose last letter ends no suffix is its own stem.
_STEM_RULES: dict[str, list[tuple[str, int, str]]] = {}
for _suffix in ("ational", "ations", "ation", "ingly", "edly", "ings", "ness", "ment", "ing", "ies", "ied"):
    _STEM_RULES.setdefault(_suffix[-1], []).append((_suffix, len(_suffix), "y" if _suffix in ("ies", "ied") else ""))
for _suffix in ("es", "ed", "ly", "s"):
    _STEM_RULES.setdefault(_suffix[-1], []).append((_suffix, len(_suffix), ""))


class _StemCache(dict[str, str]):
    """word -> stem; a missing word is stemmed on lookup, so `map(cache.__getitem__, words)` stays in C."""

    def __missing__(self, word: str) -> str:
        stem = self[word] = fast_stem(word)
        return stem


_STEMS = _StemCache()


def pieces(text: str, table: bytes = _ALNUM_TABLE, joiners: tuple[bytes, ...] = ()) -> list[str]:
    """`text` split at every ASCII character the table blanks and at whitespace; `joiners` (kept by the
    table) are blanked too next to a blank, where they cannot join two parts of a token ("end. Next")."""
    blanked = text.encode("utf-8", "surrogatepass").translate(table)
    if joiners:
        blanked = b" " + blanked + b" "
        for joiner in joiners:
            blanked = blanked.replace(joiner + b" ", b"  ").replace(b" " + joiner, b"  ")
    return blanked.decode("utf-8", "surrogatepass").split()


def word_list(text: str) -> list[str]:
    """`WORD_RE.findall(text)`, in order."""
    return _words_of_pieces(pieces(text, _WORD_TABLE, _WORD_JOINERS))


def _words_of_pieces(found: list[str]) -> list[str]:
    if all(map(str.isalnum, found)):
        return found
    out: list[str] = []
    for piece in found:
        if piece.isalnum():
            out.append(piece)
        else:
            out.extend(WORD_RE.findall(piece))
    return out


def _resolve(found: set[str], joiners: str, pattern_findall: Callable[[str], list[str]]) -> set[str]:
    """Replace the pieces that are not plain words by the tokens the regex finds in them."""
    odd = list(filterfalse(str.isalnum, found))
    if odd:
        found.difference_update(odd)
        for piece in odd:
            core = piece.strip(joiners)
            if core.isalnum():  # "end." or "'quoted'": joiners at the edges only, one token
                found.add(core)
            else:
                found.update(pattern_findall(piece))
    return found


def word_set(text: str) -> set[str]:
    """`set(WORD_RE.findall(text))`."""
    return _resolve(set(pieces(text, _WORD_TABLE, _WORD_JOINERS)), "'", WORD_RE.findall)


def token_set(text: str) -> set[str]:
    """`set(TOKEN_RE.findall(text))`."""
    return _resolve(set(pieces(text, _TOKEN_TABLE, _TOKEN_JOINERS)), "'.-", TOKEN_RE.findall)


def fast_stem(word: str) -> str:
    """`taxonomy.text.stem`: the first suffix (in its order) that ends the word and leaves 3 characters is
    stripped ("-ies"/"-ied" become "-y"); only the suffixes ending in the word's last letter are tried."""
    for suffix, size, replacement in _STEM_RULES.get(word[-1:], ()):
        if len(word) - size >= 3 and word.endswith(suffix):
            return word[:-size] + replacement
    return word


@lru_cache(maxsize=4096)
def stem_preimage(stem_value: str) -> frozenset[str]:
    """Every word whose stem is `stem_value`: itself, or it plus one of the suffixes (-ies/-ied for -y)."""
    candidates = {stem_value}
    for rules in _STEM_RULES.values():
        candidates.update(stem_value + suffix for suffix, _, replacement in rules if not replacement)
    if stem_value.endswith("y"):
        candidates.update((stem_value[:-1] + "ies", stem_value[:-1] + "ied"))
    return frozenset(word for word in candidates if fast_stem(word) == stem_value)


def stem_set(words: Iterable[str]) -> set[str]:
    """`{stem(w) for w in words}`, memoised."""
    if len(_STEMS) > MAX_CACHED_STEMS:
        _STEMS.clear()
    return set(map(_STEMS.__getitem__, words))


def longer_words(words: set[str], text: str) -> set[str]:
    """`words` (of `text`) without the one-character ones, modified in place."""
    words -= _ASCII_CHARACTERS
    return words if text.isascii() else set(filter(_LONGER_THAN_ONE, words))


SEPARATOR = "\ue000"  # a private-use character: splits texts tokenised together


def _pieces_each(texts: list[str]) -> list[list[str]]:
    """`pieces(t, word table)` for each text, in one pass: no piece spans the separator between texts."""
    found = pieces(f" {SEPARATOR} ".join(texts), _WORD_TABLE, _WORD_JOINERS)
    each, start = [], 0
    for _ in range(len(texts) - 1):
        end = found.index(SEPARATOR, start)
        each.append(found[start:end])
        start = end + 1
    each.append(found[start:])
    return each


def word_lists(texts: list[str]) -> list[list[str]]:
    """`[word_list(t) for t in texts]`, tokenised together when none holds the separator."""
    if len(texts) < 2 or any(SEPARATOR in text for text in texts):
        return [word_list(text) for text in texts]
    return [_words_of_pieces(found) for found in _pieces_each(texts)]


def content_word_sets(texts: list[str]) -> list[set[str]] | None:
    """`content_word_set(t.lower())` for each of several ASCII texts, tokenised in one pass (None when a text
    is not ASCII): no word spans the separator between them."""
    if not all(map(str.isascii, texts)):
        return None
    result = []
    for found in _pieces_each([text.lower() for text in texts]):
        words = _resolve(set(found), "'", WORD_RE.findall)
        words -= STOPWORDS
        words -= _ASCII_CHARACTERS
        result.append(words)
    return result


def content_word_set(normalized: str) -> set[str]:
    """Distinct content words (not stopwords, not single characters) of already normalised text."""
    found = word_set(normalized)
    found -= STOPWORDS
    return longer_words(found, normalized)


# taxonomy.text.SENTENCE_END_RE's matches, found from the character before a sentence break ([.!?], whose
# own break is group 1) or from the newline that opens one: the regex engine skips ahead to those few
# characters instead of trying the pattern at every position.
SENTENCE_END_RE = re.compile(
    r"[.!?\n](?:(?<=[.!?])([\"')\]]*\s+)(?=[\"'(\[]?[A-Z0-9])|(?<=\n)(?:\n+|(?=[ \t]*(?:[-*•]|\d+[.)])\s)))"
)


def sentences(text: str) -> list[tuple[int, str]]:
    """`taxonomy.text.sentences`: (start offset, sentence) pairs, blank pieces dropped."""
    out: list[tuple[int, str]] = []
    start = 0
    for match in SENTENCE_END_RE.finditer(text):
        end, after = match.span(1) if match.start(1) >= 0 else match.span()
        piece = text[start:end]
        if piece.strip():
            out.append((start + len(piece) - len(piece.lstrip()), piece.strip()))
        start = after
    tail = text[start:]
    if tail.strip():
        out.append((start + len(tail) - len(tail.lstrip()), tail.strip()))
    return out


# The functions above mirror taxonomy.text as it stands (its word and sentence patterns, its stemmer).
# Should those definitions change, the originals are used instead, slower but still exact.
_WORD_PATTERN = r"[^\W_]+(?:['’][^\W_]+)?"
_SENTENCE_END_PATTERN = r"(?<=[.!?])[\"')\]]*\s+(?=[\"'(\[]?[A-Z0-9])|\n{2,}|\n(?=[ \t]*(?:[-*•]|\d+[.)])\s)"
_STEM_SAMPLES = (
    *("relational", "nationals", "stations", "nation", "amazingly", "reportedly", "things", "kindness"),
    *("payment", "going", "sing", "studies", "studied", "ties", "horses", "walked", "quickly", "cats", "is"),
)
if text_module.SENTENCE_END_RE.pattern != _SENTENCE_END_PATTERN:
    sentences = text_module.sentences  # type: ignore[assignment]
if WORD_RE.pattern != _WORD_PATTERN:
    word_list = WORD_RE.findall  # type: ignore[assignment]

    def word_set(text: str) -> set[str]:
        return set(WORD_RE.findall(text))

    def word_lists(texts: list[str]) -> list[list[str]]:
        return [WORD_RE.findall(text) for text in texts]

    def content_word_sets(texts: list[str]) -> list[set[str]] | None:
        return None


if any(fast_stem(word) != text_module.stem(word) for word in _STEM_SAMPLES):
    fast_stem = text_module.stem  # type: ignore[assignment]
