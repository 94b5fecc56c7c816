"""Scanning helpers of the injection detector: phrase hits, obfuscation, and out-of-place instructions in data.

`scan_text` finds injection cues in one text (the user's message, a retrieved document, a tool output) and
returns `Hit`s with exact offsets. Besides the phrase patterns it knows three shapes that phrases miss:
token flooding (hundreds of repeated filler tokens that push the real prompt out of view), letter-spaced text
("S a y  t h a t ...", re-scanned after collapsing), and, in data only, a standalone task sentence that has
nothing to do with the user's question or the rest of the document (BIPIA-style "Explain the theory of
relativity." inserted into a table): an instruction addressed to the model rather than to the reader (see
_planted).

Speed: the text's words decide which phrase patterns can match at all (see _prefilter); only those run, each
behind its usual anchor gate. Letter spacing and flooding are first ruled out on a one-byte-per-character
shape of the text. Everything that does not depend on the user's request is computed once per distinct text.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from functools import lru_cache
from itertools import groupby, repeat
from typing import NamedTuple

from taxonomy.detectors.safety_security import _planted
from taxonomy.detectors.safety_security._gate import Gate
from taxonomy.detectors.safety_security._injection_patterns import PATTERNS
from taxonomy.detectors.safety_security._prefilter import Facts, Prefilter, is_safe
from taxonomy.text import STOPWORDS

MAX_SCAN_CHARS = 100_000  # per text; injections live in the readable part, not in the tail of a 1 MB dump
PATTERN_BUDGET = 30_000  # characters around anchors each phrase pattern may read per text
FLOOD_MIN_REPEATS = 40
FLOOD_MAX_TOKENS = 20_000
CACHE_SIZE = 256

SPACED_LETTERS_RE = re.compile(r"(?:\b\w (?=\w\b)){9,}\w\b")
SPACED_START_RE = re.compile(r"^(?:say|write|print|tell|ignore)", re.IGNORECASE)
TOKEN_RE = re.compile(r"\S+")
# per scope, the indexes into PATTERNS of the patterns that apply, and a prefilter over them
SCOPE_PATTERNS = {scope: [i for i, p in enumerate(PATTERNS) if scope in p.scopes] for scope in ("direct", "indirect")}
PHRASE_PREFILTERS = {
    scope: Prefilter([PATTERNS[i].regex for i in indexes], frozenset(STOPWORDS))
    for scope, indexes in SCOPE_PATTERNS.items()
}

# One byte per character (UTF-8 continuation bytes deleted): a word-character shape (every non-ASCII character
# counts as a word character) and a token shape (every non-ASCII character counts as whitespace).
_CONTINUATION = bytes(range(0x80, 0xC0))
_WORDISH = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")
_SPACING_SHAPE = bytes(97 if b in _WORDISH or b >= 0xC0 else 32 if b == 32 else 46 for b in range(256))
_ASCII_SPACES = b" \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f"
_TOKEN_SHAPE = bytes(32 if b in _ASCII_SPACES else 120 for b in range(256))
_TOKEN_SHAPE_SPLIT_NON_ASCII = bytes(32 if b in _ASCII_SPACES or b >= 0xC0 else 120 for b in range(256))
# the non-ASCII characters that str.isspace() (so str.split and the \s of TOKEN_RE) treats as whitespace
NON_ASCII_SPACE_RE = re.compile("[\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]")
_SPACED_RUN = b"a a a a a a a a a a"  # ten single word characters one space apart
_LONG_TOKEN = b"xxxxx"
_FLOOD_SPAN = 2 * FLOOD_MIN_REPEATS + 1  # 41 tokens of 1-4 characters need at least 81 characters


class Hit(NamedTuple):
    kind: str
    weight: float
    start: int
    end: int
    text: str  # the matched cue (or the whole out-of-place sentence)


def scan_text(text: str, scope: str, task_stems: set[str] | Callable[[], set[str]] | None = None) -> list[Hit]:
    """Injection cues in `text`; scope is "direct" or "indirect". `task_stems`: the user's request, for data
    (or a function returning it, called only if the text has a standalone task sentence to judge)."""
    text = text[:MAX_SCAN_CHARS]
    hits, entries = _static_scan(text, scope)
    hits = list(hits)
    stems: set[str] | None = None
    for entry in entries:
        if isinstance(entry, _planted.AddressedHit):
            hits.append(Hit("model_addressed_instruction", 1.0, entry.start, entry.end, entry.sentence))
            continue
        if stems is None:
            stems = (task_stems() if callable(task_stems) else task_stems) or set()
        if _planted.is_planted(entry, stems):
            hits.append(Hit("out_of_place_instruction", 1.0, entry.start, entry.end, entry.sentence))
    return _dedupe(hits)


@lru_cache(maxsize=CACHE_SIZE)
def _static_scan(text: str, scope: str) -> tuple[tuple[Hit, ...], tuple[_planted.Entry, ...]]:
    """Everything `scan_text` finds that does not depend on the user's request, in the order it reports it."""
    safe = is_safe(text)
    facts = Facts(text.lower()) if safe else None
    hits = _phrase_hits(text, scope, facts)
    if _maybe_spaced(text):
        hits.extend(_spaced_letter_hits(text, scope))
    if _maybe_flooded(text):
        flood = _token_flood(text)
        if flood is not None:
            hits.append(flood)
    entries: tuple[_planted.Entry, ...] = ()
    if scope == "indirect":
        entries = _planted.planted_entries(text, _planted.may_be_addressed(facts), safe)
    return tuple(hits), entries


