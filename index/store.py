"""The only module that imports chromadb: chunks, article records and the dense search over them.

Two collections live in one Chroma database, embedded on disk (``PersistentClient``) or behind a
``chroma run`` server (``HttpClient``):

* ``briefings_chunks`` — one record per chunk: its text, our own embedding and where it sits in its article.
* ``briefings_articles`` — one record per article: full text (so citations can be verified and shown even
  where the corpus files are not, e.g. on a replica), title, date and the content hash that makes ingest
  incremental. A hash of ``pending`` marks an article whose chunks are being rewritten; a crash leaves it
  pending and the next ingest redoes it.

Chroma 1.5 silently attaches its downloading default embedding function to a collection opened without one,
so every open passes ours, and every read and write passes vectors explicitly. The collection metadata
records the embedding model and dimension (checked on open) and a ``generation`` that changes with every
write, which tells other processes and replicas that their lexical index is stale.

A rebuild never touches the live pair while it writes: it fills a fresh ``__staging`` pair, marks the staging
chunks collection complete (the commit point), then swaps by renaming — live articles to ``__retired``, staging
articles to live, the same for chunks — and deletes the retired pair. Killed before the mark, it leaves the old
index answering and an unfinished staging pair that readers ignore and the next rebuild deletes. Killed after
it, the swap is finished by the next process that opens the store, or by a running reader that finds a live
collection missing (:func:`_finish_swap`: idempotent, safe for two processes at once). So after a kill at any
point the index opens and answers: the old one, or the new one once opened. Readers follow the swapped-in
collections by name (their ids changed) and see a new ``generation``, so they rebuild their lexical index.
An embedded database that cannot be opened at all is moved aside into ``damaged-<UTC time>/`` by a rebuild,
never deleted, so the command that error messages recommend always works.
"""

from __future__ import annotations

import functools
import inspect
import logging
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

from index.errors import EmbeddingMismatch, IndexDamaged, IndexMissing, StoreUnavailable
from index.sentence_vectors import SPANS_KEY, VECTORS_KEY, SentenceVectors, unpack

if TYPE_CHECKING:
    from chromadb.api import ClientAPI
    from chromadb.api.models.Collection import Collection

    from index.articles import Article
    from index.chunking import Chunk
    from index.embedding import Embedder

log = logging.getLogger(__name__)

CHUNKS = "briefings_chunks"
ARTICLES = "briefings_articles"
STAGING, RETIRED = "__staging", "__retired"  # suffixes of the collections a rebuild writes and swaps out
COMPLETE_KEY = "staged"  # set to "complete" on the staging chunks once every article is written
SCHEMA_VERSION = 1
PENDING = "pending"
WRITE_BATCH = 1000
# Chroma's defaults (M 16, ef 100) lose recall on large sets; these keep recall@10 near exact search on
# the 30k-chunk news corpus (see the README's scale table) at a small cost in build time.
HNSW = {"space": "cosine", "ef_construction": 200, "max_neighbors": 32, "ef_search": 200}

F = TypeVar("F", bound=Callable[..., Any])


def _server_errors(method: F) -> F:
    """A Chroma server that stops answering while we run becomes :class:`StoreUnavailable` (one line, HTTP
    503) instead of a transport traceback; the HTTP client reconnects by itself once the server is back."""
    if inspect.isgeneratorfunction(method):

        @functools.wraps(method)
        def generator(self: ChunkStore, *args: Any, **kwargs: Any) -> Any:
            with _server_answers(self.location):
                yield from method(self, *args, **kwargs)

        return generator  # type: ignore[return-value]

    @functools.wraps(method)
    def call(self: ChunkStore, *args: Any, **kwargs: Any) -> Any:
        with _server_answers(self.location):
            return method(self, *args, **kwargs)

    return call  # type: ignore[return-value]


