"""The ASCII twins of text with curly quotes, dashes, no-break spaces, ellipses and pound signs: the grounding
index and the content stems read them instead of the text, and must find exactly what the plain definitions
find in the text itself."""

from __future__ import annotations

import random
import re

from taxonomy.detectors.hallucination_grounding._facts import (
    ascii_normalized,
    content_stem_sets,
    content_stems,
    normalize,
)
from taxonomy.detectors.hallucination_grounding._index_tokens import (
    ascii_twin,
    has_camel_join,
    normalized_tokens,
    raw_tokens,
)
from taxonomy.text import STOPWORDS, stem, token_set

REFERENCE_WORD_RE = re.compile(r"[^\W_]+(?:['’][^\W_]+)?", re.UNICODE)
REFERENCE_TOKEN_RE = re.compile(r"[^\W_]+(?:['’.\-][^\W_]+)*")
PUNCTUATION = ["\xa0", "‘", "’", "“", "”", "–", "—", "…", "£"]
ALPHABET = [*"abcXYZ019'.-_ \n\",;:", *PUNCTUATION]
WORDS = "the Refunds refunded nationals O'Neil stations isn't things U.S. payment going studies".split()


def sample_texts(count: int = 400, extra: tuple[str, ...] = ()) -> list[str]:
    rng = random.Random(20261122)
    texts = ["", "’", "It’s “quoted” – and…£5\xa0each", "don‘t", "a—b", "Rock’n’roll’s"]
    for _ in range(count):
        alphabet = ALPHABET + list(extra)
        parts = [rng.choice(WORDS + alphabet) if rng.random() < 0.3 else rng.choice(alphabet) for _ in range(50)]
        texts.append("".join(parts))
    return texts


def reference_content_stems(text: str) -> set[str]:
    return {stem(w) for w in REFERENCE_WORD_RE.findall(normalize(text)) if len(w) > 1 and w not in STOPWORDS}


def test_ascii_twin_has_the_normalised_tokens_of_the_text() -> None:
    twins = 0
    for text in sample_texts(extra=("é",)):
        twin = ascii_twin(text)
        if "é" in text:
            assert twin is None
            continue
        twins += 1
        assert twin is not None and twin.isascii()
        assert set(REFERENCE_TOKEN_RE.findall(twin.lower())) == {normalize(t) for t in REFERENCE_TOKEN_RE.findall(text)}
        if not has_camel_join(text):  # the index's fast path equals its general one
            assert token_set(twin.lower()) == normalized_tokens(text, raw_tokens(text))
    assert twins > 50


def test_ascii_normalized_has_the_words_of_the_normalised_text() -> None:
    texts = sample_texts(extra=("é",))
    for text in texts:
        twin = ascii_normalized(text)
        if "é" in text:
            assert twin is None
        else:
            assert twin is not None and twin.isascii()
            assert len(twin) == len(normalize(text))  # same words at the same offsets (see _lookup)
            spans = [m.span() for m in REFERENCE_WORD_RE.finditer(twin.lower())]
            assert spans == [m.span() for m in REFERENCE_WORD_RE.finditer(normalize(text))]
            assert REFERENCE_WORD_RE.findall(twin.lower()) == REFERENCE_WORD_RE.findall(normalize(text))
        assert content_stems(text) == reference_content_stems(text)
    for group in (texts[i : i + 4] for i in range(0, len(texts), 4)):
        assert content_stem_sets(group) == [reference_content_stems(t) for t in group]
