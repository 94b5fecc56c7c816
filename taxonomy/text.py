"""Text primitives shared by detectors: normalisation, words and tokens, stems, content words, sentences and
snippets, with memoised per-text analyses so that the detectors reading the same field share the work.

Every regex here is compiled once at import and is linear-time on any input (no nested quantifiers), so
detectors stay fast and safe on adversarial text.

Tokenising is done without running the word regex over the whole text (the engine tries a pattern at every
character, which dominates the cost of reading a long context): ASCII separators are blanked with one
`bytes.translate` and the text is split on whitespace; only the few pieces that still hold a token joiner
(apostrophe, dot, hyphen) or a non-ASCII character go through the regex. Every token lies inside one piece
(separators cannot be part of a token), so the result equals `WORD_RE.findall` / `TOKEN_RE.findall` exactly.
Several short texts (the sentences of an answer) can be split in one pass, joined by a separator character no
word can span. Stems are memoised in a bounded dict looked up in bulk (`map`), so stemming a vocabulary costs
no Python call per known word. The sentence splitter's pattern opens with the character it consumes first,
so the regex engine skips ahead. tests/taxonomy/test_text.py checks all of it against the plain regex
definitions.

Memoised analyses (`cached_*`) are small LRUs keyed by the text that return immutable values (tuples): item
fields are the same str objects across detectors and cache their hash, so a hit costs a dict lookup.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from functools import lru_cache
from itertools import filterfalse
from operator import itemgetter

# A word: letters/digits with at most one inner apostrophe ("isn't").
WORD_RE = re.compile(r"[^\W_]+(?:['’][^\W_]+)?", re.UNICODE)
# A word token that may carry inner apostrophes, dots or hyphens ("O'Neil", "U.S", "Jean-Luc").
TOKEN_RE = re.compile(r"[^\W_]+(?:['’.\-][^\W_]+)*")
# Where one sentence ends and the next begins (see `sentences`, which uses the faster SENTENCE_BREAK_RE).
SENTENCE_END_RE = re.compile(r"(?<=[.!?])[\"')\]]*\s+(?=[\"'(\[]?[A-Z0-9])|\n{2,}|\n(?=[ \t]*(?:[-*•]|\d+[.)])\s)")
# SENTENCE_END_RE's matches, found from the character before a sentence break ([.!?], whose own break is
# group 1) or from the newline that opens one: the regex engine skips ahead to those few characters instead
# of trying the pattern at every position.
SENTENCE_BREAK_RE = re.compile(
    r"[.!?\n](?:(?<=[.!?])([\"')\]]*\s+)(?=[\"'(\[]?[A-Z0-9])|(?<=\n)(?:\n+|(?=[ \t]*(?:[-*•]|\d+[.)])\s)))"
)
NON_ASCII_RUN_RE = re.compile("[^\x00-\x7f]+")
SNIPPET_RADIUS = 80
# Per memoised analysis: the fields of the items in flight (the engine checks 8 items detector by detector),
# not a whole data set, so a run's texts are not kept for the next run.
MAX_CACHED_TEXTS = 24
MAX_CACHED_STEMS = 65536

STOPWORDS = frozenset(
    """
a about above after again against all also am an and any are aren't as at be because been before being below
between both but by can can't cannot could couldn't did didn't do does doesn't doing don't down during each few
for from further had hadn't has hasn't have haven't having he he'd he'll he's her here here's hers herself him
himself his how how's i i'd i'll i'm i've if in into is isn't it it's its itself just let's me more most mustn't
my myself no nor not now of off on once only or other ought our ours ourselves out over own same shan't she
she'd she'll she's should shouldn't so some such than that that's the their theirs them themselves then there
there's these they they'd they'll they're they've this those through to too under until up upon very was wasn't
we we'd we'll we're we've were weren't what what's when when's where where's which while who who's whom why
why's will with won't would wouldn't you you'd you'll you're you've your yours yourself yourselves yes
however therefore thus also may might must shall will would could should one two many much
""".split()
)

# Suffixes the stemmer strips, in order of trial: the long ones, then the short ones.
LONG_SUFFIXES = ("ational", "ations", "ation", "ingly", "edly", "ings", "ness", "ment", "ing", "ies", "ied")
SHORT_SUFFIXES = ("es", "ed", "ly", "s")
# The same by last letter: (suffix, length, replacement). A word whose last letter ends no suffix is its stem.
_STEM_RULES: dict[str, list[tuple[str, int, str]]] = {}
for _suffix in LONG_SUFFIXES:
    _STEM_RULES.setdefault(_suffix[-1], []).append((_suffix, len(_suffix), "y" if _suffix in ("ies", "ied") else ""))
for _suffix in SHORT_SUFFIXES:
    _STEM_RULES.setdefault(_suffix[-1], []).append((_suffix, len(_suffix), ""))


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
SEPARATOR = "\ue000"  # a private-use character: splits texts tokenised together


# --- normalisation -------------------------------------------------------------------------------------------


def normalize(text: str) -> str:
    """Casefold, strip accents and unify quotes/dashes, for tolerant comparison.

    ASCII needs no Unicode work (NFKD and dropping combining marks change nothing, casefold is lower), and
    only runs of non-ASCII characters are searched for combining marks."""
    if text.isascii():
        return text.lower()
    text = NON_ASCII_RUN_RE.sub(_without_combining, unicodedata.normalize("NFKD", text))
    return text.replace("’", "'").replace("‘", "'").replace("–", "-").replace("—", "-").casefold()


def _without_combining(run: re.Match[str]) -> str:
    return "".join(ch for ch in run.group(0) if not unicodedata.combining(ch))


# --- words and tokens ----------------------------------------------------------------------------------------


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


def longer_words(found: set[str], text: str) -> set[str]:
    """`found` (words of `text`) without the one-character ones, modified in place."""
    found -= _ASCII_CHARACTERS
    return found if text.isascii() else set(filter(_LONGER_THAN_ONE, found))


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


def words(text: str) -> list[str]:
    """Word tokens, casefolded and accent-stripped."""
    return word_list(normalize(text))


def content_words(text: str) -> list[str]:
    """Words that carry meaning: not stopwords, not single letters."""
    return [w for w in words(text) if len(w) > 1 and w not in STOPWORDS]


def content_word_set(normalized: str) -> set[str]:
    """Distinct content words (not stopwords, not single characters) of already normalised text."""
    found = word_set(normalized)
    found -= STOPWORDS
    return longer_words(found, normalized)


def content_word_sets(texts: list[str]) -> list[set[str]] | None:
    """`content_word_set(t.lower())` for each of several ASCII texts, tokenised in one pass (None when a text
    is not ASCII): no word spans the separator between them."""
    if not all(map(str.isascii, texts)):
        return None
    result = []
    for found in _pieces_each([text.lower() for text in texts]):
        found_words = _resolve(set(found), "'", WORD_RE.findall)
        found_words -= STOPWORDS
        found_words -= _ASCII_CHARACTERS
        result.append(found_words)
    return result


# --- stems ---------------------------------------------------------------------------------------------------


def stem(word: str) -> str:
    """A light suffix stripper so that 'refunds'/'refunded'/'refund' compare equal: the first suffix (long
    ones, then short ones) that ends the word and leaves 3 characters is stripped ("-ies"/"-ied" become
    "-y"); only the suffixes ending in the word's last letter are tried."""
    for suffix, size, replacement in _STEM_RULES.get(word[-1:], ()):
        if len(word) - size >= 3 and word.endswith(suffix):
            return word[:-size] + replacement
    return word


