"""Hybrid retrieval: dense (Chroma) and lexical (BM25) candidates, ranked by their best sentence.

Dense search understands paraphrase; BM25 catches the rare names and numbers a question shares with its
answer. Together they nominate candidate chunks; each is then ranked by how close its *closest sentence* is
to the question (the sentence vectors stored at ingest, so nothing is encoded), plus a small share of its
BM25 score scaled to the best hit. A question usually paraphrases one sentence, and a chunk's single
vector blurs that sentence with its neighbours: on the public news dev questions this ranking puts the
evidence article among the top 10 for 0.80 of questions against 0.77 for reciprocal rank fusion of the
two lists, from the same candidates (``retrieval_ranking = "rrf"`` keeps the fusion). After ranking at most
``max_chunks_per_article`` chunks of one article stay among the top passages, so one long article cannot
crowd out the others.

It owns search and fusion over the store and the lexical index, and keeping that lexical index current. Must
not pick sentences, answer or cite (that is ``answer/``), talk to chromadb except through
:class:`index.store.ChunkStore`, or import adapters.
"""

from __future__ import annotations

import atexit
import contextvars
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from threading import Lock

import numpy as np

from assistant.answer.stages import stage
from assistant.types import Passage
from index.embedding import Embedder
from index.lexical import LexicalIndex, database_path
from index.lexical_sync import LexicalWriter
from index.store import ChunkStore, StoredChunk

log = logging.getLogger(__name__)

RRF_K = 60
# What BM25 (as a share of the best lexical hit's score) adds to a chunk's best sentence cosine. Chosen on the
# news dev questions among 0, 0.05, 0.1, 0.2 and 0.3 (0.1: evidence among the top 10 for 0.80 of them); the
# seed questions among the news, not used to choose it, agree (0.91 against 0.83 for the fusion, in `make ablation`).
LEXICAL_SHARE = 0.1
RANKINGS = ("sentences", "rrf")
GENERATION_CHECK_SECONDS = 2.0
LEXICAL_THREADS = 4  # BM25 searches running beside query embedding and dense search, across all questions

# One pool for the process: BM25 (SQLite reads and numpy, both releasing the GIL for most of their time) runs
# while this thread embeds the question and asks Chroma, so a question waits for the slower of the two rather
# than for both. Each pool thread keeps its own SQLite connection (LexicalIndex reads per thread).
_LEXICAL_POOL = ThreadPoolExecutor(max_workers=LEXICAL_THREADS, thread_name_prefix="briefings-bm25")
atexit.register(_LEXICAL_POOL.shutdown, wait=False)


class LiveLexicalIndex:
    """The lexical index, kept in line with the store's current generation.

    Opening syncs it with the store (building it from the store's chunks the first time). A replica behind a
    Chroma server, or a server whose index was re-ingested from the command line, notices the new generation
    within a couple of seconds and syncs: the writer usually did already (same folder), otherwise only the
    articles that changed are copied. Questions are never held up by it: while one thread syncs, or another
    process holds the lexical index's write lock, others answer from the index as it is and the sync is
    retried at the next check. ``on_reload`` runs when the index moved, so caches of what that writer may
    have changed (article texts) can be dropped too.
    """

    def __init__(self, store: ChunkStore, folder: Path, on_reload: Callable[[], None] | None = None) -> None:
        self._store = store
        self._writer = LexicalWriter(folder)
        self._on_reload = on_reload
        self._lock = Lock()
        self._writer.sync(store)
        self._index = LexicalIndex(database_path(folder))
        self._seen = self._index.generation
        self._checked = time.monotonic()

    def current(self) -> LexicalIndex:
        if time.monotonic() - self._checked < GENERATION_CHECK_SECONDS or not self._lock.acquire(blocking=False):
            return self._index
        try:
            self._checked = time.monotonic()
            if self._store.generation != self._seen:
                log.info("index changed; bringing the lexical index up to date")
                self._catch_up(wait=False)
        finally:
            self._lock.release()
        return self._index

    def refresh(self) -> None:
        """Sync now (after this process ingested something)."""
        with self._lock:
            self._catch_up(wait=True)
            self._checked = time.monotonic()

    def _catch_up(self, wait: bool) -> None:
        synced = self._writer.sync(self._store, wait=wait)
        self._index.forget()
        if synced:
            self._seen = self._index.generation
        if self._on_reload is not None:  # e.g. cached article texts another writer may have changed
            self._on_reload()


