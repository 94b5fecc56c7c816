"""Checkable facts in free text besides numbers (see _numbers): named entities (capitalised spans) and
quoted strings, each with its character offsets; plus the shared normalisation and token helpers.

Shared by the grounding and retrieval detectors. Every regex is compiled once and linear-time; the
entity grouping is a single pass over word tokens, so extraction stays linear on adversarial input.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from taxonomy.detectors.hallucination_grounding._numbers import NUMBER_WORDS
from taxonomy.text import STOPWORDS, WORD_RE, stem

COMBINING_RE = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")

# A word token that may carry inner apostrophes, dots or hyphens ("O'Neil", "U.S", "Jean-Luc").
TOKEN_RE = re.compile(r"[^\W_]+(?:['’.\-][^\W_]+)*")
QUOTE_RE = re.compile(r"\"([^\"\n]{3,300})\"|“([^”\n]{3,300})”")
POSSESSIVE_RE = re.compile(r"['’]s$")
TOKEN_SPLIT_RE = re.compile(r"[-.'’]")
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


def _is_capitalised(token: str) -> bool:
    return token[:1].isupper() and not token[:1].isdigit()


def entities(text: str) -> list[EntityMention]:
    """Runs of capitalised tokens (joined by spaces or connectors such as "of"), titles stripped.

    A single capitalised word opening a sentence is kept only in a short answer ("Berlin."), since
    elsewhere it is usually an ordinary word ("Despite", "Another").
    """
    runs: list[tuple[list[re.Match[str]], bool, int]] = []  # (tokens, sentence-initial, sentence number)
    sentence_sizes: list[int] = []
    run: list[re.Match[str]] = []
    run_initial = False
    prev_end = 0
    pending_connector: re.Match[str] | None = None
    for match in TOKEN_RE.finditer(text):
        token = match.group()
        gap = text[prev_end : match.start()]
        boundary = prev_end == 0 or any(ch in SENTENCE_BREAK_CHARS for ch in gap) or ": " in gap
        prev_end = match.end()
        if boundary:
            sentence_sizes.append(0)
        sentence_sizes[-1] += 1
        if _is_capitalised(token):
            contiguous = run and not boundary and gap.strip() in ("", "&") and len(run) < MAX_ENTITY_TOKENS
            if not contiguous:
                if run:
                    runs.append((run, run_initial, len(sentence_sizes) - 1 - boundary))
                run, run_initial = [], boundary
            if pending_connector is not None and run:
                run.append(pending_connector)
            pending_connector = None
            run.append(match)
        elif run and token in ENTITY_CONNECTORS and pending_connector is None and gap.strip() == "":
            pending_connector = match
        else:
            if run:
                runs.append((run, run_initial, len(sentence_sizes) - 1 - boundary))
            run, pending_connector = [], None
    if run:
        runs.append((run, run_initial, len(sentence_sizes) - 1))
    short_answer = sum(sentence_sizes) <= SHORT_ANSWER_TOKENS
    found = []
    for tokens, initial, _sentence in runs:
        mention = _entity_from_run(text, tokens, initial and not short_answer)
        if mention is not None and not mention.sentence_initial:
            found.append(mention)
    return found


def _identity_token(match: re.Match[str]) -> str:
    """The normalised token without lower-case hyphen tails: "Oxford-based" -> "oxford"."""
    word = match.group()
    if "-" in word:
        word = "-".join(part for part in word.split("-") if not part.islower()) or word
    return normalize(word)


def _entity_from_run(text: str, run: list[re.Match[str]], initial: bool) -> EntityMention | None:
    shouting = sum(1 for m in run if len(m.group()) > 1 and m.group().isupper()) > 1  # "CLICK HERE"
    while run and (run[-1].group().islower() or normalize(run[-1].group()) in EDGE_WORDS):
        run = run[:-1]
    lead = 0
    while lead < len(run) and (normalize(run[lead].group()) in EDGE_WORDS or normalize(run[lead].group()) in TITLES):
        lead += 1
    if lead:
        initial = False  # "The Lion King": the words after "The" are capitalised on purpose
    run = run[lead:]
    tokens = tuple(_identity_token(m) for m in run if not m.group().islower())
    tokens = tuple(t for t in tokens if t not in GENERIC_CAPS)
    if not tokens or all(t in STOPWORDS or t in MONTHS for t in tokens):
        return None
    start, end = run[0].start(), run[-1].end()
    acronym = 2 <= len(run[0].group()) <= 5 and run[0].group().isupper() and not shouting  # "(USPAS)"
    return EntityMention(start, end, text[start:end], tokens, initial and len(tokens) == 1 and not acronym)


def quotes(text: str) -> list[QuoteMention]:
    """Double-quoted spans ("..." or “...”) of 3-300 characters on one line."""
    found: list[QuoteMention] = []
    for match in QUOTE_RE.finditer(text):
        group = 1 if match.group(1) is not None else 2
        body = match.group(group)
        if sum(ch.isalpha() for ch in body) >= 3:
            found.append(QuoteMention(match.start(group), match.end(group), body))
    return found


def content_stems(text: str) -> set[str]:
    """`taxonomy.text.stems` (stemmed content words) with the fast normalisation and memoised stems."""
    return {cached_stem(w) for w in WORD_RE.findall(normalize(text)) if len(w) > 1 and w not in STOPWORDS}


def bare_token(token: str) -> str:
    """A normalised token without a possessive ending: "lowry's" -> "lowry"."""
    return POSSESSIVE_RE.sub("", token)


def token_parts(token: str) -> list[str]:
    """The pieces of a hyphenated, dotted or apostrophised token: "stahl-david" -> ["stahl", "david"]."""
    return [p for p in TOKEN_SPLIT_RE.split(token) if p]