@contextmanager
def _server_answers(location: StoreLocation) -> Iterator[None]:
    try:
        yield
    except Exception as error:
        import httpx  # chromadb's HTTP client raises httpx's transport errors

        if location.chroma_url and isinstance(error, (httpx.TransportError, ConnectionError)):
            message = f"Chroma server at {location.chroma_url} does not answer ({_short(error)})"
            raise StoreUnavailable(message) from None
        raise


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


@dataclass(frozen=True)
class StoredChunk:
    """A chunk as read back from the index."""

    id: str
    doc: str
    title: str
    date: str | None
    start: int
    end: int
    text: str
    sentences: SentenceVectors | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class ArticleRecord:
    """What the index knows about an article besides its text."""

    doc: str
    title: str
    date: str | None
    content_hash: str
    chunks: int
    source: str


@dataclass(frozen=True)
class StoreLocation:
    """Where the index lives: a folder, and optionally a Chroma server that holds the collections."""

    index_dir: Path
    chroma_url: str | None = None
    chroma_timeout: float = 30.0  # seconds any one request to the server may take, connecting included

    def describe(self) -> str:
        return self.chroma_url or str(self.index_dir)


@dataclass(frozen=True)
class CollectionNames:
    """The names of one pair of collections: the live pair, or a rebuild's staging or retired pair."""

    chunks: str
    articles: str

    def __iter__(self) -> Iterator[str]:
        return iter((self.chunks, self.articles))

    @classmethod
    def suffixed(cls, suffix: str) -> CollectionNames:
        return cls(CHUNKS + suffix, ARTICLES + suffix)


LIVE = CollectionNames(CHUNKS, ARTICLES)
STAGED = CollectionNames.suffixed(STAGING)
RETIRING = CollectionNames.suffixed(RETIRED)


def date_number(date: str | None) -> int:
    """``2022-02-20`` -> ``20220220``: Chroma filters compare numbers, not strings. Unknown dates are 0."""
    return int(date.replace("-", "")) if date else 0


