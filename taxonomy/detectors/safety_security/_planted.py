"""Instructions planted in data: sentences addressed to the model, and standalone tasks foreign to the document.

Part of `scan_text` for retrieved documents and tool outputs. A sentence addressed to the model ("... in your
response", "add the following code block to your implementation") is a hit on its own. A standalone task
sentence (a line of its own that opens with a task verb, or a question) is a hit when few of its stems occur
in the user's request or elsewhere in the document (BIPIA plants "Explain the theory of relativity." in a
table). The document-side part of that test does not depend on the request, so `planted_entries` computes it
once per text (callers cache it) and `resolve` finishes it against the request's stems.

Speed: a line is split into sentences and searched with the model-address patterns only when its words allow
a match (see _prefilter); task lines are recognised from their first character on.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterator
from functools import lru_cache
from typing import NamedTuple

from taxonomy.detectors.safety_security._injection_patterns import CODE_INSERTION_RE, MODEL_ADDRESS_RE
from taxonomy.detectors.safety_security._prefilter import Facts, Prefilter
from taxonomy.text import STOPWORDS, WORD_RE, content_words, stem

MAX_LINES = 4_000  # lines of a document examined for model-addressed sentences
NOVELTY_MAX_SHARED = 0.2  # an out-of-place task sentence shares at most this share of its stems

TASK_VERBS = frozenset(
    """add advertise analyze analyse anagram append apply augment break brainstorm calculate classify combine compare
    compose consider convert craft create define describe design detail determine develop discuss draft elaborate
    emphasize encode encourage enhance ensure explain express format generate give group highlight identify
    illustrate include incorporate infuse insert integrate introduce invite leverage list make mention merge misspell
    modify name outline paraphrase plan prepare produce promote provide rearrange recommend remove render rephrase
    replace reply respond reverse rewrite scramble show solve suggest summarize summarise swap teach tease tell
    translate urge use utilize weave write""".split()
)
QUESTION_START = frozenset(
    "what what's who who's whom which when where why how how's is are can could do does did should would will has "
    "have".split()
)
# Sentences that point back into the document ("How in touch are they?") are the document talking, not a task.
CONTEXT_PRONOUNS = frozenset("he she they them their his her him it we our us".split())

SENTENCE_RE = re.compile(r"[^.!?\n]+(?:[.!?]+|$)")
FIRST_WORD_RE = re.compile(r"\s*(?:please\s+|kindly\s+)?([A-Za-z'’]+)", re.IGNORECASE)
FENCE_RE = re.compile(r"^\s*```")
YOUR_RE = re.compile(r"\byour\b", re.IGNORECASE)
ADDRESS_PREFILTER = Prefilter([MODEL_ADDRESS_RE, CODE_INSERTION_RE], frozenset(STOPWORDS))


class AddressedHit(NamedTuple):
    start: int
    end: int
    sentence: str


class PlantedTask(NamedTuple):
    """A standalone task line whose stems the rest of the document mostly lacks; `foreign` are the stems the
    document does not share, `shared` how many it does, `total` how many distinct stems the line has."""

    start: int
    end: int
    sentence: str
    total: int
    shared: int
    foreign: tuple[str, ...]


Entry = AddressedHit | PlantedTask


def may_be_addressed(facts: Facts | None) -> bool:
    """Whether a text (None: not prefilterable) can hold a model-addressed sentence at all."""
    return facts is None or bool(ADDRESS_PREFILTER.candidates(facts))


def _line_may_be_addressed(line: str) -> bool:
    return bool(ADDRESS_PREFILTER.candidates(Facts(line.lower())))


def planted_entries(text: str, addressed: bool, safe: bool) -> tuple[Entry, ...]:
    """Model-addressed sentences and candidate planted tasks of a document, in document order.

    `addressed`: the text may hold a model-addressed sentence; `safe`: its lines can be prefiltered."""
    if not addressed:
        line_check: Callable[[str], bool] = _never
    else:
        line_check = _line_may_be_addressed if safe else _always
    entries: list[Entry] = []
    doc_counts: list[Counter[str]] = []  # the document's stem counts, computed for the first task line
    for line_start, raw in _prose_lines(text):
        stripped = raw.strip()
        task_line = stripped[:1].isupper() and is_task_sentence(stripped)
        check_address = line_check(raw)
        if not task_line and not check_address:
            continue
        pieces = [(line_start, raw)]
        if not task_line:
            pieces = [(line_start + m.start(), m.group(0)) for m in SENTENCE_RE.finditer(raw)]
        for piece_start, piece in pieces:
            sentence = piece.strip()
            if len(sentence) < 8:
                continue
            start = piece_start + len(piece) - len(piece.lstrip())
            end = start + len(sentence)
            if check_address and (
                MODEL_ADDRESS_RE.search(sentence) or (CODE_INSERTION_RE.search(sentence) and YOUR_RE.search(sentence))
            ):
                entries.append(AddressedHit(start, end, sentence))
            elif task_line and len(own := stem_counts(sentence)) >= 2:  # planted tasks stand on a line of their
                if not doc_counts:  # own; mid-paragraph questions are prose
                    doc_counts.append(stem_counts(text))
                task = _planted_task(start, end, sentence, own, doc_counts[0])
                if task is not None:
                    entries.append(task)
    return tuple(entries)


def _prose_lines(text: str) -> Iterator[tuple[int, str]]:
    """(offset, line) of the first MAX_LINES non-empty lines, without fenced code and table rows."""
    in_code = False
    offset = 0
    line_no = 0
    for raw in text.split("\n"):
        line_start = offset
        offset += len(raw) + 1
        if not raw:
            continue
        if line_no >= MAX_LINES:
            return
        line_no += 1
        if "```" in raw and FENCE_RE.match(raw):
            in_code = not in_code
        elif not in_code and not raw.lstrip().startswith("|"):
            yield line_start, raw


def _planted_task(
    start: int, end: int, sentence: str, own: Counter[str], doc_counts: Counter[str]
) -> PlantedTask | None:
    """The task line as a candidate, unless the document alone already shares too many of its stems."""
    foreign = tuple(s for s, n in own.items() if not doc_counts[s] > n)
    shared = len(own) - len(foreign)
    if shared / len(own) > NOVELTY_MAX_SHARED:  # the request's stems can only add to `shared`
        return None
    return PlantedTask(start, end, sentence, len(own), shared, foreign)


def stem_counts(text: str) -> Counter[str]:
    """`Counter(stem(w) for w in content_words(text))`, stemming each distinct word once."""
    counts: Counter[str] = Counter()
    for word, n in Counter(content_words(text)).items():
        counts[stem_of(word)] += n
    return counts


stem_of = lru_cache(maxsize=65_536)(stem)


def is_planted(task: PlantedTask, task_stems: set[str]) -> bool:
    """Few of the sentence's stems occur in the user's request or elsewhere in the document."""
    shared = task.shared + sum(1 for s in task.foreign if s in task_stems)
    return shared / task.total <= NOVELTY_MAX_SHARED


def is_task_sentence(sentence: str) -> bool:
    if "`" in sentence or sentence.endswith(":"):
        return False
    first = FIRST_WORD_RE.match(sentence)
    if first is None:
        return False
    word = first.group(1).lower().replace("’", "'")
    if not sentence[:1].isupper():
        return False
    if word not in TASK_VERBS and not (word in QUESTION_START and sentence.rstrip("'\"”’").endswith("?")):
        return False
    return not CONTEXT_PRONOUNS.intersection(w.lower() for w in WORD_RE.findall(sentence))


def _never(_line: str) -> bool:
    return False


def _always(_line: str) -> bool:
    return True
