"""Attribute flips against structured context: a JSON record says a feature is false ("OutdoorSeating":
false, "BusinessParking": {"valet": false}) or unknown (null), yet the answer asserts the feature.

Each false/null leaf becomes a phrase from its key path ("outdoor seating", "valet parking"); an output
clause that names the phrase without a negation contradicts (false) or goes beyond (null) the record.
Clauses are split at contrastive words ("but", "while", "although") so that "no valet parking, but a
lot" does not hide a flip; the negation scope is the clause, which misses some flips in long lists.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from operator import add
from typing import Any

from taxonomy.detectors.hallucination_grounding._facts import cached_stem, normalize
from taxonomy.text import MAX_CACHED_TEXTS, STOPWORDS, stem_preimage, word_list, word_lists, word_set

CAMEL_RE = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|[_\s]+")
# [.;!?]\s|\n|(?<!\s)\s+(?:but|however|...)\b, opening with the character it consumes first.
CLAUSE_RE = re.compile(
    r"[.;!?\s](?:(?<=[.;!?])\s|(?<=\n)|(?<=\s)(?<!\s\s)\s*(?:but|however|while|whereas|although|though|yet|except)\b)",
    re.IGNORECASE,
)
NEGATION_RE = re.compile(
    r"\b(?:no|not|never|none|nor|neither|without|lacks?|lacking|unavailable|rather than|instead of|other than)\b"
    r"|n't\b",
    re.IGNORECASE,
)
FALSE_STRINGS = frozenset({"no", "none", "false", "u'no'", "'no'", "u'none'", "'none'"})
KEY_NOISE = frozenset({"restaurants", "business", "attributes", "attribute", "has", "is", "allows", "accepts"})
MAX_JSON_CHARS = 200_000
MAX_LEAVES = 400


@dataclass(frozen=True, slots=True)
class AttributeFlip:
    start: int
    end: int
    attribute: str  # the key path as written, e.g. "BusinessParking.valet"
    value: Any  # False or None


def _words(text: str) -> list[str]:
    return word_list(normalize(text))


def _key_tokens(key: str) -> list[str]:
    parts = [p.lower() for p in CAMEL_RE.split(key) if p]
    parts = [p for p in parts if p not in KEY_NOISE and len(p) > 1]
    return parts if any(p not in STOPWORDS for p in parts) else []


def _leaves(node: Any, path: tuple[str, ...], depth: int = 0) -> Iterator[tuple[tuple[str, ...], Any]]:
    if depth > 6:
        return
    if isinstance(node, dict):
        for key, value in node.items():
            if isinstance(value, dict | list):
                yield from _leaves(value, (*path, str(key)), depth + 1)
            else:
                yield (*path, str(key)), value
    elif isinstance(node, list):
        for value in node[:MAX_LEAVES]:
            if isinstance(value, dict | list):
                yield from _leaves(value, path, depth + 1)
            else:
                yield path, value


@lru_cache(maxsize=MAX_CACHED_TEXTS)
def negative_attributes(doc: str) -> tuple[tuple[str, tuple[str, ...], tuple[str, ...], Any], ...]:
    """(path, child tokens, parent tokens, value) of every false or null leaf of a JSON context document;
    memoised per document (answers that share a context read its records once)."""
    text = doc.strip()
    if not text.startswith(("{", "[")) or len(text) > MAX_JSON_CHARS:
        return ()
    try:
        record = json.loads(text)
    except (ValueError, RecursionError):
        return ()
    found = []
    leaves = list(_leaves(record, ()))
    # Free text inside the record (reviews, descriptions) can back what a null attribute leaves open.
    prose: set[str] | None = None
    for path, value in leaves:
        negative = value is False or value is None or (isinstance(value, str) and value.lower() in FALSE_STRINGS)
        if not negative or not path:
            continue
        child = _key_tokens(path[-1])
        parent = _key_tokens(path[-2]) if len(path) > 1 else []
        if not child:
            continue
        if value is None:
            if prose is None:  # its words; a child is backed when a word of it has the child's stem
                prose = word_set(normalize("\n".join(v for _, v in leaves if isinstance(v, str) and " " in v)))
            if all(not stem_preimage(cached_stem(t)).isdisjoint(prose) for t in child):
                continue
        found.append((".".join(path), tuple(child), tuple(parent), None if value is None else False))
        if len(found) >= MAX_LEAVES:
            break
    return tuple(found)


def _clauses(text: str) -> Iterator[tuple[int, int]]:
    start = 0
    for match in CLAUSE_RE.finditer(text):
        yield start, match.start()
        start = match.end()
    yield start, len(text)


def _forms(tokens: list[str], wanted: dict[str, str]) -> set[str]:
    """Stems of the tokens and of adjacent pairs glued together ("take out" -> "takeout", "wi fi" -> "wifi"),
    as far as they are among the stems looked for; `wanted` maps every word with such a stem to its stem."""
    surface = set(tokens)
    surface.update(map(add, tokens, tokens[1:]))
    return set(map(wanted.__getitem__, filter(wanted.__contains__, surface)))


def attribute_flips(output: str, context: list[str]) -> list[AttributeFlip]:
    """Output clauses that assert a feature the structured context records as false or null."""
    attributes = [a for doc in context for a in negative_attributes(doc)]
    if not attributes:
        return []
    wanted: dict[str, str] = {}  # every word whose stem an attribute looks for -> that stem
    for _, child, parent, _ in attributes:
        for stem_value in {*map(cached_stem, child), *map(cached_stem, parent), cached_stem("".join(child))}:
            wanted.update(dict.fromkeys(stem_preimage(stem_value), stem_value))
    output_forms = _forms(_words(output), wanted)
    checks = []  # (path, child stems, glued child stem, parent stems when the output names the parent, value)
    by_stem: dict[str, list[int]] = {}  # first child stem / glued child stem -> the checks it may satisfy
    for path, child, parent, value in attributes:
        parent_stems = [cached_stem(t) for t in parent]
        parent_needed = bool(parent) and all(t in output_forms for t in parent_stems)
        child_stems = [cached_stem(t) for t in child]
        glued = cached_stem("".join(child))
        for key in {child_stems[0], glued}:
            by_stem.setdefault(key, []).append(len(checks))
        checks.append((path, child_stems, glued, parent_stems if parent_needed else [], value))
    flips: list[AttributeFlip] = []
    reported: set[str] = set()
    spans = list(_clauses(output))
    clause_words = word_lists([normalize(output[start:end]) for start, end in spans])
    for (start, end), words in zip(spans, clause_words, strict=True):
        clause = output[start:end]
        forms = _forms(words, wanted)
        # A check holds only if its first child stem or its glued child is among the forms.
        candidates = sorted({i for stem in forms for i in by_stem.get(stem, ())})
        if not candidates or NEGATION_RE.search(clause):
            continue
        for i in candidates:
            path, child_stems, glued, parent_stems, value = checks[i]
            if path in reported:
                continue
            child_hit = all(t in forms for t in child_stems) or glued in forms
            if child_hit and all(t in forms for t in parent_stems):
                reported.add(path)
                flips.append(AttributeFlip(start, end, path, value))
    return flips