class HybridRetriever:
    """Dense + BM25, fused, capped per article."""

    def __init__(
        self,
        store: ChunkStore,
        lexical: LiveLexicalIndex,
        embedder: Embedder,
        candidates: int = 40,
        max_chunks_per_article: int = 2,
        ranking: str = "sentences",
    ) -> None:
        if ranking not in RANKINGS:
            raise ValueError(f"unknown retrieval ranking {ranking!r}: use one of {', '.join(RANKINGS)}")
        self._store = store
        self._lexical = lexical
        self._embedder = embedder
        self._candidates = candidates
        self._per_article = max_chunks_per_article
        self._ranking = ranking

    @property
    def lexical(self) -> LexicalIndex:
        return self._lexical.current()

    def retrieve(
        self,
        query: str,
        k: int,
        since: str | None = None,
        until: str | None = None,
        exclude: frozenset[str] = frozenset(),
    ) -> list[Passage]:
        """The top ``k`` passages; ``exclude`` names articles to leave out (calibration builds questions whose
        answer is missing from the corpus by hiding the articles that hold it)."""
        index = self._lexical.current()
        context = contextvars.copy_context()  # the pool thread adds its stage time to this answer's timings
        lexical_search = _LEXICAL_POOL.submit(context.run, self._lexical_hits, index, query, since, until)
        with stage("embed_query"):
            vector = self._embedder.embed_query(query)
        with stage("dense"):
            dense = self._resolve(self._store.dense_search(vector, self._candidates, since, until), index)
        lexical = lexical_search.result()
        if exclude:
            dense = [(chunk, score) for chunk, score in dense if chunk.doc not in exclude]
            lexical = [(chunk, score) for chunk, score in lexical if chunk.doc not in exclude]
        with stage("fuse"):
            if self._ranking == "rrf":
                return self._fuse(dense, lexical, k)
            return self._by_sentence(dense, lexical, k, vector)

    def _lexical_hits(
        self, index: LexicalIndex, query: str, since: str | None, until: str | None
    ) -> list[tuple[StoredChunk, float]]:
        with stage("lexical"):
            return [(hit.chunk, hit.score) for hit in index.search(query, self._candidates, since, until)]

    def _resolve(self, hits: list[tuple[str, float]], index: LexicalIndex) -> list[tuple[StoredChunk, float]]:
        """Dense hits as chunks, from the lexical index's mirror; Chroma only for chunks it does not hold yet."""
        mirrored = index.chunks_by_id(chunk_id for chunk_id, _ in hits)
        missing = [chunk_id for chunk_id, _ in hits if chunk_id not in mirrored]
        fetched = self._store.chunks_by_id(missing) if missing else {}
        resolved = []
        for chunk_id, similarity in hits:
            chunk = mirrored.get(chunk_id) or fetched.get(chunk_id)
            if chunk is not None:
                resolved.append((chunk, similarity))
        return resolved

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
        chosen = self._diverse(ordered, chunks, k)
        return [Passage(chunks[i], fused[i], dense_scores.get(i), lexical_scores.get(i)) for i in chosen]

    def _by_sentence(
        self,
        dense: list[tuple[StoredChunk, float]],
        lexical: list[tuple[StoredChunk, float]],
        k: int,
        vector: np.ndarray,
    ) -> list[Passage]:
        """Every candidate chunk ranked by its closest sentence's cosine plus :data:`LEXICAL_SHARE` of its
        BM25 score over the best hit's; a chunk stored without sentence vectors counts its own cosine.

        A chunk only BM25 found gets its dense cosine estimated from its sentence vectors, so evidence ranking,
        which weighs that cosine, does not read "not among dense search's 40" as "unrelated in meaning" (the
        seed briefing's "Russia's demands for security guarantees" chunk, among 2,757 news articles)."""
        chunks: dict[str, StoredChunk] = {}
        dense_scores: dict[str, float] = {}
        lexical_scores: dict[str, float] = {}
        for ranking, scores in ((dense, dense_scores), (lexical, lexical_scores)):
            for chunk, score in ranking:
                chunks.setdefault(chunk.id, chunk)
                scores[chunk.id] = score
        best_lexical = max(lexical_scores.values(), default=0.0) or 1.0
        query = np.asarray(vector, dtype=np.float32)
        scored: dict[str, float] = {}
        for chunk_id, chunk in chunks.items():
            closest, pooled = _sentence_cosines(chunk, query)
            if closest is None:
                closest = dense_scores.get(chunk_id, 0.0)
            scored[chunk_id] = closest + LEXICAL_SHARE * lexical_scores.get(chunk_id, 0.0) / best_lexical
            if chunk_id not in dense_scores and pooled is not None:  # found by BM25 alone: not taken for cosine 0
                dense_scores[chunk_id] = pooled
        ordered = sorted(scored, key=lambda chunk_id: scored[chunk_id], reverse=True)
        chosen = self._diverse(ordered, chunks, k)
        return [Passage(chunks[i], scored[i], dense_scores.get(i), lexical_scores.get(i)) for i in chosen]

    def _diverse(self, ordered: list[str], chunks: dict[str, StoredChunk], k: int) -> list[str]:
        """The top ``k`` with at most ``max_chunks_per_article`` per article, topped up from the rest in rank
        order when there are fewer articles than places (a one-article corpus still yields ``k`` passages)."""
        chosen: list[str] = []
        skipped: list[str] = []
        per_article: dict[str, int] = {}
        for chunk_id in ordered:
            doc = chunks[chunk_id].doc
            if per_article.get(doc, 0) >= self._per_article:
                skipped.append(chunk_id)
                continue
            per_article[doc] = per_article.get(doc, 0) + 1
            chosen.append(chunk_id)
            if len(chosen) >= k:
                return chosen
        rank = {chunk_id: position for position, chunk_id in enumerate(ordered)}
        return sorted(chosen + skipped[: k - len(chosen)], key=rank.__getitem__)


def _sentence_cosines(chunk: StoredChunk, query: np.ndarray) -> tuple[float | None, float | None]:
    """The query's cosine with the chunk's closest stored sentence, and with its sentence vectors pooled by
    sentence length, from one dequantisation (``None`` for a chunk stored without them). The encoder
    mean-pools tokens, so the pooled cosine is close to the chunk's own (within 0.016 on average, 0.04 at the
    95th percentile, on the news dev questions' dense hits) without asking Chroma for it."""
    sentences = chunk.sentences
    if sentences is None or not len(sentences.quantised):
        return None, None
    vectors = sentences.vectors
    cosines = vectors @ query
    lengths = (sentences.spans[:, 1] - sentences.spans[:, 0]).astype(np.float32)
    norm = float(np.linalg.norm(lengths @ vectors))
    return float(cosines.max()), (float(lengths @ cosines) / norm if norm else None)