def _phrase_hits(text: str, scope: str, facts: Facts | None) -> list[Hit]:
    if facts is None or len(text) > PATTERN_BUDGET:  # unusual characters or long text: every pattern, windowed
        gate = Gate(text)
        return [
            Hit(p.kind, p.weight, m.start(), m.end(), m.group(0))
            for p in PATTERNS
            if scope in p.scopes
            for m in gate.finditer(p.regex, p.anchors, PATTERN_BUDGET)
        ]
    hits: list[Hit] = []
    if scope not in PHRASE_PREFILTERS:
        return hits
    prefilter, indexes = PHRASE_PREFILTERS[scope], SCOPE_PATTERNS[scope]
    for candidate in prefilter.candidates(facts):
        p = PATTERNS[indexes[candidate]]
        if p.anchors.search(facts.lower):  # the anchor gate a short text always had
            matches = prefilter.finditer(candidate, text, facts)
            hits.extend(Hit(p.kind, p.weight, m.start(), m.end(), m.group(0)) for m in matches)
    return hits


def _dedupe(hits: list[Hit]) -> list[Hit]:
    hits.sort(key=lambda h: (h.start, -h.weight))
    kept: list[Hit] = []
    for hit in hits:
        if kept and hit.start < kept[-1].end and hit.weight <= kept[-1].weight:
            continue
        kept.append(hit)
    return kept


def _one_byte_per_char(text: str, table: bytes) -> bytes:
    return text.encode("utf-8", "surrogatepass").translate(table, _CONTINUATION)


def _maybe_spaced(text: str) -> bool:
    """False only if no ten single word characters stand one space apart (SPACED_LETTERS_RE cannot match)."""
    return _SPACED_RUN in _one_byte_per_char(text, _SPACING_SHAPE)


def _maybe_flooded(text: str) -> bool:
    """False only if `_token_flood` cannot find a flood. A flood is 41+ tokens of 1-4 characters in a row: 81+
    characters without a 5-character token, so some aligned 41-character window of the text lacks one; and 40
    equal token pairs in a row at a period of 1-3."""
    if len(text) < _FLOOD_SPAN:
        return False
    spaces_only_ascii = text.isascii() or not NON_ASCII_SPACE_RE.search(text)
    shape = _one_byte_per_char(text, _TOKEN_SHAPE if spaces_only_ascii else _TOKEN_SHAPE_SPLIT_NON_ASCII)
    half = FLOOD_MIN_REPEATS
    starts = range(0, len(shape) - half, half)
    if all(map(shape.count, repeat(_LONG_TOKEN), starts, range(half + 1, len(shape) + 1, half))):
        return False
    tokens = text.split(None, FLOOD_MAX_TOKENS)[:FLOOD_MAX_TOKENS]
    run = b"\x01" * FLOOD_MIN_REPEATS
    return any(run in bytes(map(operator.eq, tokens[period:], tokens)) for period in (1, 2, 3))


def _spaced_letter_hits(text: str, scope: str) -> list[Hit]:
    """Letter-spaced text is collapsed and rescanned; a hit there counts, plus the obfuscation itself."""
    out: list[Hit] = []
    for m in SPACED_LETTERS_RE.finditer(text):
        collapsed = m.group(0).replace(" ", "")
        inner = [p for p in PATTERNS if scope in p.scopes and p.regex.search(collapsed)]
        weight = 1.0 if inner or SPACED_START_RE.search(collapsed) else 0.5
        out.append(Hit("obfuscated_text", weight, m.start(), m.end(), m.group(0)))
    return out


def _token_flood(text: str) -> Hit | None:
    """A run of >= FLOOD_MIN_REPEATS short filler tokens repeating with period 1-3 ("ö ö ö", ") ] } ) ] }")."""
    spans = [(m.start(), m.end()) for m, _ in zip(TOKEN_RE.finditer(text), range(FLOOD_MAX_TOKENS), strict=False)]
    tokens = [text[s:e] for s, e in spans]
    best = (0, 0, 0)  # run length, index of the first repeated token, index of the last
    for period in (1, 2, 3):
        same = [a == b and len(a) <= 4 for a, b in zip(tokens[period:], tokens, strict=False)]
        i = 0
        for key, group in groupby(same):
            n = len(list(group))
            if key and n > best[0]:
                best = (n, i, i + n + period - 1)
            i += n
    if best[0] < FLOOD_MIN_REPEATS:
        return None
    start, end = spans[best[1]][0], spans[best[2]][1]
    return Hit("token_flooding", 1.0, start, end, text[start : min(end, start + 40)])
