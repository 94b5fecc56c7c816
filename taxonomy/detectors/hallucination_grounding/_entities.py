"""Named entities in free text: runs of capitalised tokens (joined by spaces or connectors such as "of"),
with titles, generic words and sentence openers stripped; each with its character offsets.

The run grouping looks at capitalised tokens and at what lies between consecutive ones (nothing, one
connector, or more). In ASCII text the capitalised tokens are found by a regex that jumps between capital
letters and only their neighbourhoods are read; other text is split into tokens and gaps in one pass.
Both are linear-time on adversarial input and give the same mentions.
"""

from __future__ import annotations

import re
from itertools import accumulate, compress, islice
from operator import itemgetter

from taxonomy.detectors.hallucination_grounding._facts import (
    EDGE_WORDS,
    ENTITY_CONNECTORS,
    GENERIC_CAPS,
    MAX_ENTITY_TOKENS,
    MONTHS,
    SENTENCE_BREAK_CHARS,
    SHORT_ANSWER_TOKENS,
    TITLES,
    EntityMention,
    normalize,
)
from taxonomy.text import STOPWORDS, TOKEN_RE

TOKENS_AND_GAPS_RE = re.compile(f"({TOKEN_RE.pattern})")
# A TOKEN_RE token of ASCII text that starts with a capital: not inside a token (after a letter or digit, or
# after a joiner that follows one), capital first so that the regex engine jumps between capitals.
CAPITALISED_TOKEN_RE = re.compile(r"[A-Z](?<![A-Za-z0-9].)(?<![A-Za-z0-9]['.\-].)[A-Za-z0-9]*(?:['.\-][A-Za-z0-9]+)*")
JOINERS = "'.-"
_FIRST_CHAR = itemgetter(0)

Span = tuple[int, int]


def entities(text: str) -> list[EntityMention]:
    """Runs of capitalised tokens (joined by spaces or connectors such as "of"), titles stripped.

    A single capitalised word opening a sentence is kept only in a short answer ("Berlin."), since
    elsewhere it is usually an ordinary word ("Despite", "Another").
    """
    runs = _ascii_runs(text) if text.isascii() else _runs(text)
    if not runs:
        return []
    short_answer: bool | None = None
    found = []
    for members, initial in runs:
        if initial and short_answer is None:  # a short answer: at most SHORT_ANSWER_TOKENS tokens
            short_answer = len(list(islice(TOKEN_RE.finditer(text), SHORT_ANSWER_TOKENS + 1))) <= SHORT_ANSWER_TOKENS
        mention = _entity_from_run(text, members, initial and not short_answer)
        if mention is not None and not mention.sentence_initial:
            found.append(mention)
    return found


def _runs(text: str) -> list[tuple[list[Span], bool]]:
    """(member spans, sentence-initial) of each run, from a split of the text into tokens and gaps."""
    parts = TOKENS_AND_GAPS_RE.split(text)  # gap, token, gap, token, ..., gap
    tokens = parts[1::2]
    capitalised = list(compress(range(len(tokens)), map(str.isupper, map(_FIRST_CHAR, tokens))))
    if not capitalised:
        return []
    gaps = parts[0::2]  # gaps[i]: the text between token i - 1 and token i
    ends = list(accumulate(map(len, parts)))  # token i spans ends[2i] to ends[2i + 1]
    runs: list[tuple[list[Span], bool]] = []
    run: list[Span] = []
    run_initial = False
    previous = -1
    for i in capitalised:
        connector = None
        if run and i - previous > 1:  # the tokens in between either are one connector ("of") or end the run
            if i - previous == 2 and tokens[i - 1] in ENTITY_CONNECTORS and gaps[i - 1].strip() == "":
                connector = (ends[2 * i - 2], ends[2 * i - 1])
            else:
                runs.append((run, run_initial))
                run = []
        run, run_initial = _extend(runs, run, run_initial, (ends[2 * i], ends[2 * i + 1]), gaps[i], i == 0, connector)
        previous = i
    runs.append((run, run_initial))
    return runs


