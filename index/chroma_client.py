"""Connecting to Chroma: where the index lives, the embedded or HTTP client, and Chroma's errors in ours.

A ``chroma run`` server is reached through ``HttpClient`` with a timeout on every request; an embedded
database is opened with ``PersistentClient`` in the index folder. Transport failures become
:class:`StoreUnavailable` and unreadable databases :class:`IndexDamaged`, each with a one-line message.
With :mod:`index.store` and :mod:`index.store_staging`, the only modules that import chromadb; this one must
not know the collections' names or records, nor import the assistant.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import numpy as np

from index.errors import IndexDamaged, IndexMissing, StoreUnavailable

if TYPE_CHECKING:
    from chromadb.api import ClientAPI
    from chromadb.api.models.Collection import Collection

    from index.embedding import Embedder

# Chroma's defaults (M 16, ef 100) lose recall on large sets; these keep recall@10 near exact search on
# the 30k-chunk news corpus (see the scale table in docs/performance.md) at a small cost in build time.
SEARCH_WIDTH = 200  # HNSW ef_search up to WIDE_SEARCH_FROM vectors
HNSW = {"space": "cosine", "ef_construction": 200, "max_neighbors": 32, "ef_search": SEARCH_WIDTH}
# A fixed search width loses recall as the graph grows: with 200, `briefings scale` measured recall@10 of 0.97
# at 100,000 vectors, 0.81 at 500,000 and 0.71 at a million. Past 100,000 the width grows with the collection,
# one per 150 vectors, in steps of 500 so that uploads seldom change it: 0.99 and 0.98 at those two sizes.
WIDE_SEARCH_FROM = 100_000
VECTORS_PER_WIDTH = 150
WIDTH_STEP = 500

DOCS_PER_FILTER = 200  # articles named in one ``$in`` filter
PAGE_SIZE = 5000  # records read from Chroma at a time when copying whole collections

F = TypeVar("F", bound=Callable[..., Any])


def search_width(count: int) -> int:
    """HNSW's ``ef_search`` for a collection of ``count`` vectors (see :data:`WIDE_SEARCH_FROM`)."""
    if count <= WIDE_SEARCH_FROM:
        return SEARCH_WIDTH
    return max(SEARCH_WIDTH, -(-count // (VECTORS_PER_WIDTH * WIDTH_STEP)) * WIDTH_STEP)


def width_update(collection: Collection) -> dict[str, Any] | None:
    """The configuration change that gives ``collection`` the :func:`search_width` of its size, or None if it has it.

    Chroma applies a changed ``ef_search`` when it next loads the index (a new process, a restarted server),
    not to an index it already holds in memory.
    """
    width = search_width(collection.count())
    held = ((collection.configuration_json or {}).get("hnsw") or {}).get("ef_search")
    return None if held == width else {"hnsw": {"ef_search": width}}


@dataclass(frozen=True)
class StoreLocation:
    """Where the index lives: a folder, and optionally a Chroma server that holds the collections."""

    index_dir: Path
    chroma_url: str | None = None
    chroma_timeout: float = 30.0  # seconds any one request to the server may take, connecting included

    def describe(self) -> str:
        return self.chroma_url or str(self.index_dir)


class _Located(Protocol):
    location: StoreLocation


def server_errors(method: F) -> F:
    """A Chroma server that stops answering while we run becomes :class:`StoreUnavailable` (one line, HTTP
    503) instead of a transport traceback; the HTTP client reconnects by itself once the server is back."""
    if inspect.isgeneratorfunction(method):

        @functools.wraps(method)
        def generator(self: _Located, *args: Any, **kwargs: Any) -> Any:
            with _server_answers(self.location):
                yield from method(self, *args, **kwargs)

        return generator  # type: ignore[return-value]

    @functools.wraps(method)
    def call(self: _Located, *args: Any, **kwargs: Any) -> Any:
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


class ChromaEmbeddingFunction:
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
    def build_from_config(config: dict[str, Any]) -> ChromaEmbeddingFunction:
        return ChromaEmbeddingFunction(None)

    def is_legacy(self) -> bool:
        return False

    def default_space(self) -> str:
        return "cosine"

    def supported_spaces(self) -> list[str]:
        return ["cosine"]


def connect(location: StoreLocation) -> ClientAPI:
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


def read_pages(
    collection: Collection, include: list[str], docs: Sequence[str] | None = None, by_id: bool = False
) -> Iterator[tuple[list[str], list[Any], list[Any]]]:
    """Every record of ``collection``, or every one whose ``doc`` (with ``by_id``: whose id) is among ``docs``,
    as ``(ids, metadatas, documents)`` pages of :data:`PAGE_SIZE`, so none is held whole."""
    if docs is None:
        yield from _pages(collection, include, None)
        return
    for begin in range(0, len(docs), DOCS_PER_FILTER):
        batch = list(docs[begin : begin + DOCS_PER_FILTER])
        yield from _pages(collection, include, None if by_id else {"doc": {"$in": batch}}, batch if by_id else None)


def _pages(
    collection: Collection, include: list[str], where: dict[str, Any] | None, wanted: list[str] | None = None
) -> Iterator[tuple[list[str], list[Any], list[Any]]]:
    offset = 0
    while True:
        page = collection.get(ids=wanted, include=include, where=where, limit=PAGE_SIZE, offset=offset)  # type: ignore[arg-type]
        ids = page["ids"]
        if not ids:
            return
        yield ids, list(page.get("metadatas") or [{}] * len(ids)), list(page.get("documents") or [""] * len(ids))
        offset += len(ids)


def translate_open_error(error: Exception, location: StoreLocation) -> Exception:
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
