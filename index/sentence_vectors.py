"""Per-sentence vectors of a chunk, packed into two metadata strings that Chroma stores beside the chunk.

Ingest pools a vector for every sentence of a chunk from the same forward pass that embeds the chunk, so
answering can compare a question with every candidate sentence without running the encoder again. They
live in the chunk's metadata (not a side file) so that a replica reading a Chroma server gets them too.

Each vector is int8 with its own float16 scale: 386 bytes instead of 1,536, and cosine similarities within
about 0.01 of float32.
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
    """Sentence spans (offsets into the chunk text) and their unit vectors; zero rows mean "no vector"."""

    spans: tuple[tuple[int, int], ...]
    vectors: np.ndarray  # [sentences, dim] float32


def pack(spans: list[tuple[int, int]], vectors: np.ndarray) -> dict[str, str]:
    """Metadata fields for a chunk (spans relative to the chunk start)."""
    scales = np.abs(vectors).max(axis=1, keepdims=True)
    scales[scales == 0] = 1.0
    quantised = np.round(vectors / scales * 127).astype(np.int8)
    payload = scales.astype(np.float16).tobytes() + quantised.tobytes()
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
        spans = tuple(_span(item) for item in spans_text.split(";"))
        dimension, count = int(dimension_text), len(spans)
        payload = base64.b64decode(encoded)
        scales = np.frombuffer(payload[: 2 * count], dtype=np.float16).astype(np.float32).reshape(count, 1)
        quantised = np.frombuffer(payload[2 * count :], dtype=np.int8).reshape(count, dimension)
    except (ValueError, TypeError):
        return None
    return SentenceVectors(spans, quantised.astype(np.float32) * (scales / 127.0))


def _span(item: str) -> tuple[int, int]:
    start, end = item.split(":")
    return int(start), int(end)