def _ascii_runs(text: str) -> list[tuple[list[Span], bool]]:
    """_runs for ASCII text, reading only the capitalised tokens and the text just before each."""
    runs: list[tuple[list[Span], bool]] = []
    run: list[Span] = []
    run_initial = False
    previous_end = -1
    for match in CAPITALISED_TOKEN_RE.finditer(text):
        start = match.start()
        gap_start = start  # where the token before this one ends
        while gap_start and not text[gap_start - 1].isalnum():
            gap_start -= 1
        connector = None
        if run and gap_start != previous_end:  # tokens lie in between: one connector ("of"), or the run ends
            token_start = _token_start(text, gap_start)
            before = text[previous_end:token_start]
            if text[token_start:gap_start] in ENTITY_CONNECTORS and before.strip() == "":  # one token, a connector
                connector = (token_start, gap_start)
            else:
                runs.append((run, run_initial))
                run = []
        first = gap_start == 0  # no token before
        run, run_initial = _extend(runs, run, run_initial, match.span(), text[gap_start:start], first, connector)
        previous_end = match.end()
    if run:
        runs.append((run, run_initial))
    return runs


def _token_start(text: str, end: int) -> int:
    """Where the token ending at `end` starts: letters and digits, and joiners between two of them."""
    start = end - 1
    while start > 0 and (
        text[start - 1].isalnum() or (text[start - 1] in JOINERS and start > 1 and text[start - 2].isalnum())
    ):
        start -= 1
    return start


def _extend(
    runs: list[tuple[list[Span], bool]],
    run: list[Span],
    run_initial: bool,
    token: Span,
    gap: str,
    first: bool,
    connector: Span | None,
) -> tuple[list[Span], bool]:
    """Add a capitalised token to the open run (with the connector before it), or close the run and open a
    new one when a sentence break, punctuation or the length limit lies in between."""
    boundary = first or not SENTENCE_BREAK_CHARS.isdisjoint(gap) or ": " in gap
    if not (run and not boundary and gap.strip() in ("", "&") and len(run) < MAX_ENTITY_TOKENS):
        if run:
            runs.append((run, run_initial))
        run, run_initial = [], boundary
    if connector is not None and run:
        run.append(connector)
    run.append(token)
    return run, run_initial


def _identity_token(word: str, normalized: str) -> str:
    """The normalised token without lower-case hyphen tails: "Oxford-based" -> "oxford"."""
    if "-" in word:
        return normalize("-".join(part for part in word.split("-") if not part.islower()) or word)
    return normalized


def _single_word_entity(text: str, span: Span, initial: bool) -> EntityMention | None:
    """_entity_from_run for a run of one word (most runs): None also for a sentence-initial mention, which
    entities() drops."""
    start, end = span
    word = text[start:end]
    normalized = normalize(word)
    if word.islower() or normalized in EDGE_WORDS or normalized in TITLES:
        return None  # a sentence opener, stopword or bare title ("The", "However", "President")
    identity = _identity_token(word, normalized)
    if identity in GENERIC_CAPS or identity in STOPWORDS or identity in MONTHS:
        return None
    acronym = 2 <= len(word) <= 5 and word.isupper()  # "(USPAS)"
    if initial and not acronym:
        return None
    return EntityMention(start, end, word, (identity,), False)


def _entity_from_run(text: str, run: list[Span], initial: bool) -> EntityMention | None:
    """The mention of a run of token spans, or None when nothing identifying is left."""
    if len(run) == 1:
        return _single_word_entity(text, run[0], initial)
    words = [text[start:end] for start, end in run]
    shouting = sum(1 for word in words if len(word) > 1 and word.isupper()) > 1  # "CLICK HERE"
    normalized = [normalize(word) for word in words]
    last = len(words)
    while last and (words[last - 1].islower() or normalized[last - 1] in EDGE_WORDS):
        last -= 1
    lead = 0
    while lead < last and (normalized[lead] in EDGE_WORDS or normalized[lead] in TITLES):
        lead += 1
    if lead:
        initial = False  # "The Lion King": the words after "The" are capitalised on purpose
    identity = tuple(_identity_token(words[k], normalized[k]) for k in range(lead, last) if not words[k].islower())
    identity = tuple(t for t in identity if t not in GENERIC_CAPS)
    if not identity or all(t in STOPWORDS or t in MONTHS for t in identity):
        return None
    start, end, first = run[lead][0], run[last - 1][1], words[lead]
    acronym = 2 <= len(first) <= 5 and first.isupper() and not shouting  # "(USPAS)"
    return EntityMention(start, end, text[start:end], identity, initial and len(identity) == 1 and not acronym)