class _ChromaEmbeddingFunction:
    """Hands our embedder to Chroma so it never falls back to its own downloading default."""

    def __init__(self, embedder: Embedder | None) -> None:
        self._embedder = embedder

    def __call__(self, input: Sequence[str]) -> list[np.ndarray]:
        if self._embedder is None:
            raise RuntimeError("this collection embeds with the briefings embedder only")
        return list(self._embedder.embed_documents(list(input)))

    def embed_query(self, input: Sequence[str]) -> list[np.ndarray]:
        return self(input)

    @staticmethod
    def name() -> str:
        return "briefings"

    def get_config(self) -> dict[str, Any]:
        return {}

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> _ChromaEmbeddingFunction:
        return _ChromaEmbeddingFunction(None)

    def is_legacy(self) -> bool:
        return False

    def default_space(self) -> str:
        return "cosine"

    def supported_spaces(self) -> list[str]:
        return ["cosine"]


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
        self._client = client
        self._chunks = chunks
        self._articles = articles
        self.location = location
        self._names = names

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
        client = _connect(location)
        function = _ChromaEmbeddingFunction(embedder)
        try:
            _finish_swap(client)
            if create:
                chunks = client.get_or_create_collection(
                    CHUNKS,
                    embedding_function=function,  # type: ignore[arg-type]
                    configuration={"hnsw": HNSW},  # type: ignore[arg-type]
                    metadata=_collection_metadata(embedder),
                )
                articles = client.get_or_create_collection(ARTICLES, embedding_function=function)  # type: ignore[arg-type]
            else:
                chunks = _live_collection(client, CHUNKS, function)
                articles = _live_collection(client, ARTICLES, function)
        except Exception as error:
            raise _translate_open_error(error, location) from None
        store = cls(client, chunks, articles, location)
        store._check_embedder(embedder)
        return store

    @classmethod
    def start_rebuild(cls, location: StoreLocation, embedder: Embedder) -> ChunkStore:
        """A store that writes a new index into a fresh staging pair; :meth:`finish_rebuild` swaps it in.

        The live pair keeps answering meanwhile, so the embedder may differ from the one that built it. An
        embedded database that cannot be opened is moved aside (never deleted) and built anew.
        """
        client = _connect_or_move_aside(location)
        function = _ChromaEmbeddingFunction(embedder)
        try:
            _finish_swap(client)
            for name in STAGED:  # an earlier rebuild's unfinished leftovers
                _delete_collection(client, name)
            chunks = client.create_collection(
                STAGED.chunks,
                embedding_function=function,  # type: ignore[arg-type]
                configuration={"hnsw": HNSW},  # type: ignore[arg-type]
                metadata=_collection_metadata(embedder),
            )
            articles = client.create_collection(STAGED.articles, embedding_function=function)  # type: ignore[arg-type]
        except Exception as error:
            raise _translate_open_error(error, location) from None
        return cls(client, chunks, articles, location, STAGED)

    @_server_errors
    def finish_rebuild(self) -> None:
        """Mark the staging pair complete, then swap it in for the live pair; from here on this store is live."""
        if self._names != STAGED:
            raise RuntimeError("finish_rebuild is for a store from start_rebuild")
        meta = dict(self._chunks.metadata or {})
        meta[COMPLETE_KEY] = "complete"
        self._chunks.modify(metadata=meta)  # the commit point: from here on a kill is finished, not undone
        _finish_swap(self._client)
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
        client = _connect(location)
        for names in (LIVE, STAGED, RETIRING):
            for name in names:
                _delete_collection(client, name)

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
            raise _translate_open_error(error, self.location) from None
        return str((collection.metadata or {}).get("generation", ""))

    def _follow(self) -> Collection:
        """The chunks collection now under this store's name, switching both collections if its id changed."""
        function = _ChromaEmbeddingFunction(None)
        collection = _live_collection(self._client, self._names.chunks, function)
        if collection.id != self._chunks.id:
            log.info("the index was rebuilt by another process; following it")
            self._articles = _live_collection(self._client, self._names.articles, function)
            self._chunks = collection
        return collection

    @property
    def embedding_model(self) -> str:
        return str((self._chunks.metadata or {}).get("embedding_model", ""))

    @_server_errors
    @_follows_swaps
    def counts(self) -> tuple[int, int]:
        """``(articles, chunks)``."""
        return self._articles.count(), self._chunks.count()

    @_server_errors
    @_follows_swaps
    def article_records(self) -> dict[str, ArticleRecord]:
        records: dict[str, ArticleRecord] = {}
        for ids, metadatas, _ in self._page(self._articles, include=["metadatas"]):
            for doc, meta in zip(ids, metadatas, strict=True):
                records[doc] = ArticleRecord(
                    doc=doc,
                    title=str(meta.get("title", doc)),
                    date=str(meta["date"]) if meta.get("date") else None,
                    content_hash=str(meta.get("content_hash", PENDING)),
                    chunks=int(meta.get("chunks", 0)),
                    source=str(meta.get("source", "")),
                )
        return records

    @_server_errors
    @_follows_swaps
    def article_text(self, doc: str) -> str | None:
        found = self._articles.get(ids=[doc], include=["documents"])
        documents = found.get("documents") or []
        return documents[0] if documents else None

    @_server_errors
    def iter_chunks(self) -> Iterator[StoredChunk]:
        """Every chunk, in pages, for building the lexical index."""
        for ids, metadatas, documents in self._page(self._chunks, include=["metadatas", "documents"]):
            for chunk_id, meta, text in zip(ids, metadatas, documents, strict=True):
                yield _stored_chunk(chunk_id, meta, text)

    @_server_errors
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
                where=_date_filter(since, until),  # type: ignore[arg-type]
                include=["distances"],
            )
        except Exception as error:
            if self._chunks.count() == 0:
                return []
            raise _translate_open_error(error, self.location) from None
        distances = (result.get("distances") or [[]])[0]
        return [(chunk_id, 1.0 - float(d)) for chunk_id, d in zip(result["ids"][0], distances, strict=True)]

    @_server_errors
    @_follows_swaps
    def chunks_by_id(self, ids: Sequence[str]) -> dict[str, StoredChunk]:
        """Chunks fetched from Chroma, for dense hits the local mirror does not know yet."""
        if not ids:
            return {}
        found = self._chunks.get(ids=list(ids), include=["metadatas", "documents"])
        metadatas = found.get("metadatas") or []
        documents = found.get("documents") or []
        return {
            chunk_id: _stored_chunk(chunk_id, meta, text)
            for chunk_id, meta, text in zip(found["ids"], metadatas, documents, strict=True)
        }

    # ------------------------------------------------------------------------------------------ writing
    @_server_errors
    def mark_pending(self, articles: Sequence[Article]) -> None:
        """Step 1 of replacing articles: a crash after this leaves them marked for redoing."""
        self._upsert_articles(articles, [PENDING] * len(articles), [0] * len(articles))

    @_server_errors
    def delete_chunks_of(self, docs: Iterable[str]) -> None:
        docs = list(docs)
        for begin in range(0, len(docs), 200):
            self._chunks.delete(where={"doc": {"$in": docs[begin : begin + 200]}})  # type: ignore[dict-item]

    @_server_errors
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
                metadatas=[_chunk_metadata(chunk) | added for chunk, added in zip(batch, additions, strict=True)],
            )

    @_server_errors
    def commit_articles(self, articles: Sequence[Article], hashes: Sequence[str], chunk_counts: Sequence[int]) -> None:
        """Last step: the recorded hash says the article's chunks are complete."""
        self._upsert_articles(articles, hashes, chunk_counts)

    @_server_errors
    def delete_articles(self, docs: Iterable[str]) -> None:
        docs = list(docs)
        self.delete_chunks_of(docs)
        for begin in range(0, len(docs), WRITE_BATCH):
            self._articles.delete(ids=docs[begin : begin + WRITE_BATCH])

    @_server_errors
    def bump_generation(self) -> str:
        generation = uuid.uuid4().hex
        meta = dict(self._chunks.metadata or {})
        meta["generation"] = generation
        meta.pop("hnsw:space", None)  # legacy key; configuration holds the index settings
        meta.pop(COMPLETE_KEY, None)  # a rebuild's commit mark, of no use once swapped in
        self._chunks.modify(metadata=meta)
        return generation

    def _upsert_articles(self, articles: Sequence[Article], hashes: Sequence[str], chunk_counts: Sequence[int]) -> None:
        for begin in range(0, len(articles), WRITE_BATCH):
            batch = list(zip(articles, hashes, chunk_counts, strict=True))[begin : begin + WRITE_BATCH]
            self._articles.upsert(
                ids=[article.id for article, _, _ in batch],
                embeddings=np.ones((len(batch), 1), dtype=np.float32),  # articles are looked up by id only
                documents=[article.text for article, _, _ in batch],
                metadatas=[
                    {
                        "title": article.title,
                        "date": article.date or "",
                        "date_int": date_number(article.date),
                        "content_hash": content_hash,
                        "chunks": count,
                        "source": article.source,
                    }
                    for article, content_hash, count in batch
                ],
            )

    @staticmethod
    def _page(
        collection: Collection, include: list[str], size: int = 5000
    ) -> Iterator[tuple[list[str], list[Any], list[Any]]]:
        offset = 0
        while True:
            page = collection.get(include=include, limit=size, offset=offset)  # type: ignore[arg-type]
            ids = page["ids"]
            if not ids:
                return
            yield ids, list(page.get("metadatas") or [{}] * len(ids)), list(page.get("documents") or [""] * len(ids))
            offset += len(ids)


