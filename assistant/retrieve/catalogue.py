"""What the index holds, as readers see it besides search: its size and date range, and one article's text.

It owns :class:`IndexStats` (the UI header, ``GET /api/status``) and :class:`ArticleView` (a cited article
opened in the UI), both read from the store's article records. Must not search, write to the index, read
article files from disk (the text comes from the caller, as stored) or import adapters.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from index.store import ArticleRecord, ChunkStore


@dataclass(frozen=True)
class IndexStats:
    """What the UI header and ``GET /api/status`` show."""

    articles: int
    chunks: int
    first_date: str | None
    last_date: str | None
    embedding_model: str
    location: str


@dataclass(frozen=True)
class ArticleView:
    """An article as the UI shows it when a citation is opened."""

    doc: str
    title: str
    date: str | None
    text: str


def index_stats(store: ChunkStore, location: str) -> IndexStats:
    """How many articles and chunks the store holds, the dates they span and the model that embedded them."""
    records = store.article_records().values()
    dates = sorted(record.date for record in records if record.date)
    articles, chunks = store.counts()
    return IndexStats(
        articles=articles,
        chunks=chunks,
        first_date=dates[0] if dates else None,
        last_date=dates[-1] if dates else None,
        embedding_model=store.embedding_model,
        location=location,
    )


def article_view(store: ChunkStore, text_of: Callable[[str], str | None], doc: str) -> ArticleView | None:
    """The article ``doc`` with its stored text, or ``None`` when the index does not hold it."""
    record: ArticleRecord | None = store.article_records().get(doc)
    text = text_of(doc)
    if record is None or text is None:
        return None
    return ArticleView(doc, record.title, record.date, text)
