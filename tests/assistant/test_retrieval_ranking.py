"""Candidates are ranked by their closest sentence to the question, with a small share of BM25.

Synthetic unit vectors stand in for the stored sentence vectors, so the ordering rule itself is what is
checked: a chunk whose one sentence matches the question beats a chunk that is close only on average, BM25
breaks near ties, and a chunk stored without sentence vectors falls back to its own cosine.
"""

from __future__ import annotations

import numpy as np
import pytest

from assistant.retrieve.hybrid import LEXICAL_SHARE, HybridRetriever
from index.sentence_vectors import quantise
from index.store_records import StoredChunk


def unit(*values: float) -> np.ndarray:
    vector = np.array(values + (0.0,) * (4 - len(values)), dtype=np.float32)
    return vector / np.linalg.norm(vector)


def chunk(doc: str, *sentences: np.ndarray) -> StoredChunk:
    vectors = quantise([(i, i + 1) for i in range(len(sentences))], np.stack(sentences)) if sentences else None
    return StoredChunk(f"{doc}-0", doc, doc, None, 0, 10, "text", vectors)


def ranked(dense: list[tuple[StoredChunk, float]], lexical: list[tuple[StoredChunk, float]]) -> list[str]:
    retriever = HybridRetriever(None, None, None, max_chunks_per_article=1)  # type: ignore[arg-type]
    return [p.chunk.doc for p in retriever._by_sentence(dense, lexical, 10, unit(1.0))]


def test_the_chunk_with_one_matching_sentence_beats_the_one_close_on_average() -> None:
    matching = chunk("matching", unit(1.0, 0.05), unit(0.0, 1.0), unit(0.0, 0.0, 1.0))  # one sentence says it
    blurred = chunk("blurred", unit(1.0, 1.0), unit(1.0, 0.0, 1.0))  # every sentence half about it
    # the chunk vectors say the opposite: the blurred chunk is nearer on average
    assert ranked([(blurred, 0.8), (matching, 0.5)], []) == ["matching", "blurred"]


def test_bm25_decides_between_equally_close_sentences_but_cannot_outweigh_a_clearly_closer_one() -> None:
    first = chunk("first", unit(1.0, 0.3))
    second = chunk("second", unit(1.0, 0.3))
    assert ranked([(first, 0.5), (second, 0.5)], [(second, 9.0), (first, 3.0)]) == ["second", "first"]
    far = chunk("far", unit(1.0, 2.0))  # cosine 0.45, against 0.96: a full BM25 share (0.1) cannot close that
    assert LEXICAL_SHARE < 0.96 - 0.45
    assert ranked([(first, 0.5)], [(far, 9.0)]) == ["first", "far"]


def test_a_chunk_stored_without_sentence_vectors_counts_its_own_cosine() -> None:
    old = chunk("old")
    newer = chunk("newer", unit(1.0, 1.0))  # closest sentence 0.71
    assert ranked([(old, 0.9), (newer, 0.6)], []) == ["old", "newer"]
    assert ranked([(old, 0.5), (newer, 0.6)], []) == ["newer", "old"]


def test_an_unknown_ranking_is_refused_in_one_line() -> None:
    with pytest.raises(ValueError, match="unknown retrieval ranking 'best'"):
        HybridRetriever(None, None, None, ranking="best")  # type: ignore[arg-type]


def test_a_chunk_only_bm25_found_gets_its_cosine_from_its_pooled_sentences() -> None:
    retriever = HybridRetriever(None, None, None, max_chunks_per_article=1)  # type: ignore[arg-type]
    lexical_only = chunk("lexical", unit(1.0), unit(0.0, 1.0))  # two sentences of equal length
    dense_found = chunk("dense", unit(1.0))
    passages = retriever._by_sentence([(dense_found, 0.42)], [(lexical_only, 5.0)], 10, unit(1.0))
    cosines = {p.chunk.doc: p.dense for p in passages}
    assert cosines["dense"] == 0.42  # what dense search said stands
    assert cosines["lexical"] == pytest.approx(2**-0.5, abs=0.01)  # halfway between its two sentences
