"""Query key terms and lexical query/chunk overlap, shared by the retrieval detectors.

The "question" is the last sentence of the input that asks something (long multi-turn inputs end with
the live question), its key terms are the content words left after dropping instruction and question
filler ("summarize", "explain", "which", "document"...). Names and numbers of the question are marked
as anchors: a chunk that misses every anchor is rarely about the question. Overlap is measured on light
stems, with a 5-letter prefix match so that "elect"/"election"/"electoral" meet.
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass
from functools import lru_cache

from taxonomy.detectors.hallucination_grounding._facts import bare_token, cached_stem, normalize
from taxonomy.detectors.retrieval_quality._lookup import TermLookup, term_found, vocabulary
from taxonomy.text import STOPWORDS, WORD_RE, sentences

QUERY_FILLER = frozenset(
    """
what which who whom whose when where why how whats tell give show list explain describe define definition
meaning mean means summarize summarise summary overview write answer question questions find please know
following provided given based passage passages document documents article text context information info
details detail about kind sort type thing things something anything example examples help want need like
get got use using used make made way ways best good better really actually just also still even ever
instruction instructions respond response words sentences paragraph word news story report
""".split()
)
ASKING_RE = re.compile(r"\?\s*$")
# A user turn: "[Human]:" anywhere, or "User:" / "Customer:" / "Q:" opening the text or a line; one pattern
# per opening character, so that the regex engine jumps to "[" and newlines.
BRACKET_TURN_RE = re.compile(r"\[(?:human|user)\][ \t]*:", re.IGNORECASE)
LINE_TURN_RE = re.compile(r"\n[ \t]*(?:human|user|customer|q)[ \t]*:", re.IGNORECASE)
FIRST_TURN_RE = re.compile(r"[ \t]*(?:human|user|customer|q)[ \t]*:", re.IGNORECASE)
SENTENCE_END_CHARS = frozenset(".?!:\n")
MAX_QUESTION_CHARS = 600


@dataclass(frozen=True, slots=True)
class QueryTerms:
    question: str  # the text the terms were taken from
    offset: int  # where `question` starts in the input
    terms: tuple[str, ...]  # key terms (stems), in question order, deduplicated
    surface: tuple[str, ...]  # each term as the question wrote it
    anchors: frozenset[str]  # the terms that came from capitalised words or numbers

    def words_for(self, terms: list[str]) -> list[str]:
        lookup = dict(zip(self.terms, self.surface, strict=True))
        return [lookup[t] for t in terms]


def question_of(text: str) -> tuple[int, str]:
    """The live question: the last user turn of a pasted transcript; in a long input, the last sentence
    ending in "?" or else the tail; otherwise the whole input."""
    turn_end = _last_turn_end(text)
    if turn_end is not None and text[turn_end:].strip():
        start = turn_end
        text_from = text[start:]
        lead = len(text_from) - len(text_from.lstrip())
        return start + lead, text_from.strip()
    if len(text) <= MAX_QUESTION_CHARS:
        return 0, text
    pieces = sentences(text)
    for start, sentence in reversed(pieces):
        if ASKING_RE.search(sentence):
            return start, sentence
    start = max(0, len(text) - MAX_QUESTION_CHARS)
    return start, text[start:]


def _last_turn_end(text: str) -> int | None:
    """Where the last user-turn marker ends, if there is one."""
    last_start, last_end = -1, None
    if (first := FIRST_TURN_RE.match(text)) is not None:
        last_start, last_end = first.start(), first.end()
    for pattern in (BRACKET_TURN_RE, LINE_TURN_RE):
        for match in deque(pattern.finditer(text), maxlen=1):
            if match.start() > last_start:
                last_start, last_end = match.start(), match.end()
    return last_end


@lru_cache(maxsize=16)
def query_terms(text: str) -> QueryTerms:
    """Key terms of the live question of `text` (memoised: every retrieval detector asks for them)."""
    offset, question = question_of(text)
    terms: list[str] = []
    seen: set[str] = set()
    surface: list[str] = []
    anchors: set[str] = set()
    for match in WORD_RE.finditer(question):
        raw = match.group()
        word = normalize(raw)
        if len(word) < 2 or word in STOPWORDS or word in QUERY_FILLER:
            continue
        term = cached_stem(bare_token(word))
        if term not in seen:
            seen.add(term)
            terms.append(term)
            surface.append(raw)
        if raw[:1].isdigit() or (raw[:1].isupper() and _mid_sentence(question, match.start())):
            anchors.add(term)
    return QueryTerms(question, offset, tuple(terms), tuple(surface), frozenset(anchors))


def _mid_sentence(text: str, position: int) -> bool:
    """Whether the last non-blank character before `position` exists and does not end a sentence."""
    while position > 0 and text[position - 1].isspace():
        position -= 1
    return position > 0 and text[position - 1] not in SENTENCE_END_CHARS


def chunk_vocabulary(text: str) -> tuple[set[str], set[str]]:
    """Stems of a chunk's words, and their 5-letter prefixes (see _lookup.vocabulary)."""
    return vocabulary(normalize(text))


def lookup_share(query: QueryTerms, lookup: TermLookup) -> float:
    """`overlap` against the vocabulary a TermLookup stands for."""
    if not query.terms:
        return 1.0
    return sum(map(lookup.has, query.terms)) / len(query.terms)


def overlap(query: QueryTerms, stems: set[str], prefixes: set[str]) -> float:
    """Share of the query's key terms found in a vocabulary (1.0 when the query has none)."""
    if not query.terms:
        return 1.0
    return sum(term_found(t, stems, prefixes) for t in query.terms) / len(query.terms)


def missing_terms(query: QueryTerms, stems: set[str], prefixes: set[str]) -> list[str]:
    return [t for t in query.terms if not term_found(t, stems, prefixes)]