class _StemCache(dict[str, str]):
    """word -> stem; a missing word is stemmed on lookup, so `map(cache.__getitem__, words)` stays in C."""

    def __missing__(self, word: str) -> str:
        found = self[word] = stem(word)
        return found


_STEMS = _StemCache()


def stem_set(found_words: Iterable[str]) -> set[str]:
    """`{stem(w) for w in found_words}`, memoised per word."""
    if len(_STEMS) > MAX_CACHED_STEMS:
        _STEMS.clear()
    return set(map(_STEMS.__getitem__, found_words))


@lru_cache(maxsize=4096)
def stem_preimage(stem_value: str) -> frozenset[str]:
    """Every word whose stem is `stem_value`: itself, or it plus one of the suffixes (-ies/-ied for -y)."""
    candidates = {stem_value}
    for rules in _STEM_RULES.values():
        candidates.update(stem_value + suffix for suffix, _, replacement in rules if not replacement)
    if stem_value.endswith("y"):
        candidates.update((stem_value[:-1] + "ies", stem_value[:-1] + "ied"))
    return frozenset(word for word in candidates if stem(word) == stem_value)


def stems(text: str) -> set[str]:
    """The set of stemmed content words of `text`."""
    return stem_set(content_word_set(normalize(text)))


# --- sentences -----------------------------------------------------------------------------------------------


def sentences(text: str) -> list[tuple[int, str]]:
    """Split into sentences at SENTENCE_END_RE, returning (start offset, sentence) pairs; blank pieces are
    dropped."""
    out: list[tuple[int, str]] = []
    start = 0
    for match in SENTENCE_BREAK_RE.finditer(text):
        end, after = match.span(1) if match.start(1) >= 0 else match.span()
        piece = text[start:end]
        if piece.strip():
            out.append((start + len(piece) - len(piece.lstrip()), piece.strip()))
        start = after
    tail = text[start:]
    if tail.strip():
        out.append((start + len(tail) - len(tail.lstrip()), tail.strip()))
    return out


# --- memoised per-text analyses ------------------------------------------------------------------------------


@lru_cache(maxsize=MAX_CACHED_TEXTS)
def cached_sentences(text: str) -> tuple[tuple[int, str], ...]:
    """`sentences(text)`, memoised."""
    return tuple(sentences(text))


# --- snippets and small helpers ------------------------------------------------------------------------------


def snippet(text: str, start: int, end: int, radius: int = SNIPPET_RADIUS) -> str:
    """The span [start, end) with up to `radius` characters of surrounding text, marked with ellipses."""
    lo = max(0, start - radius)
    hi = min(len(text), end + radius)
    if lo > 0:
        space = text.find(" ", lo, start)
        lo = space + 1 if space != -1 else lo
    if hi < len(text):
        space = text.rfind(" ", end, hi)
        hi = space if space != -1 else hi
    body = " ".join(text[lo:hi].split())
    return ("…" if lo > 0 else "") + body + ("…" if hi < len(text) else "")


def find_all(pattern: re.Pattern[str], text: str) -> Iterator[re.Match[str]]:
    """`pattern.finditer(text)`, named for readability at call sites."""
    return pattern.finditer(text)


def overlap(needle_words: set[str], haystack_words: set[str]) -> float:
    """Share of `needle_words` found in `haystack_words` (1.0 when there is nothing to find)."""
    if not needle_words:
        return 1.0
    return len(needle_words & haystack_words) / len(needle_words)


def truncate(text: str, limit: int = 240) -> str:
    """`text` cut to `limit` characters with an ellipsis."""
    return text if len(text) <= limit else text[: limit - 1] + "…"
