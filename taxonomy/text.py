"""Text primitives shared by detectors: tokens, content words, sentences, normalisation and snippets.

Every regex here is compiled once at import and is linear-time on any input (no nested quantifiers),
so detectors stay fast and safe on adversarial text.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator

WORD_RE = re.compile(r"[^\W_]+(?:['’][^\W_]+)?", re.UNICODE)
SENTENCE_END_RE = re.compile(r"(?<=[.!?])[\"')\]]*\s+(?=[\"'(\[]?[A-Z0-9])|\n{2,}|\n(?=[ \t]*(?:[-*•]|\d+[.)])\s)")
SNIPPET_RADIUS = 80

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


def normalize(text: str) -> str:
    """Casefold, strip accents and unify quotes/dashes, for tolerant comparison."""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return text.replace("’", "'").replace("‘", "'").replace("–", "-").replace("—", "-").casefold()


def words(text: str) -> list[str]:
    """Word tokens, casefolded and accent-stripped."""
    return WORD_RE.findall(normalize(text))


def content_words(text: str) -> list[str]:
    """Words that carry meaning: not stopwords, not single letters."""
    return [w for w in words(text) if len(w) > 1 and w not in STOPWORDS]


def stem(word: str) -> str:
    """A light suffix stripper so that 'refunds'/'refunded'/'refund' compare equal."""
    for suffix in (
        "ational",
        "ations",
        "ation",
        "ingly",
        "edly",
        "ings",
        "ness",
        "ment",
        "ing",
        "ies",
        "ied",
    ):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)] + ("y" if suffix in ("ies", "ied") else "")
    for suffix in ("es", "ed", "ly", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def stems(text: str) -> set[str]:
    """The set of stemmed content words of `text`."""
    return {stem(w) for w in content_words(text)}


def sentences(text: str) -> list[tuple[int, str]]:
    """Split into sentences, returning (start offset, sentence) pairs; blank pieces are dropped."""
    out: list[tuple[int, str]] = []
    start = 0
    for match in SENTENCE_END_RE.finditer(text):
        piece = text[start : match.start()]
        if piece.strip():
            out.append((start + len(piece) - len(piece.lstrip()), piece.strip()))
        start = match.end()
    tail = text[start:]
    if tail.strip():
        out.append((start + len(tail) - len(tail.lstrip()), tail.strip()))
    return out


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
