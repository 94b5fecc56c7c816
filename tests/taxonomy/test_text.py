"""Shared text primitives: sentence splitting with offsets, content words, stems, snippets."""

from __future__ import annotations

from taxonomy.text import content_words, overlap, sentences, snippet, stem, stems


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
