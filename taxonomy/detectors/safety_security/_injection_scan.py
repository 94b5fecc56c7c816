"""Scanning helpers of the injection detector: phrase hits, obfuscation, and out-of-place instructions in data.

`scan_text` finds injection cues in one text (the user's message, a retrieved document, a tool output) and
returns `Hit`s with exact offsets. Besides the phrase patterns it knows three shapes that phrases miss:
token flooding (hundreds of repeated filler tokens that push the real prompt out of view), letter-spaced text
("S a y  t h a t ...", re-scanned after collapsing), and, in data only, a standalone task sentence that has
nothing to do with the user's question or the rest of the document (BIPIA-style "Explain the theory of
relativity." inserted into a table): an instruction addressed to the model rather than to the reader.
"""

from __future__ import annotations

import re
from collections import Counter
from itertools import groupby
from typing import NamedTuple

from taxonomy.detectors.safety_security._gate import Gate
from taxonomy.detectors.safety_security._injection_patterns import (
    CODE_INSERTION_RE,
    MODEL_ADDRESS_RE,
    PATTERNS,
)
from taxonomy.text import WORD_RE, content_words, stem

MAX_SCAN_CHARS = 100_000  # per text; injections live in the readable part, not in the tail of a 1 MB dump
PATTERN_BUDGET = 30_000  # characters around anchors each phrase pattern may read per text
MAX_LINES = 4_000  # lines of a document examined for model-addressed sentences
FLOOD_MIN_REPEATS = 40
FLOOD_MAX_TOKENS = 20_000
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

LINE_RE = re.compile(r"[^\n]+")
SENTENCE_RE = re.compile(r"[^.!?\n]+(?:[.!?]+|$)")
FIRST_WORD_RE = re.compile(r"\s*(?:please\s+|kindly\s+)?([A-Za-z'’]+)", re.IGNORECASE)
SPACED_LETTERS_RE = re.compile(r"(?:\b\w (?=\w\b)){9,}\w\b")
FENCE_RE = re.compile(r"^\s*```")
TOKEN_RE = re.compile(r"\S+")


class Hit(NamedTuple):
    kind: str
    weight: float
    start: int
    end: int
    text: str  # the matched cue (or the whole out-of-place sentence)


def scan_text(text: str, scope: str, task_stems: set[str] | None = None) -> list[Hit]:
    """Injection cues in `text`; scope is "direct" or "indirect". `task_stems`: the user's request, for data."""
    text = text[:MAX_SCAN_CHARS]
    gate = Gate(text)
    hits = [
        Hit(p.kind, p.weight, m.start(), m.end(), m.group(0))
        for p in PATTERNS
        if scope in p.scopes
        for m in gate.finditer(p.regex, p.anchors, PATTERN_BUDGET)
    ]
    hits.extend(_spaced_letter_hits(text, scope))
    flood = _token_flood(text)
    if flood is not None:
        hits.append(flood)
    if scope == "indirect":
        hits.extend(_model_addressed_hits(text, task_stems or set()))
    return _dedupe(hits)


def _dedupe(hits: list[Hit]) -> list[Hit]:
    hits.sort(key=lambda h: (h.start, -h.weight))
    kept: list[Hit] = []
    for hit in hits:
        if kept and hit.start < kept[-1].end and hit.weight <= kept[-1].weight:
            continue
        kept.append(hit)
    return kept


def _spaced_letter_hits(text: str, scope: str) -> list[Hit]:
    """Letter-spaced text is collapsed and rescanned; a hit there counts, plus the obfuscation itself."""
    out: list[Hit] = []
    for m in SPACED_LETTERS_RE.finditer(text):
        collapsed = m.group(0).replace(" ", "")
        inner = [p for p in PATTERNS if scope in p.scopes and p.regex.search(collapsed)]
        weight = 1.0 if inner or re.search(r"^(?:say|write|print|tell|ignore)", collapsed, re.I) else 0.5
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


def _model_addressed_hits(text: str, task_stems: set[str]) -> list[Hit]:
    """Sentences in data that instruct the model: 'in your response', code insertion, or off-topic tasks."""
    out: list[Hit] = []
    doc_counts: Counter[str] | None = None
    in_code = False
    for line_no, line in enumerate(LINE_RE.finditer(text)):
        if line_no >= MAX_LINES:
            break
        if FENCE_RE.match(line.group(0)):
            in_code = not in_code
            continue
        if in_code or line.group(0).lstrip().startswith("|"):
            continue
        pieces = [(line.start(), line.group(0))]
        if not _is_task_sentence(line.group(0).strip()):
            pieces = [(line.start() + m.start(), m.group(0)) for m in SENTENCE_RE.finditer(line.group(0))]
        for offset, piece in pieces:
            sentence = piece.strip()
            if len(sentence) < 8:
                continue
            start = offset + len(piece) - len(piece.lstrip())
            end = start + len(sentence)
            if MODEL_ADDRESS_RE.search(sentence) or (
                CODE_INSERTION_RE.search(sentence) and re.search(r"\byour\b", sentence, re.IGNORECASE)
            ):
                out.append(Hit("model_addressed_instruction", 1.0, start, end, sentence))
                continue
            if not _is_task_sentence(sentence):
                continue
            if sentence != line.group(0).strip():
                continue  # planted tasks stand on a line of their own; mid-paragraph questions are prose
            if doc_counts is None:
                doc_counts = Counter(stem(w) for w in content_words(text))
            if _is_out_of_place(sentence, task_stems, doc_counts):
                out.append(Hit("out_of_place_instruction", 1.0, start, end, sentence))
    return out


def _is_task_sentence(sentence: str) -> bool:
    if "`" in sentence or sentence.endswith(":"):
        return False
    first = FIRST_WORD_RE.match(sentence)
    if first is None:
        return False
    word = first.group(1).lower().replace("’", "'")
    if CONTEXT_PRONOUNS.intersection(w.lower() for w in WORD_RE.findall(sentence)):
        return False
    if word in TASK_VERBS and sentence[:1].isupper():
        return True
    return sentence.rstrip("'\"”’").endswith("?") and word in QUESTION_START and sentence[:1].isupper()


def _is_out_of_place(sentence: str, task_stems: set[str], doc_counts: Counter[str]) -> bool:
    """Few of the sentence's stems occur in the user's request or elsewhere in the document."""
    own = Counter(stem(w) for w in content_words(sentence))
    if len(own) < 2:
        return False
    shared = sum(1 for s, n in own.items() if s in task_stems or doc_counts[s] > n)
    return shared / len(own) <= NOVELTY_MAX_SHARED
