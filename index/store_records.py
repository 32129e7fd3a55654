"""What the index stores about chunks and articles, as Chroma metadata and as the values read back.

Chroma keeps flat metadata (strings and numbers), so dates are also stored as ``YYYYMMDD`` numbers, which
its filters can compare; a chunk's sentence vectors ride along packed into two strings (see
:mod:`index.sentence_vectors`). Plain data and conversions only: must not import chromadb (the store does the
talking) nor the assistant.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from index.sentence_vectors import SPANS_KEY, VECTORS_KEY, SentenceVectors, unpack

if TYPE_CHECKING:
    from index.articles import Article
    from index.chunking import Chunk
    from index.embedding import Embedder

SCHEMA_VERSION = 1
PENDING = "pending"


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
    # Each sentence's terms, worked out when the lexical index stored the chunk: one line per sentence of
    # ``sentences``, terms joined by spaces. Kept as the stored text and split only for the chunks answering
    # reads, since most chunks a search returns are never read sentence by sentence.
    sentence_terms: str | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class ArticleRecord:
    """What the index knows about an article besides its text.

    ``pages`` are the offsets where a PDF's pages start in the stored text; ``parent`` is the e-mail an
    attachment came with (its ``source`` is that e-mail's file).
    """

    doc: str
    title: str
    date: str | None
    content_hash: str
    chunks: int
    source: str
    pages: tuple[int, ...] = ()
    parent: str | None = None
    indexed: str | None = field(default=None, compare=False)  # UTC time its chunks were written; None before kept


def date_number(date: str | None) -> int:
    """``2022-02-20`` -> ``20220220``: Chroma filters compare numbers, not strings. Unknown dates are 0."""
    return int(date.replace("-", "")) if date else 0


def collection_metadata(embedder: Embedder) -> dict[str, Any]:
    """``embedding_model`` and ``dimension`` decide whether a query may use this index; ``embedding_export``
    (the ONNX file and its checksum) only tells which export built it, since a re-export after a torch or
    onnxruntime upgrade computes the same vectors to within rounding and must not lock anyone out."""
    return {
        "schema": SCHEMA_VERSION,
        "embedding_model": embedder.identity,
        "dimension": embedder.dimension,
        "embedding_export": embedder.export,
        "generation": "",
    }


def chunk_metadata(chunk: Chunk) -> dict[str, Any]:
    return {
        "doc": chunk.doc,
        "title": chunk.title,
        "date": chunk.date or "",
        "date_int": date_number(chunk.date),
        "start": chunk.start,
        "end": chunk.end,
        "position": chunk.position,
    }


def article_metadata(article: Article, content_hash: str, count: int) -> dict[str, Any]:
    return {
        "title": article.title,
        "date": article.date or "",
        "date_int": date_number(article.date),
        "content_hash": content_hash,
        "chunks": count,
        "source": article.source,
        "pages": pack_pages(article.pages),
        "parent": article.parent or "",
        "indexed": datetime.now(UTC).isoformat(timespec="seconds"),  # what `briefings list` shows as indexed
    }


def pack_pages(pages: tuple[int, ...]) -> str:
    """Page starts as one string (Chroma metadata holds no lists): ``"0,1873,3920"``."""
    return ",".join(str(start) for start in pages)


def unpack_pages(packed: Any) -> tuple[int, ...]:
    """The page starts :func:`pack_pages` wrote; none for records written before pages were kept."""
    return tuple(int(start) for start in str(packed).split(",")) if packed else ()


def stored_chunk(chunk_id: str, meta: Any, text: Any) -> StoredChunk:
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


def article_record(doc: str, meta: Any) -> ArticleRecord:
    return ArticleRecord(
        doc=doc,
        title=str(meta.get("title", doc)),
        date=str(meta["date"]) if meta.get("date") else None,
        content_hash=str(meta.get("content_hash", PENDING)),
        chunks=int(meta.get("chunks", 0)),
        source=str(meta.get("source", "")),
        pages=unpack_pages(meta.get("pages")),
        parent=str(meta["parent"]) if meta.get("parent") else None,
        indexed=str(meta["indexed"]) if meta.get("indexed") else None,
    )


def date_filter(since: str | None, until: str | None) -> dict[str, Any] | None:
    """Undated articles are left out as soon as any bound is given: their date is unknown, not early."""
    if not since and not until:
        return None
    clauses: list[dict[str, Any]] = [{"date_int": {"$gt": 0}}]
    if since:
        clauses.append({"date_int": {"$gte": date_number(since)}})
    if until:
        clauses.append({"date_int": {"$lte": date_number(until)}})
    return {"$and": clauses}
