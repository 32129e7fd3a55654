"""Per-sentence vectors survive packing into Chroma metadata and the lexical index's mirror."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from index.lexical import LexicalIndex, database_path
from index.lexical_sync import LexicalWriter
from index.sentence_vectors import pack, unpack
from index.store import StoredChunk


def unit_rows(count: int, dimension: int = 384, seed: int = 0) -> np.ndarray:
    rows = np.random.default_rng(seed).normal(size=(count, dimension)).astype(np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def test_packed_vectors_keep_their_spans_and_directions() -> None:
    vectors = unit_rows(3)
    vectors[2] = 0.0  # a sentence beyond the model's window has no vector
    spans = [(0, 40), (41, 90), (91, 120)]
    unpacked = unpack(**dict(zip(("spans_text", "vectors_text"), pack(spans, vectors).values(), strict=True)))
    assert unpacked is not None
    assert [tuple(map(int, span)) for span in unpacked.spans] == spans
    cosines = (unpacked.vectors[:2] * vectors[:2]).sum(axis=1) / np.linalg.norm(unpacked.vectors[:2], axis=1)
    assert np.all(cosines > 0.99)
    assert not unpacked.vectors[2].any()


def test_unknown_or_missing_packing_is_ignored() -> None:
    assert unpack(None, None) is None
    assert unpack("0:4", "other:384:AAAA") is None
    assert unpack("0:4", "q8v1:384:not base64!") is None


def test_lexical_mirror_round_trips_sentence_vectors(tmp_path: Path) -> None:
    vectors = unit_rows(2, seed=1)
    packed = pack([(0, 10), (11, 25)], vectors)
    with_vectors = StoredChunk("a#0", "a", "A", None, 0, 25, "First one. Second one.", unpack(*packed.values()))
    without = StoredChunk("b#0", "b", "B", "2024-01-01", 0, 9, "No vectors")
    LexicalWriter(tmp_path / "lexical").replace([with_vectors, without], {"a": "h1", "b": "h2"})
    by_id = LexicalIndex(database_path(tmp_path / "lexical")).chunks_by_id(["a#0", "b#0"])
    assert by_id["b#0"].sentences is None
    restored = by_id["a#0"].sentences
    assert restored is not None and restored.spans.tolist() == [[0, 10], [11, 25]]
    assert np.allclose(restored.vectors, unpack(*packed.values()).vectors)  # type: ignore[union-attr]