def _live_collection(client: ClientAPI, name: str, function: _ChromaEmbeddingFunction) -> Collection:
    """A collection by name; a live one found missing may be a swap a kill interrupted, so that is finished
    (a no-op otherwise) and the lookup tried once more."""
    from chromadb.errors import NotFoundError

    try:
        return client.get_collection(name, embedding_function=function)  # type: ignore[arg-type]
    except NotFoundError:
        if name not in LIVE:
            raise
        _finish_swap(client)
        return client.get_collection(name, embedding_function=function)  # type: ignore[arg-type]


def _finish_swap(client: ClientAPI) -> None:
    """Complete a rebuild's swap from whatever point a kill left it at; a no-op when there is none.

    Staging chunks marked complete mean the swap is committed: each staging collection still present replaces
    its live one (articles first, then chunks, as :meth:`ChunkStore.finish_rebuild` does), and the retired pair
    is deleted. An unmarked staging pair is an unfinished rebuild and is left alone. Every step works on
    collection ids taken from one listing and tolerates a step another process just did, so a writer and a
    reader finishing the same swap at once cannot retire the new collections.
    """
    found = {collection.name: collection for collection in client.list_collections()}
    staged_chunks = found.get(STAGED.chunks)
    committed = staged_chunks is not None and (staged_chunks.metadata or {}).get(COMPLETE_KEY) == "complete"
    if committed:
        for live, staged, retired in (
            (LIVE.articles, STAGED.articles, RETIRING.articles),
            (LIVE.chunks, STAGED.chunks, RETIRING.chunks),
        ):
            if staged not in found:
                continue
            if live in found:
                _rename(found[live], retired)
            _rename(found[staged], live)
            log.info("swapped the rebuilt %s in", live)
    for name in RETIRING:
        if committed or name in found:
            _delete_collection(client, name)


