"""Query key terms and lexical query/chunk overlap, shared by the retrieval detectors.

The "question" is the last sentence of the input that asks something (long multi-turn inputs end with
the live question), its key terms are the content words left after dropping instruction and question
filler ("summarize", "explain", "which", "document"...). Names and numbers of the question are marked
as anchors: a chunk that misses every anchor is rarely about the question. Overlap is measured on light
stems, with a 5-letter prefix match so that "elect"/"election"/"electoral" meet.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from taxonomy.detectors.hallucination_grounding._facts import bare_token, cached_stem, normalize
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
PREFIX = 5
ASKING_RE = re.compile(r"\?\s*$")
USER_TURN_RE = re.compile(r"\[(?:human|user)\][ \t]*:|(?:^|\n)[ \t]*(?:human|user|customer|q)[ \t]*:", re.IGNORECASE)
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
    turns = list(USER_TURN_RE.finditer(text))
    if turns and text[turns[-1].end() :].strip():
        start = turns[-1].end()
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


def query_terms(text: str) -> QueryTerms:
    offset, question = question_of(text)
    terms: list[str] = []
    surface: list[str] = []
    anchors: set[str] = set()
    for match in WORD_RE.finditer(question):
        raw = match.group()
        word = normalize(raw)
        if len(word) < 2 or word in STOPWORDS or word in QUERY_FILLER:
            continue
        term = cached_stem(bare_token(word))
        if term not in terms:
            terms.append(term)
            surface.append(raw)
        before = question[: match.start()].rstrip()
        if (raw[:1].isupper() and before and before[-1] not in SENTENCE_END_CHARS) or raw[:1].isdigit():
            anchors.add(term)
    return QueryTerms(question, offset, tuple(terms), tuple(surface), frozenset(anchors))


def chunk_vocabulary(text: str) -> tuple[set[str], set[str]]:
    """Stems of a chunk's words, and their 5-letter prefixes."""
    stems = {cached_stem(w) for w in set(WORD_RE.findall(normalize(text))) if len(w) > 1}
    return stems, {s[:PREFIX] for s in stems if len(s) >= PREFIX}


def term_found(term: str, stems: set[str], prefixes: set[str]) -> bool:
    return term in stems or (len(term) >= PREFIX and term[:PREFIX] in prefixes)


def overlap(query: QueryTerms, stems: set[str], prefixes: set[str]) -> float:
    """Share of the query's key terms found in a vocabulary (1.0 when the query has none)."""
    if not query.terms:
        return 1.0
    return sum(term_found(t, stems, prefixes) for t in query.terms) / len(query.terms)


def missing_terms(query: QueryTerms, stems: set[str], prefixes: set[str]) -> list[str]:
    return [t for t in query.terms if not term_found(t, stems, prefixes)]
