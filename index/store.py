"""The chunk store: chunks, article records and the dense search over them, in Chroma.

Two collections live in one Chroma database, embedded on disk (``PersistentClient``) or behind a
``chroma run`` server (``HttpClient``):

* ``briefings_chunks`` — one record per chunk: its text, our own embedding and where it sits in its article.
* ``briefings_articles`` — one record per article: full text (so citations can be verified and shown even
  where the corpus files are not, e.g. on a replica), title, date and the content hash that makes ingest
  incremental. A hash of ``pending`` marks an article whose chunks are being rewritten; a crash leaves it
  pending and the next ingest redoes it.

Chroma 1.5 silently attaches its downloading default embedding function to a collection opened without one, so every
open passes ours, and every read and write passes vectors explicitly. The collection metadata records the embedding
model and dimension (checked on open) and a ``generation`` that changes with every write, which tells other
processes and replicas that their lexical index may be stale; each write also sets the HNSW search width the
collection's new size calls for (:func:`index.chroma_client.search_width`).

A rebuild writes a staging pair and swaps it in (:mod:`index.store_staging`); readers follow the swapped-in
collections by name (their ids changed) and see a new ``generation``, so they sync their lexical index. Connecting
and error translation live in :mod:`index.chroma_client`, the records' layout in :mod:`index.store_records`. Only
this module, :mod:`index.store_staging` and :mod:`index.chroma_client` import chromadb; the rest of the project
reaches Chroma through :class:`ChunkStore`. Must not import the assistant (nor anything from ingest or the lexical
index, which build on it).
"""

from __future__ import annotations

import functools
import logging
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

from index.chroma_client import (
    HNSW,
    ChromaEmbeddingFunction,
    StoreLocation,
    connect,
    read_pages,
    server_errors,
    translate_open_error,
    width_update,
)
from index.errors import EmbeddingMismatch, IndexDamaged, IndexMissing
from index.store_records import (
    PENDING,
    ArticleRecord,
    StoredChunk,
    article_metadata,
    article_record,
    chunk_metadata,
    collection_metadata,
    date_filter,
    date_number,
    stored_chunk,
)
from index.store_staging import (
    ARTICLES,
    CHUNKS,
    COMPLETE_KEY,
    LIVE,
    RETIRING,
    STAGED,
    CollectionNames,
    connect_or_move_aside,
    delete_collection,
    finish_swap,
    live_collection,
)

if TYPE_CHECKING:
    from chromadb.api import ClientAPI
    from chromadb.api.models.Collection import Collection

    from index.articles import Article
    from index.chunking import Chunk
    from index.embedding import Embedder

__all__ = [  # the store's API, wherever each part is defined
    "ARTICLES",
    "CHUNKS",
    "HNSW",
    "LIVE",
    "PENDING",
    "RETIRING",
    "STAGED",
    "ArticleRecord",
    "ChunkStore",
    "StoreLocation",
    "StoredChunk",
    "date_number",
]

log = logging.getLogger(__name__)

WRITE_BATCH = 1000

F = TypeVar("F", bound=Callable[..., Any])

_connect = connect  # the name the store contract and rebuild tests open scratch collections with


def _follows_swaps(method: F) -> F:
    """A read that finds its collection deleted — another process swapped a rebuilt index in and deleted the
    old one since this store last looked — follows the new collections and reads once more."""

    @functools.wraps(method)
    def call(self: ChunkStore, *args: Any, **kwargs: Any) -> Any:
        from chromadb.errors import NotFoundError

        try:
            return method(self, *args, **kwargs)
        except NotFoundError:
            self._follow()
            return method(self, *args, **kwargs)

    return call  # type: ignore[return-value]