def _rename(collection: Collection, name: str) -> None:
    """Rename by id; a collection already renamed is a no-op in Chroma, one already deleted is done with."""
    from chromadb.errors import NotFoundError

    try:
        collection.modify(name=name)
    except NotFoundError:
        log.debug("collection %s was already swapped out and deleted", collection.id)


def _delete_collection(client: ClientAPI, name: str) -> None:
    from chromadb.errors import NotFoundError

    try:
        client.delete_collection(name)
    except NotFoundError:
        log.debug("collection %s absent", name)


def _connect_or_move_aside(location: StoreLocation) -> ClientAPI:
    """Connect for a rebuild: an embedded database that cannot be opened is moved aside and started afresh."""
    try:
        return _connect(location)
    except IndexDamaged:
        if location.chroma_url:
            raise
        aside = _move_damaged_aside(location.index_dir)
        log.warning("%s cannot be opened: moved its files to %s and building it anew", location.index_dir, aside)
        return _connect(location)


def _move_damaged_aside(index_dir: Path) -> Path:
    """Move Chroma's own files (the database, its journal, its UUID-named segment folders) into a new
    ``damaged-<UTC time>`` folder; feedback, Slack state, models, the lexical index and locks stay."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    aside = index_dir / f"damaged-{stamp}"
    aside.mkdir()
    for entry in sorted(index_dir.iterdir()):
        if entry.name.startswith("chroma.sqlite3") or (entry.is_dir() and _is_uuid(entry.name)):
            entry.rename(aside / entry.name)
    return aside


def _is_uuid(name: str) -> bool:
    try:
        return str(uuid.UUID(name)) == name
    except ValueError:
        return False


def _connect(location: StoreLocation) -> ClientAPI:
    import chromadb
    from chromadb.config import Settings

    settings = Settings(anonymized_telemetry=False, allow_reset=False)
    if location.chroma_url:
        return _http_client(location.chroma_url, settings, location.chroma_timeout)
    from chromadb.api.shared_system_client import SharedSystemClient

    path = str(location.index_dir)
    cached = path in SharedSystemClient._identifier_to_system
    try:
        location.index_dir.mkdir(parents=True, exist_ok=True)
        return chromadb.PersistentClient(path=path, settings=settings)
    except Exception as error:
        if not cached:  # Chroma keeps a system that failed to start, which would fail every later open here
            SharedSystemClient._identifier_to_system.pop(path, None)
        raise IndexDamaged(
            f"Index at {location.index_dir} cannot be opened ({_short(error)}): "
            "rebuild it with `briefings ingest --rebuild`"
        ) from None


def _http_client(url: str, settings: Any, timeout: float) -> ClientAPI:
    """A client whose every request gives up after ``timeout`` seconds.

    chromadb 1.5 builds its httpx session with no timeout and offers no setting for one, and its constructor
    already talks to the server; so a heartbeat with the timeout comes first (a server that accepts but never
    answers fails here), then the timeout is set on the client's session for every later request, whose
    ``httpx.TimeoutException`` the store translates to :class:`StoreUnavailable` like any transport error.
    """
    from urllib.parse import urlparse

    import chromadb
    import httpx

    parsed = urlparse(url if "://" in url else f"http://{url}")
    try:
        httpx.get(f"{parsed.scheme}://{parsed.netloc}/api/v2/heartbeat", timeout=timeout)
        client = chromadb.HttpClient(
            host=parsed.hostname or "127.0.0.1",
            port=parsed.port or (443 if parsed.scheme == "https" else 8000),
            ssl=parsed.scheme == "https",
            settings=settings,
        )
    except Exception as error:
        raise StoreUnavailable(
            f"Chroma server at {url} does not answer ({_short(error)}): is `chroma run` up?"
        ) from None
    client._server._session.timeout = httpx.Timeout(timeout)  # type: ignore[attr-defined]
    return client


def _translate_open_error(error: Exception, location: StoreLocation) -> Exception:
    from chromadb.errors import NotFoundError

    if isinstance(error, NotFoundError):
        return IndexMissing(f"No index at {location.describe()}: run `briefings ingest` first")
    import httpx

    if location.chroma_url and isinstance(error, (ConnectionError, ValueError, httpx.TransportError)):
        return StoreUnavailable(f"Chroma server at {location.chroma_url} does not answer ({_short(error)})")
    return IndexDamaged(
        f"Index at {location.describe()} cannot be read ({_short(error)}): rebuild it with `briefings ingest --rebuild`"
    )


def _short(error: Exception) -> str:
    text = " ".join(str(error).split()) or type(error).__name__
    return text if len(text) <= 160 else text[:157] + "..."


def _collection_metadata(embedder: Embedder) -> dict[str, Any]:
    return {
        "schema": SCHEMA_VERSION,
        "embedding_model": embedder.identity,
        "dimension": embedder.dimension,
        "generation": "",
    }


def _chunk_metadata(chunk: Chunk) -> dict[str, Any]:
    return {
        "doc": chunk.doc,
        "title": chunk.title,
        "date": chunk.date or "",
        "date_int": date_number(chunk.date),
        "start": chunk.start,
        "end": chunk.end,
        "position": chunk.position,
    }


def _stored_chunk(chunk_id: str, meta: Any, text: Any) -> StoredChunk:
    return StoredChunk(
        id=chunk_id,
        doc=str(meta["doc"]),
        title=str(meta.get("title", "")),
        date=str(meta["date"]) if meta.get("date") else None,
        start=int(meta["start"]),
        end=int(meta["end"]),
        text=str(text or ""),
        sentences=unpack(meta.get(SPANS_KEY), meta.get(VECTORS_KEY)),
    )


def _date_filter(since: str | None, until: str | None) -> dict[str, Any] | None:
    """Undated articles are left out as soon as any bound is given: their date is unknown, not early."""
    if not since and not until:
        return None
    clauses: list[dict[str, Any]] = [{"date_int": {"$gt": 0}}]
    if since:
        clauses.append({"date_int": {"$gte": date_number(since)}})
    if until:
        clauses.append({"date_int": {"$lte": date_number(until)}})
    return {"$and": clauses}
