"""Checkable facts in free text besides numbers (see _numbers): quoted strings with their character
offsets, the vocabulary of named entities (found by _entities); plus the shared normalisation and token
helpers.

Shared by the grounding and retrieval detectors. Every regex is compiled once and linear-time.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from taxonomy.detectors.hallucination_grounding._numbers import NUMBER_WORDS
from taxonomy.text import STOPWORDS, content_word_set, content_word_sets, stem, stem_set

COMBINING_RE = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")

QUOTE_RE = re.compile(r"\"([^\"\n]{3,300})\"|“([^”\n]{3,300})”")
POSSESSIVE_ENDINGS = ("'s", "’s")
JOINERS_TO_HYPHEN = str.maketrans(".'’", "---")
JOINERS_TO_SPACE = str.maketrans("-.'’", "    ")
JOINERS_DELETED = str.maketrans("", "", "-.'’")
# What normalize() makes of the non-ASCII punctuation common in English text, as far as words go.
_NORMALIZED_PUNCTUATION = (
    *(("\u2019", "'"), ("\u2018", "'"), ("\xa0", " "), ("\u2026", "...")),
    *(("\u2013", "-"), ("\u2014", "-"), ("\u201c", '"'), ("\u201d", '"'), ("\xa3", "#")),
)
SENTENCE_BREAK_CHARS = frozenset('.!?;\n*#•>|()[]"“”')

# Lower-case words that may join a capitalised span: "University of Oklahoma", "Ludwig van Beethoven".
ENTITY_CONNECTORS = frozenset("of de del della der den di da du des la le van von y bin al el".split())
# Capitalised words that carry no identity on their own: titles, generic heads, discourse openers.
GENERIC_CAPS = frozenset(
    """
mr mrs ms miss dr prof sir dame lord lady st mt saint the a an in on at for and but or so if as to by
however additionally overall furthermore moreover meanwhile also yes no sure here there this that these those
it its he she they we you i i'm i've i'd i'll his her their our my your according based summary note answer
question am pm a.m p.m ok okay
""".split()
)
# Roles written before a name ("Manager Pep Guardiola", "US President Richard Nixon"): not identity.
TITLES = frozenset(
    """
president vice prime minister chancellor secretary senator governor mayor judge justice king queen prince
princess duke pope rev reverend father sister brother captain capt sergeant sgt officer detective inspector
chief general gen colonel col lieutenant lt major maj admiral commander manager coach boss ceo chairman
chairwoman director professor doctor former late musician actor actress singer rapper star striker
midfielder defender goalkeeper keeper forward winger author writer novelist chef
""".split()
)
# Heads of a name that many different names share; a missing head alone does not make a new name.
GENERIC_HEADS = frozenset(
    """
film movie series show season episode album song book novel university college school academy league cup
award awards prize trophy championship tournament games stadium arena park street st road avenue river lake
mountain city county state province district fc f.c club team band group company corp corporation inc ltd
llc jr sr ii iii hotel restaurant cafe bar museum hospital church airport station festival center centre
institute foundation society association council committee party act bill
""".split()
)
MONTHS = frozenset(
    "january february march april may june july august september october november december "
    "jan feb mar apr jun jul aug sep sept oct nov dec".split()
)
WEEKDAYS = frozenset("monday tuesday wednesday thursday friday saturday sunday".split())
# Capitalised words that never start or end a name: articles, discourse words, numbers, days.
EDGE_WORDS = GENERIC_CAPS | STOPWORDS | WEEKDAYS | frozenset(NUMBER_WORDS) | {"one", "zero"}

SHORT_ANSWER_TOKENS = 6
MAX_ENTITY_TOKENS = 10  # longer capitalised runs are headings or shouting; split them


@dataclass(frozen=True, slots=True)
class EntityMention:
    """A capitalised span (person, place, organisation, title) and its identifying tokens."""

    start: int
    end: int
    text: str
    tokens: tuple[str, ...]  # normalised tokens without titles, generic heads or connectors
    sentence_initial: bool  # starts a sentence, line or bullet: capitalisation proves little


@dataclass(frozen=True, slots=True)
class QuoteMention:
    start: int
    end: int
    text: str


def as_text(value: object) -> str:
    """An item field as text, whatever the client sent: None -> "", structures -> JSON, others -> str()."""
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    try:
        return json.dumps(value, default=str, ensure_ascii=False)
    except (TypeError, ValueError, RecursionError):
        return str(value)


def normalize(text: str) -> str:
    """`taxonomy.text.normalize` (casefold, strip accents, unify quotes/dashes) in one regex pass, with a
    fast path for ASCII; every grounding module folds text through here so that both sides compare equal."""
    if text.isascii():
        return text.casefold()
    text = COMBINING_RE.sub("", unicodedata.normalize("NFKD", text))
    return text.replace("’", "'").replace("‘", "'").replace("–", "-").replace("—", "-").casefold()


@lru_cache(maxsize=65536)
def cached_stem(word: str) -> str:
    """`taxonomy.text.stem`, memoised: vocabularies repeat across items."""
    return stem(word)


def quotes(text: str) -> list[QuoteMention]:
    """Double-quoted spans ("..." or “...”) of 3-300 characters on one line."""
    found: list[QuoteMention] = []
    for match in QUOTE_RE.finditer(text):
        group = 1 if match.group(1) is not None else 2
        body = match.group(group)
        if sum(ch.isalpha() for ch in body) >= 3:
            found.append(QuoteMention(match.start(group), match.end(group), body))
    return found


def ascii_normalized(text: str) -> str | None:
    """An ASCII text with the same words (WORD_RE) as normalize(text), at the same offsets, when only curly
    quotes, dashes, no-break spaces, ellipses and pound signs keep `text` from being ASCII (else None):
    normalize() turns the quotes into "'", the dashes into "-", a no-break space into a space and an
    ellipsis into "...", and leaves “ ” £ (separators, as '"' and "#" are). Normalising the twin is
    lower-casing it: no Unicode decomposition of a whole context."""
    if text.isascii():
        return text
    for character, replacement in _NORMALIZED_PUNCTUATION:
        text = text.replace(character, replacement)
    return text if text.isascii() else None


def content_stems(text: str) -> set[str]:
    """`taxonomy.text.stems` (stemmed content words) with the fast normalisation and memoised stems."""
    if not text.isascii() and (twin := ascii_normalized(text)) is not None:
        text = twin
    return stem_set(content_word_set(normalize(text)))


def content_stem_sets(texts: list[str]) -> list[set[str]]:
    """`[content_stems(t) for t in texts]`, ASCII texts (and ASCII twins, see ascii_normalized) tokenised
    together in one pass."""
    if len(texts) > 1 and not all(map(str.isascii, texts)):
        twins = [twin for twin in map(ascii_normalized, texts) if twin is not None]
        if len(twins) == len(texts):
            texts = twins
    word_sets = content_word_sets(texts) if len(texts) > 1 else None
    if word_sets is None:
        return [content_stems(text) for text in texts]
    return [stem_set(words) for words in word_sets]


def bare_token(token: str) -> str:
    """A normalised token without a possessive ending: "lowry's" -> "lowry"."""
    return token[:-2] if token.endswith(POSSESSIVE_ENDINGS) else token  # ['’]s$ (tokens hold no newline)


def token_parts(token: str) -> list[str]:
    """The pieces of a hyphenated, dotted or apostrophised token: "stahl-david" -> ["stahl", "david"]."""
    return [p for p in token.translate(JOINERS_TO_HYPHEN).split("-") if p]
