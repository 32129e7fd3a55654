"""What the index holds, as readers see it besides search: its size and date range, and one article's text.

It owns :class:`IndexStats` (the UI header, ``GET /api/status``) and :class:`ArticleView` (a cited article
opened in the UI), both read from the store's article records. Must not search, write to the index, read
article files from disk (the text comes from the caller, as stored) or import adapters.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from index.formats import DOCUMENT_SUFFIXES, page_of
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
    """An article as the UI shows it when a citation is opened, and ``GET /api/articles/{doc}`` returns it.

    ``text`` is what citation offsets index. ``pages`` are ``(start, end)`` offsets of each page of a PDF;
    ``parent`` is the e-mail an attachment came with; ``original`` is the file it was read from, offered for
    download when it is a document of its own (a PDF, Word file or e-mail, not an attachment inside one).
    """

    doc: str
    title: str
    date: str | None
    text: str
    source: str
    pages: tuple[tuple[int, int], ...] = ()
    parent: str | None = None
    original: Path | None = None

    def page_of(self, offset: int) -> int | None:
        """The 1-based page holding ``offset`` (a gap between pages counts as the page before); ``None`` without
        pages. The same rule as a citation's ``page``, so the pane and the citation never disagree."""
        return page_of(tuple(start for start, _ in self.pages), offset)

    def to_dict(self) -> dict[str, object]:
        return {
            "doc": self.doc,
            "title": self.title,
            "date": self.date,
            "source": self.source,
            "text": self.text,
            "pages": [[start, end] for start, end in self.pages],
            "parent": self.parent,
            "original": self.original is not None,
        }


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
    record: ArticleRecord | None = store.record_of(doc)
    text = text_of(doc)
    if record is None or text is None:
        return None
    source = Path(record.source) if record.source else None
    original = (
        source if source is not None and record.parent is None and source.suffix.lower() in DOCUMENT_SUFFIXES else None
    )
    return ArticleView(
        doc, record.title, record.date, text, record.source, page_ranges(record.pages, text), record.parent, original
    )


def page_ranges(starts: tuple[int, ...], text: str) -> tuple[tuple[int, int], ...]:
    """Each page as ``(start, end)`` in ``text``: up to the next page's start, less the blank lines between."""
    ranges = []
    for number, start in enumerate(starts):
        end = starts[number + 1] if number + 1 < len(starts) else len(text)
        while end > start and text[end - 1].isspace():
            end -= 1
        ranges.append((start, end))
    return tuple(ranges)
