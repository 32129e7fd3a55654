"""Chunks and sentences keep exact offsets into the article text."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from assistant.text.sentences import sentence_spans
from index.articles import Article
from index.chunking import chunk_article
from tests.conftest import SEED_DOC, seed_text


def article(text: str) -> Article:
    return Article("doc.txt", "Title", None, text, "doc.txt", "hash")


def test_seed_chunks_cover_the_article_with_exact_offsets() -> None:
    text = seed_text()
    chunks = chunk_article(Article(SEED_DOC, "t", "2022-02-20", text, SEED_DOC, "h"), size=400, overlap=60)
    assert len(chunks) > 3
    for chunk in chunks:
        assert text[chunk.start : chunk.end] == chunk.text
        assert len(chunk.text) <= 400
    assert [chunk.id for chunk in chunks] == [f"{SEED_DOC}#{i}" for i in range(len(chunks))]
    covered = {i for chunk in chunks for i in range(chunk.start, chunk.end)}
    assert all(i in covered for i, character in enumerate(text) if not character.isspace())


def test_chunks_end_at_sentence_boundaries_when_they_can() -> None:
    sentences = [f"Sentence number {i} talks about the ceasefire in detail." for i in range(40)]
    chunks = chunk_article(article(" ".join(sentences)), size=300, overlap=0)
    assert all(chunk.text.endswith(".") for chunk in chunks)


words = st.sampled_from(["talks", "Kyiv", "U.S.", "a", "Mr.", "45", "minutes", "ceasefire", "“quoted”", "é"])
separators = st.sampled_from([" ", " ", " ", ". ", "! ", "\n", "\n\n", ", ", "  "])
texts = st.lists(st.tuples(words, separators), min_size=1, max_size=300).map(
    lambda parts: "".join(w + s for w, s in parts)
)


@settings(max_examples=150, deadline=None)
@given(text=texts, size=st.integers(min_value=20, max_value=400), overlap_share=st.floats(0, 0.4))
def test_chunk_offsets_always_match_the_text(text: str, size: int, overlap_share: float) -> None:
    for chunk in chunk_article(article(text), size=size, overlap=int(size * overlap_share)):
        assert text[chunk.start : chunk.end] == chunk.text
        assert chunk.text.strip() == chunk.text


@settings(max_examples=150, deadline=None)
@given(text=texts)
def test_sentence_spans_are_trimmed_in_order_and_never_cross_lines(text: str) -> None:
    spans = sentence_spans(text)
    previous_end = 0
    for span in spans:
        piece = text[span.start : span.end]
        assert piece == piece.strip() and piece
        assert "\n" not in piece
        assert span.start >= previous_end
        previous_end = span.end


def test_seed_sentence_offsets_match_the_published_example() -> None:
    text = seed_text()
    spans = sentence_spans(text)
    quote = text[2133:2353]
    assert quote.startswith("In the meanwhile, Elysée stated")
    assert any((span.start, span.end) == (2133, 2353) for span in spans)
