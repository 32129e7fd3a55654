"""The library of briefings: what the index holds, listed, searched and paged, and taken out again.

Every adapter shows the same list (``briefings list``, ``GET /api/documents``, the UI's Briefings panel) and
removes the same way (``briefings remove``, ``DELETE /api/documents/{doc}``, the panel's Remove), so both live
here rather than in each adapter. A briefing counts as an *upload* when its file lies in the uploads folder
(the corpus folder, ``BRIEFINGS_CORPUS``, where uploads are saved): removing one deletes that file too, or the
next ``briefings ingest`` of the folder would bring it back. A file anywhere else is the user's own and is left
where it is; the removal says so. Must not search, answer, or import adapters.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from assistant.retrieve.filters import date_bounds
from index.embedding import Embedder
from index.errors import UnknownArticle
from index.removal import remove_articles
from index.store import ArticleRecord, StoreLocation


@dataclass(frozen=True)
class Briefing:
    """One indexed article as the list shows it."""

    doc: str
    title: str
    date: str | None
    type: str  # the file type, e.g. "pdf"; an e-mail's attachment has its own
    pages: int | None  # PDFs only
    chunks: int
    source: str  # the file it was read from (for an attachment: the e-mail's file)
    upload: bool
    indexed: str | None  # UTC time its chunks were written; unknown for indexes built before it was kept
    parent: str | None = None

    def to_dict(self) -> dict[str, object]:
        return {
            "doc": self.doc,
            "title": self.title,
            "date": self.date,
            "type": self.type,
            "pages": self.pages,
            "chunks": self.chunks,
            "source": self.source,
            "upload": self.upload,
            "indexed": self.indexed,
            "parent": self.parent,
        }


@dataclass(frozen=True)
class LibraryPage:
    """One page of the (filtered) list; ``total`` counts every match, not just this page."""

    total: int
    offset: int
    limit: int
    briefings: tuple[Briefing, ...]

    def to_dict(self) -> dict[str, object]:
        items = [briefing.to_dict() for briefing in self.briefings]
        return {"total": self.total, "offset": self.offset, "limit": self.limit, "documents": items}


@dataclass(frozen=True)
class Removed:
    """An article that left the index, and what became of its file."""

    doc: str
    title: str
    chunks: int
    deleted_file: Path | None  # the upload's file, now deleted
    kept_file: Path | None  # a file outside the uploads folder, left alone (re-ingesting its folder adds it again)

    def to_dict(self) -> dict[str, object]:
        return {
            "doc": self.doc,
            "title": self.title,
            "chunks": self.chunks,
            "deleted_file": str(self.deleted_file) if self.deleted_file else None,
            "kept_file": str(self.kept_file) if self.kept_file else None,
        }

    def describe(self) -> str:
        """One line for the console and the UI."""
        if self.deleted_file is not None:
            where = f"; deleted its file {self.deleted_file}"
        elif self.kept_file is not None:
            where = f"; its file {self.kept_file} was left in place (ingesting that folder again adds it back)"
        else:
            where = ""
        return f"removed {self.doc} ({self.chunks} chunks){where}"


def briefings(records: Iterable[ArticleRecord], uploads: Path) -> list[Briefing]:
    """Every article, newest first (undated last), then by id: the order a person looks for recent ones in."""
    folder = uploads.resolve()
    listed = [_briefing(record, folder) for record in records]
    listed.sort(key=lambda briefing: briefing.doc)
    listed.sort(key=lambda briefing: briefing.date or "", reverse=True)
    return listed


def select(
    listed: Sequence[Briefing],
    since: str | None = None,
    until: str | None = None,
    text: str = "",
    offset: int = 0,
    limit: int | None = None,
) -> LibraryPage:
    """The briefings dated within ``since``..``until`` (inclusive; an undated one only when neither is given)
    whose id or title holds ``text`` (any case), from ``offset``, at most ``limit`` of them (``None``: all)."""
    since, until = date_bounds(since, until)
    wanted = text.strip().casefold()
    matching = [
        briefing
        for briefing in listed
        if _within(briefing.date, since, until)
        and (not wanted or wanted in briefing.doc.casefold() or wanted in briefing.title.casefold())
    ]
    offset = max(offset, 0)
    limit = len(matching) if limit is None else max(limit, 1)
    return LibraryPage(len(matching), offset, limit, tuple(matching[offset : offset + limit]))


def named(listed: Sequence[Briefing], docs: Sequence[str]) -> list[Briefing]:
    """The briefings ``docs`` name, in that order; the first unknown id raises :class:`UnknownArticle`."""
    by_id = {briefing.doc: briefing for briefing in listed}
    for doc in docs:
        if doc not in by_id:
            raise UnknownArticle(f"No article {doc} in the index: nothing was removed (`briefings list` shows the ids)")
    return [by_id[doc] for doc in dict.fromkeys(docs)]


def remove(
    docs: Sequence[str], location: StoreLocation, embedder: Embedder, uploads: Path, delete_files: bool = True
) -> list[Removed]:
    """Take ``docs`` out of the index, then delete the files of those that were uploads (see the docstring);
    ``delete_files`` off leaves every file alone (a prune, whose files are gone or no longer load)."""
    folder = uploads.resolve()
    return [_settle_file(record, folder, delete_files) for record in remove_articles(docs, location, embedder)]


def _settle_file(record: ArticleRecord, uploads: Path, delete_files: bool) -> Removed:
    source = Path(record.source) if record.source and record.parent is None else None
    deleted = kept = None
    if source is not None and source.is_file():
        if delete_files and source.is_relative_to(uploads):
            source.unlink()
            deleted = source
        else:
            kept = source
    return Removed(record.doc, record.title, record.chunks, deleted, kept)


def _briefing(record: ArticleRecord, uploads: Path) -> Briefing:
    suffix = Path(record.doc).suffix.lower().lstrip(".")
    source = Path(record.source) if record.source else None
    upload = source is not None and source.is_relative_to(uploads)
    pages = len(record.pages) if record.pages else None
    return Briefing(
        record.doc, record.title, record.date, suffix, pages, record.chunks, record.source, upload, record.indexed,
        record.parent,
    )  # fmt: skip


def _within(date: str | None, since: str | None, until: str | None) -> bool:
    if since is None and until is None:
        return True
    if date is None:
        return False
    return (since is None or date >= since) and (until is None or date <= until)
