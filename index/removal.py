"""Taking articles out of the index by id: the one way a wrong upload or a withdrawn briefing stops being cited.

Removal is a write like ingest and follows its rules: it takes the same lock (so it never runs beside an ingest
or an upload, and says so at once instead of waiting), checks every id before touching anything (one unknown
id and nothing is removed), and deletes in the order ingest prunes: Chroma's chunks and record, then the
lexical index, then a new generation, so every reader of the index, in this process or another, drops the
article's chunks at its next look. An e-mail takes its attachments with it, as a prune of the e-mail would.

The files themselves are the caller's business (see :mod:`assistant.library`): this module must not delete
anything outside the index, nor import chromadb (it writes through :class:`ChunkStore`) or the assistant.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from index.embedding import Embedder
from index.errors import UnknownArticle
from index.ingest import UNFINISHED_MARKER, vanished, writing_lock
from index.lexical import lexical_folder
from index.lexical_sync import LexicalWriter
from index.store import ArticleRecord, ChunkStore, StoreLocation


def remove_articles(docs: Sequence[str], location: StoreLocation, embedder: Embedder) -> list[ArticleRecord]:
    """Remove ``docs`` (and any attachments they carry) from the index; returns the records that went.

    Raises :class:`UnknownArticle` for an id the index does not hold, before anything is removed.
    """
    ChunkStore.require_present(location)
    with writing_lock(location):
        store = ChunkStore.open(location, embedder)
        records = store.article_records()
        unknown = [doc for doc in docs if doc not in records]
        if unknown:
            raise UnknownArticle(
                f"No article {unknown[0]} in the index at {location.describe()}: nothing was removed "
                "(`briefings list` shows the ids)"
            )
        wanted = set(docs)
        attachments = [doc for doc, record in records.items() if record.parent in wanted and doc not in wanted]
        going = [*dict.fromkeys(docs), *sorted(attachments)]
        _delete(store, location, going)
        return [records[doc] for doc in going]


def articles_from(paths: Sequence[Path], location: StoreLocation, embedder: Embedder) -> list[ArticleRecord]:
    """The articles whose files lay under ``paths`` (or were those files): what a prune of them, emptied, drops."""
    records = ChunkStore.open(location, embedder).article_records()
    return [records[doc] for doc in vanished(records, paths, [])]


def _delete(store: ChunkStore, location: StoreLocation, docs: list[str]) -> None:
    """Chroma first, then the lexical index, then the generation; the marker makes a killed run's next ingest
    move the generation and resync, exactly as for a killed ingest."""
    unfinished = location.index_dir / UNFINISHED_MARKER
    unfinished.touch()
    lexical = LexicalWriter(lexical_folder(location.index_dir))
    store.delete_articles(docs)
    lexical.delete(docs)
    store.bump_generation()
    lexical.sync(store)
    unfinished.unlink(missing_ok=True)
