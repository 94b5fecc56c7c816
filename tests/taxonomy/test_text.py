"""Shared text primitives: sentence splitting with offsets, content words, stems, snippets."""

from __future__ import annotations

import random
import re
import unicodedata

from taxonomy.text import (
    STOPWORDS,
    cached_sentences,
    content_word_set,
    content_word_sets,
    content_words,
    normalize,
    overlap,
    sentences,
    snippet,
    stem,
    stem_preimage,
    stem_set,
    stems,
    token_set,
    word_list,
    word_lists,
    word_set,
    words,
)


def test_sentences_split_on_punctuation_paragraphs_and_list_items_with_offsets() -> None:
    text = "First one. Second one!\n- bullet\n1. item\n\nThird para"
    assert sentences(text) == [
        (0, "First one."),
        (11, "Second one!"),
        (23, "- bullet"),
        (32, "1. item"),
        (41, "Third para"),
    ]


def test_sentences_on_whitespace_heavy_text_return_nothing_to_split() -> None:
    assert sentences("\n " * 50_000) == []
    assert len(sentences("A.\n" * 1000)) == 1000


def test_content_words_drop_stopwords_and_fold_accents() -> None:
    assert content_words("The Café is in Zürich, isn't it?") == ["cafe", "zurich"]


def test_stems_unify_inflections_and_overlap_counts_shared_ones() -> None:
    assert stem("refunds") == stem("refunded") == stem("refund")
    assert overlap(stems("refunded orders"), stems("order refunds policy")) == 1.0


def test_snippet_quotes_the_span_with_context_and_ellipses() -> None:
    text = "x " * 100 + "The capital is Berlin today." + " y" * 100
    start = text.index("Berlin")
    quoted = snippet(text, start, start + 6, radius=20)
    assert "Berlin" in quoted and quoted.startswith("…") and quoted.endswith("…")


# --- the fast primitives against their plain regex definitions --------------------------------------------------

REFERENCE_WORD_RE = re.compile(r"[^\W_]+(?:['’][^\W_]+)?", re.UNICODE)
REFERENCE_TOKEN_RE = re.compile(r"[^\W_]+(?:['’.\-][^\W_]+)*")
REFERENCE_SENTENCE_END_RE = re.compile(
    r"(?<=[.!?])[\"')\]]*\s+(?=[\"'(\[]?[A-Z0-9])|\n{2,}|\n(?=[ \t]*(?:[-*•]|\d+[.)])\s)"
)
REFERENCE_SUFFIXES = (
    ("ational", "ations", "ation", "ingly", "edly", "ings", "ness", "ment", "ing", "ies", "ied"),
    ("es", "ed", "ly", "s"),
)
# Letters, digits, every token joiner and separator, accents (precomposed and combining), characters that
# change length when case-folded, the private-use separator used for batch tokenising, bullets and blanks.
ALPHABET = [*"abcXYZ019'’.-_ \n\t\"()[]!?,;:*•", "é", "e\u0301", "ß", "İ", "Ω", "日", "\ue000", "‘", "–", "—"]
WORDS = "the refunds refunded nationals stations amazingly reportedly things kindness payment going studies".split()


def reference_normalize(text: str) -> str:
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return text.replace("’", "'").replace("‘", "'").replace("–", "-").replace("—", "-").casefold()


def reference_stem(word: str) -> str:
    long_suffixes, short_suffixes = REFERENCE_SUFFIXES
    for suffix in long_suffixes:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)] + ("y" if suffix in ("ies", "ied") else "")
    for suffix in short_suffixes:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def reference_sentences(text: str) -> list[tuple[int, str]]:
    out: list[tuple[int, str]] = []
    start = 0
    for match in REFERENCE_SENTENCE_END_RE.finditer(text):
        piece = text[start : match.start()]
        if piece.strip():
            out.append((start + len(piece) - len(piece.lstrip()), piece.strip()))
        start = match.end()
    tail = text[start:]
    if tail.strip():
        out.append((start + len(tail) - len(tail.lstrip()), tail.strip()))
    return out


def sample_texts(count: int = 400) -> list[str]:
    rng = random.Random(20240611)
    texts = ["", " ", "Hello.", "O'Neil-Smith met U.S. officials.  Then—again. 'quoted' end.", "x " * 50]
    for _ in range(count):
        parts = [rng.choice(WORDS + ALPHABET) if rng.random() < 0.3 else rng.choice(ALPHABET) for _ in range(60)]
        texts.append("".join(parts))
    return texts


def test_normalize_words_and_tokens_equal_the_regex_definitions() -> None:
    for text in sample_texts():
        assert normalize(text) == reference_normalize(text)
        assert words(text) == REFERENCE_WORD_RE.findall(reference_normalize(text))
        assert word_list(text) == REFERENCE_WORD_RE.findall(text)
        assert word_set(text) == set(REFERENCE_WORD_RE.findall(text))
        assert token_set(text) == set(REFERENCE_TOKEN_RE.findall(text))
        folded = reference_normalize(text)
        expected_content = {w for w in REFERENCE_WORD_RE.findall(folded) if len(w) > 1 and w not in STOPWORDS}
        assert content_word_set(folded) == expected_content
        assert stems(text) == {reference_stem(w) for w in expected_content}


def test_batch_tokenising_equals_one_text_at_a_time() -> None:
    texts = sample_texts(60)
    for group in (texts[i : i + 5] for i in range(0, len(texts), 5)):
        assert word_lists(group) == [REFERENCE_WORD_RE.findall(t) for t in group]
    ascii_texts = [text.encode("ascii", "ignore").decode() for text in texts]
    for group in (ascii_texts[i : i + 5] for i in range(0, len(ascii_texts), 5)):
        assert content_word_sets(group) == [content_word_set(t.lower()) for t in group]
    assert content_word_sets(["plain", "non-ASCII é"]) is None


def test_stem_equals_the_plain_suffix_stripper() -> None:
    suffixes = [*REFERENCE_SUFFIXES[0], *REFERENCE_SUFFIXES[1], "y", "", "e"]
    bases = ["", "a", "ab", "abc", "stud", "nation", "run", "happ", "box"]
    for base in bases:
        for suffix in suffixes:
            for extra in suffixes:
                word = base + suffix + extra
                assert stem(word) == reference_stem(word), word
                assert stem_set([word]) == {reference_stem(word)}
                assert word in stem_preimage(stem(word)) or not word


def test_sentences_equal_the_regex_definition() -> None:
    samples = [*sample_texts(), 'One. Two!\n- three\n1. four\n\n\n Five? (Six.) "Seven." 8 nine.\n 2) ten']
    for text in samples:
        assert sentences(text) == reference_sentences(text)


def test_cached_sentences_equal_uncached_and_are_immutable() -> None:
    for text in sample_texts(50):
        cached = cached_sentences(text)
        assert list(cached) == sentences(text)
        assert isinstance(cached, tuple) and all(isinstance(pair, tuple) for pair in cached)
        assert cached_sentences(text) is cached
