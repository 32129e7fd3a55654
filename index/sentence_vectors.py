"""Per-sentence vectors of a chunk, packed into two metadata strings that Chroma stores beside the chunk.

Ingest pools a vector for every sentence of a chunk from the same forward pass that embeds the chunk, so
answering can compare a question with every candidate sentence without running the encoder again. They
live in the chunk's metadata (not a side file) so that a replica reading a Chroma server gets them too; the
lexical index's SQLite file keeps them as BLOBs (see :mod:`index.lexical`).

Each vector is int8 with its own scale: 386 bytes instead of 1,536, and cosine similarities within about
0.01 of float32.

Pure packing and unpacking: must not import chromadb or the assistant's adapters.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass

import numpy as np

FORMAT = "q8v1"
SPANS_KEY = "sentence_spans"
VECTORS_KEY = "sentence_vectors"


@dataclass(frozen=True)
class SentenceVectors:
    """Sentence spans (offsets into the chunk text) and their quantised unit vectors; zero rows = no vector."""

    spans: np.ndarray  # [sentences, 2] int32
    quantised: np.ndarray  # [sentences, dim] int8
    scales: np.ndarray  # [sentences] float16

    @property
    def vectors(self) -> np.ndarray:
        return self.quantised.astype(np.float32) * (self.scales.astype(np.float32)[:, None] / 127.0)


def quantise(spans: list[tuple[int, int]], vectors: np.ndarray) -> SentenceVectors:
    scales = np.abs(vectors).max(axis=1) if len(vectors) else np.zeros(0, dtype=np.float32)
    scales[scales == 0] = 1.0
    quantised = np.round(vectors / scales[:, None] * 127).astype(np.int8)
    return SentenceVectors(np.array(spans, dtype=np.int32).reshape(-1, 2), quantised, scales.astype(np.float16))


def pack(spans: list[tuple[int, int]], vectors: np.ndarray) -> dict[str, str]:
    """Metadata fields for a chunk (spans relative to the chunk start)."""
    packed = quantise(spans, vectors)
    payload = packed.scales.tobytes() + packed.quantised.tobytes()
    return {
        SPANS_KEY: ";".join(f"{start}:{end}" for start, end in spans),
        VECTORS_KEY: f"{FORMAT}:{vectors.shape[1]}:" + base64.b64encode(payload).decode("ascii"),
    }


def unpack(spans_text: str | None, vectors_text: str | None) -> SentenceVectors | None:
    """The stored vectors, or ``None`` when absent or in a format this version does not read."""
    if not spans_text or not vectors_text:
        return None
    try:
        kind, dimension_text, encoded = vectors_text.split(":", 2)
        if kind != FORMAT:
            return None
        spans = np.array([_span(item) for item in spans_text.split(";")], dtype=np.int32).reshape(-1, 2)
        dimension, count = int(dimension_text), len(spans)
        payload = base64.b64decode(encoded)
        scales = np.frombuffer(payload[: 2 * count], dtype=np.float16)
        quantised = np.frombuffer(payload[2 * count :], dtype=np.int8).reshape(count, dimension)
    except (ValueError, TypeError):
        return None
    return SentenceVectors(spans, quantised, scales)


def _span(item: str) -> tuple[int, int]:
    start, end = item.split(":")
    return int(start), int(end)
