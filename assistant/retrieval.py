"""Hybrid retrieval: dense (Chroma) and lexical (BM25) candidates fused by reciprocal rank.

Dense search understands paraphrase; BM25 catches the rare names and numbers a question shares with its
answer. Reciprocal rank fusion needs no score calibration between the two, which matters because BM25
scores vary wildly with question length. After fusion at most ``max_chunks_per_article`` chunks of one
article stay among the top passages, so one long article cannot crowd out the others.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from threading import Lock

from index.embedding import Embedder
from index.lexical import LexicalIndex, load_or_build
from index.store import ChunkStore, StoredChunk

log = logging.getLogger(__name__)

RRF_K = 60
GENERATION_CHECK_SECONDS = 2.0


@dataclass(frozen=True)
class Passage:
    """A retrieved chunk with its fused score and what each retriever thought of it."""

    chunk: StoredChunk
    score: float
    dense: float | None
    lexical: float | None

    def to_dict(self) -> dict[str, object]:
        return {
            "doc": self.chunk.doc,
            "title": self.chunk.title,
            "date": self.chunk.date,
            "start": self.chunk.start,
            "end": self.chunk.end,
            "score": round(self.score, 6),
            "text": self.chunk.text,
        }


class LiveLexicalIndex:
    """The lexical index for the store's current generation, reloaded when another writer changes it.

    A replica behind a Chroma server, or a server whose index was re-ingested from the command line, notices
    the new generation within a couple of seconds and rebuilds from the store's chunks.
    """

    def __init__(self, store: ChunkStore, folder: Path) -> None:
        self._store = store
        self._folder = folder
        self._lock = Lock()
        self._index = load_or_build(store, folder)
        self._checked = time.monotonic()

    def current(self) -> LexicalIndex:
        if time.monotonic() - self._checked < GENERATION_CHECK_SECONDS:
            return self._index
        with self._lock:
            self._checked = time.monotonic()
            if self._store.generation != self._index.generation:
                log.info("index changed; reloading the lexical index")
                self._index = load_or_build(self._store, self._folder)
        return self._index

    def refresh(self) -> None:
        """Reload now (after this process ingested something)."""
        with self._lock:
            self._index = load_or_build(self._store, self._folder)
            self._checked = time.monotonic()


class HybridRetriever:
    """Dense + BM25, fused, capped per article."""

    def __init__(
        self,
        store: ChunkStore,
        lexical: LiveLexicalIndex,
        embedder: Embedder,
        candidates: int = 40,
        max_chunks_per_article: int = 2,
    ) -> None:
        self._store = store
        self._lexical = lexical
        self._embedder = embedder
        self._candidates = candidates
        self._per_article = max_chunks_per_article

    @property
    def lexical(self) -> LexicalIndex:
        return self._lexical.current()

    def retrieve(self, query: str, k: int, since: str | None = None, until: str | None = None) -> list[Passage]:
        vector = self._embedder.embed_query(query)
        dense = self._store.dense_search(vector, self._candidates, since, until)
        lexical = self._lexical.current().search(query, self._candidates, since, until)
        return self._fuse(dense, [(hit.chunk, hit.score) for hit in lexical], k)

    def _fuse(
        self, dense: list[tuple[StoredChunk, float]], lexical: list[tuple[StoredChunk, float]], k: int
    ) -> list[Passage]:
        fused: dict[str, float] = {}
        chunks: dict[str, StoredChunk] = {}
        dense_scores: dict[str, float] = {}
        lexical_scores: dict[str, float] = {}
        for ranking, scores in ((dense, dense_scores), (lexical, lexical_scores)):
            for rank, (chunk, score) in enumerate(ranking):
                fused[chunk.id] = fused.get(chunk.id, 0.0) + 1.0 / (RRF_K + rank + 1)
                chunks.setdefault(chunk.id, chunk)
                scores[chunk.id] = score
        ordered = sorted(fused, key=lambda chunk_id: fused[chunk_id], reverse=True)
        passages: list[Passage] = []
        per_article: dict[str, int] = {}
        for chunk_id in ordered:
            chunk = chunks[chunk_id]
            if per_article.get(chunk.doc, 0) >= self._per_article:
                continue
            per_article[chunk.doc] = per_article.get(chunk.doc, 0) + 1
            passages.append(Passage(chunk, fused[chunk_id], dense_scores.get(chunk_id), lexical_scores.get(chunk_id)))
            if len(passages) >= k:
                break
        return passages