class ChunkStore:
    """Chunks and articles in Chroma; see the module docstring for the layout."""

    def __init__(
        self,
        client: ClientAPI,
        chunks: Collection,
        articles: Collection,
        location: StoreLocation,
        names: CollectionNames = LIVE,
    ):
        self._client, self._chunks, self._articles = client, chunks, articles
        self.location, self._names = location, names

    # ----------------------------------------------------------------------------------------- opening
    @staticmethod
    def require_present(location: StoreLocation) -> None:
        """Raise :class:`IndexMissing` for an embedded index that was never built: callers check this before
        loading the embedder, so a mistyped ``--index`` costs no model load and creates no folder."""
        if location.chroma_url is None and not (location.index_dir / "chroma.sqlite3").is_file():
            raise IndexMissing(f"No index at {location.index_dir}: run `briefings ingest` first")

    @classmethod
    def open(cls, location: StoreLocation, embedder: Embedder, create: bool = False) -> ChunkStore:
        """Open the index; ``create`` makes it when absent (ingest), otherwise absence is an error.

        Whoever opens the index first finishes a rebuild's swap that a kill interrupted (one listing when there
        is none), so the index it opens is the one that rebuild committed to.
        """
        if not create:
            cls.require_present(location)
        client = connect(location)
        function = ChromaEmbeddingFunction(embedder)
        try:
            finish_swap(client)
            if create:
                chunks = client.get_or_create_collection(
                    CHUNKS,
                    embedding_function=function,  # type: ignore[arg-type]
                    configuration={"hnsw": HNSW},  # type: ignore[arg-type]
                    metadata=collection_metadata(embedder),
                )
                articles = client.get_or_create_collection(ARTICLES, embedding_function=function)  # type: ignore[arg-type]
            else:
                chunks = live_collection(client, CHUNKS, function)
                articles = live_collection(client, ARTICLES, function)
        except Exception as error:
            raise translate_open_error(error, location) from None
        store = cls(client, chunks, articles, location)
        store._check_embedder(embedder)
        return store

    @classmethod
    def start_rebuild(cls, location: StoreLocation, embedder: Embedder) -> ChunkStore:
        """A store that writes a new index into a fresh staging pair; :meth:`finish_rebuild` swaps it in.

        The live pair keeps answering meanwhile, so the embedder may differ from the one that built it. An
        embedded database that cannot be opened is moved aside (never deleted) and built anew.
        """
        client = connect_or_move_aside(location)
        function = ChromaEmbeddingFunction(embedder)
        try:
            finish_swap(client)
            for name in STAGED:  # an earlier rebuild's unfinished leftovers
                delete_collection(client, name)
            chunks = client.create_collection(
                STAGED.chunks,
                embedding_function=function,  # type: ignore[arg-type]
                configuration={"hnsw": HNSW},  # type: ignore[arg-type]
                metadata=collection_metadata(embedder),
            )
            articles = client.create_collection(STAGED.articles, embedding_function=function)  # type: ignore[arg-type]
        except Exception as error:
            raise translate_open_error(error, location) from None
        return cls(client, chunks, articles, location, STAGED)

    @server_errors
    def finish_rebuild(self) -> None:
        """Mark the staging pair complete, then swap it in for the live pair; from here on this store is live."""
        if self._names != STAGED:
            raise RuntimeError("finish_rebuild is for a store from start_rebuild")
        meta = dict(self._chunks.metadata or {})
        meta[COMPLETE_KEY] = "complete"
        self._chunks.modify(metadata=meta)  # the commit point: from here on a kill is finished, not undone
        finish_swap(self._client)
        self._names = LIVE

    def _check_embedder(self, embedder: Embedder) -> None:
        meta = self._chunks.metadata or {}
        built_with, dimension = meta.get("embedding_model"), meta.get("dimension")
        if built_with is None:
            raise IndexDamaged(
                f"Index at {self.location.describe()} has no model record: rebuild it with `briefings ingest --rebuild`"
            )
        if built_with != embedder.identity or int(dimension or 0) != embedder.dimension:
            raise EmbeddingMismatch(
                f"Index at {self.location.describe()} was built with {built_with} ({dimension} dimensions) but "
                f"the configured model is {embedder.identity} ({embedder.dimension}): use that model or rebuild "
                "with `briefings ingest --rebuild`"
            )

    @staticmethod
    def drop(location: StoreLocation) -> None:
        """Delete every collection of the index: live, staging and retired; absent ones are fine."""
        client = connect(location)
        for names in (LIVE, STAGED, RETIRING):
            for name in names:
                delete_collection(client, name)

    # ------------------------------------------------------------------------------------------ reading
    @property
    def generation(self) -> str:
        """Changes whenever the chunks change; read fresh so other writers' changes are seen.

        A rebuild elsewhere swaps in collections with new ids under the same names: from then on this store
        reads the new collections, so a running server follows a rebuild instead of failing.
        """
        try:
            collection = self._follow()
        except Exception as error:
            raise translate_open_error(error, self.location) from None
        return str((collection.metadata or {}).get("generation", ""))

    def _follow(self) -> Collection:
        """The chunks collection now under this store's name, switching both collections if its id changed."""
        function = ChromaEmbeddingFunction(None)
        collection = live_collection(self._client, self._names.chunks, function)
        if collection.id != self._chunks.id:
            log.info("the index was rebuilt by another process; following it")
            self._articles = live_collection(self._client, self._names.articles, function)
            self._chunks = collection
        return collection

    @property
    def embedding_model(self) -> str:
        return str((self._chunks.metadata or {}).get("embedding_model", ""))

    @server_errors
    @_follows_swaps
    def counts(self) -> tuple[int, int]:
        """``(articles, chunks)``."""
        return self._articles.count(), self._chunks.count()

    @server_errors
    @_follows_swaps
    def article_records(self) -> dict[str, ArticleRecord]:
        records: dict[str, ArticleRecord] = {}
        for ids, metadatas, _ in read_pages(self._articles, include=["metadatas"]):
            for doc, meta in zip(ids, metadatas, strict=True):
                records[doc] = article_record(doc, meta)
        return records

    @server_errors
    @_follows_swaps
    def article_text(self, doc: str) -> str | None:
        found = self._articles.get(ids=[doc], include=["documents"])
        documents = found.get("documents") or []
        return documents[0] if documents else None

    @server_errors
    @_follows_swaps
    def record_of(self, doc: str) -> ArticleRecord | None:
        """One article's record (title, date, source, pages), or ``None`` when the index does not hold it."""
        found = self._articles.get(ids=[doc], include=["metadatas"])
        metadatas = found.get("metadatas") or []
        return article_record(doc, metadatas[0]) if metadatas else None

    @server_errors
    def iter_article_texts(self, docs: Sequence[str] | None = None) -> Iterator[tuple[str, str]]:
        """``(doc, text)`` of every article, or of ``docs``, in pages: what the lexical index keeps beside chunks."""
        for ids, _, documents in read_pages(self._articles, ["documents"], docs, by_id=True):
            yield from zip(ids, documents, strict=True)

    @server_errors
    def iter_chunks(self, docs: Sequence[str] | None = None) -> Iterator[StoredChunk]:
        """Every chunk, or every chunk of ``docs``, in pages: what the lexical index copies."""
        for ids, metadatas, documents in read_pages(self._chunks, ["metadatas", "documents"], docs):
            for chunk_id, meta, text in zip(ids, metadatas, documents, strict=True):
                yield stored_chunk(chunk_id, meta, text)

    @server_errors
    @_follows_swaps
    def dense_search(
        self, vector: np.ndarray, k: int, since: str | None = None, until: str | None = None
    ) -> list[tuple[str, float]]:
        """Ids of the nearest chunks with cosine similarity (1 - Chroma's distance), optionally within dates.

        Only ids and distances come back: fetching texts and metadata from Chroma costs five times the search,
        and the caller already holds them in the lexical mirror (see :meth:`chunks_by_id` for the rest).
        """
        if k <= 0:
            return []
        try:
            result = self._chunks.query(
                query_embeddings=[vector.astype(np.float32)],  # type: ignore[arg-type]
                n_results=k,
                where=date_filter(since, until),
                include=["distances"],
            )
        except Exception as error:
            if self._chunks.count() == 0:
                return []
            raise translate_open_error(error, self.location) from None
        distances = (result.get("distances") or [[]])[0]
        return [(chunk_id, 1.0 - float(d)) for chunk_id, d in zip(result["ids"][0], distances, strict=True)]

    @server_errors
    @_follows_swaps
    def chunks_by_id(self, ids: Sequence[str]) -> dict[str, StoredChunk]:
        """Chunks fetched from Chroma, for dense hits the local mirror does not know yet."""
        if not ids:
            return {}
        found = self._chunks.get(ids=list(ids), include=["metadatas", "documents"])
        metadatas = found.get("metadatas") or []
        documents = found.get("documents") or []
        return {
            chunk_id: stored_chunk(chunk_id, meta, text)
            for chunk_id, meta, text in zip(found["ids"], metadatas, documents, strict=True)
        }

    # ------------------------------------------------------------------------------------------ writing
    @server_errors
    def mark_pending(self, articles: Sequence[Article]) -> None:
        """Step 1 of replacing articles: a crash after this leaves them marked for redoing."""
        self._upsert_articles(articles, [PENDING] * len(articles), [0] * len(articles))

    @server_errors
    def delete_chunks_of(self, docs: Iterable[str]) -> None:
        docs = list(docs)
        for begin in range(0, len(docs), 200):
            self._chunks.delete(where={"doc": {"$in": docs[begin : begin + 200]}})  # type: ignore[dict-item]

    @server_errors
    def add_chunks(
        self, chunks: Sequence[Chunk], vectors: np.ndarray, extra: Sequence[dict[str, str]] | None = None
    ) -> None:
        """Write chunks with their vectors; ``extra`` adds per-chunk metadata (packed sentence vectors)."""
        for begin in range(0, len(chunks), WRITE_BATCH):
            batch = chunks[begin : begin + WRITE_BATCH]
            additions = list(extra[begin : begin + WRITE_BATCH]) if extra else [{}] * len(batch)
            self._chunks.add(
                ids=[chunk.id for chunk in batch],
                embeddings=vectors[begin : begin + WRITE_BATCH],
                documents=[chunk.text for chunk in batch],
                metadatas=[chunk_metadata(chunk) | added for chunk, added in zip(batch, additions, strict=True)],
            )

    @server_errors
    def commit_articles(self, articles: Sequence[Article], hashes: Sequence[str], chunk_counts: Sequence[int]) -> None:
        """Last step: the recorded hash says the article's chunks are complete."""
        self._upsert_articles(articles, hashes, chunk_counts)

    @server_errors
    def delete_articles(self, docs: Iterable[str]) -> None:
        docs = list(docs)
        self.delete_chunks_of(docs)
        for begin in range(0, len(docs), WRITE_BATCH):
            self._articles.delete(ids=docs[begin : begin + WRITE_BATCH])

    @server_errors
    def bump_generation(self) -> str:
        generation = uuid.uuid4().hex
        meta = dict(self._chunks.metadata or {})
        meta["generation"] = generation
        meta.pop("hnsw:space", None)  # legacy key; configuration holds the index settings
        meta.pop(COMPLETE_KEY, None)  # a rebuild's commit mark, of no use once swapped in
        self._chunks.modify(metadata=meta, configuration=width_update(self._chunks))  # type: ignore[arg-type]
        return generation

    def _upsert_articles(self, articles: Sequence[Article], hashes: Sequence[str], chunk_counts: Sequence[int]) -> None:
        for begin in range(0, len(articles), WRITE_BATCH):
            batch = list(zip(articles, hashes, chunk_counts, strict=True))[begin : begin + WRITE_BATCH]
            self._articles.upsert(
                ids=[article.id for article, _, _ in batch],
                embeddings=np.ones((len(batch), 1), dtype=np.float32),  # articles are looked up by id only
                documents=[article.text for article, _, _ in batch],
                metadatas=[article_metadata(article, content_hash, count) for article, content_hash, count in batch],
            )
