"""Writing the lexical index (:mod:`index.lexical`) and keeping it in line with the store, article by article.

Ingest writes each group's chunks (and its articles' texts and page starts, so answering reads them here
rather than asking Chroma for each cited article) right after writing them to Chroma (:meth:`LexicalWriter.replace`,
one SQLite transaction per group) and deletes pruned articles the same way; when it ends, it syncs. A sync
compares each article's state recorded here (content hash and embedding model) with the store's article
records and copies from Chroma only the articles that differ: new or changed ones, pending ones (a write a
kill interrupted), all of them after a rebuild with another model; articles the store no longer holds are
deleted. It then records the store generation it read before comparing, so any later write, which moves the
generation again, is caught by the next sync. Syncing is what repairs whatever a kill left (a group written
to Chroma and not here, or here and not committed there), what a replica does when the shared store moved,
and what fills a new index folder or one from before this format, from the store's chunks, once.

Every writer holds a file lock beside the database for each write and for a whole sync, so a sync's diff and
the chunks it copies cannot interleave with another writer's; readers never wait for it (WAL).

Must not import chromadb (chunks come through :class:`ChunkStore`) nor the assistant's service or adapters.
"""

from __future__ import annotations

import logging
import shutil
import sqlite3
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from itertools import islice
from pathlib import Path

from filelock import FileLock, Timeout

from assistant.text.tokens import terms
from index.lexical import (
    DATABASE,
    LexicalDamaged,
    connect,
    database_path,
    read_meta,
    sentence_blobs,
    sentence_terms_text,
)
from index.store import PENDING, ChunkStore, StoredChunk, date_number
from index.store_records import pack_pages

log = logging.getLogger("index.lexical")

ArticleText = tuple[str, tuple[int, ...]]  # an article's text and where each of its pages starts

WRITE_LOCK = "write.lock"
LOCK_SECONDS = 900.0  # how long a writer waits for another's sync, which takes minutes when it starts from nothing
FULL_READ_SHARE = 0.25  # copying more than this share of the articles reads every chunk in pages, not by article
ROWS_PER_TRANSACTION = 1000
ARTICLES_PER_TRANSACTION = 100  # whole article texts: fewer per transaction than chunks
_PER_STATEMENT = 500  # stays under SQLite's limit on bound parameters
_INSERT = (
    'insert into chunks(id, doc, title, date, date_number, start, "end", text, length, sentence_spans,'
    " sentence_vectors, dimension, sentence_terms) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def doc_state(content_hash: str, embedding_model: str) -> str:
    """What an article's chunks here were copied from: its content hash in a store built with that model."""
    return f"{content_hash} {embedding_model}"


class LexicalWriter:
    """Writes to the lexical index in ``folder``; each call opens its own connection, so any thread may call."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def replace(
        self,
        chunks: Sequence[StoredChunk],
        states: Mapping[str, str],
        articles: Mapping[str, ArticleText] | None = None,
    ) -> None:
        """Put ``chunks`` and the ``articles``' texts in place of all held for the articles in ``states`` and
        record those states, at once."""
        with self._locked(LOCK_SECONDS), self._connection() as db, _transaction(db):
            _delete_chunks(db, states)
            _insert(db, chunks)
            _insert_articles(db, (articles or {}).items())
            _record(db, states)

    def delete(self, docs: Sequence[str]) -> None:
        if not docs:
            return
        with self._locked(LOCK_SECONDS), self._connection() as db, _transaction(db):
            _delete_chunks(db, docs)
            _forget_docs(db, docs)

    def sync(self, store: ChunkStore, wait: bool = True) -> bool:
        """Bring the index in line with the store's current generation; see the module docstring.

        ``False`` when another writer holds the lock and ``wait`` is off (a reader tries again later).
        """
        with self._connection() as db:
            if read_meta(db, "generation") == store.generation:
                return True
        try:
            with self._locked(LOCK_SECONDS if wait else 0.0), self._connection() as db:
                generation = store.generation  # read before comparing: later writes move it again
                if read_meta(db, "generation") != generation:
                    _catch_up(db, store)
                    with _transaction(db):
                        db.execute("insert or replace into meta values ('generation', ?)", (generation,))
        except Timeout:
            return False
        return True

    @contextmanager
    def _locked(self, seconds: float) -> Iterator[None]:
        self.folder.mkdir(parents=True, exist_ok=True)
        with FileLock(str(self.folder / WRITE_LOCK), timeout=seconds):
            yield

    @contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        """The database, created when absent and created anew when damaged (it is derived data)."""
        path = database_path(self.folder)
        fresh = not path.exists()
        try:
            db = connect(path)
        except LexicalDamaged as error:
            log.warning("%s; building it anew from the store", error)
            for leftover in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
                leftover.unlink(missing_ok=True)
            db, fresh = connect(path), True
        if fresh:
            _remove_old_format(self.folder)
        try:
            yield db
        finally:
            db.close()


def _catch_up(db: sqlite3.Connection, store: ChunkStore) -> None:
    records = store.article_records()
    model = store.embedding_model
    wanted = {doc: doc_state(record.content_hash, model) for doc, record in records.items()}
    held = dict(db.execute("select doc, state from docs").fetchall())
    stale = {
        doc: state
        for doc, state in wanted.items()
        if held.get(doc) != state or records[doc].content_hash == PENDING  # pending: the chunks may be partial
    }
    gone = sorted(set(held) - set(wanted))
    if gone:
        with _transaction(db):
            _delete_chunks(db, gone)
            _forget_docs(db, gone)
    if not stale:
        return
    started = time.perf_counter()
    everything = len(stale) > FULL_READ_SHARE * len(wanted)
    if everything:
        log.info("building the lexical index from the store: %d of %d articles to copy", len(stale), len(wanted))
    chunks = store.iter_chunks() if everything else store.iter_chunks(sorted(stale))
    texts = store.iter_article_texts() if everything else store.iter_article_texts(sorted(stale))
    articles = ((doc, (text, records[doc].pages)) for doc, text in texts if doc in records)
    copied = _copy(db, chunks, articles, stale)
    seconds = time.perf_counter() - started
    log.info("lexical index: %d articles (%d chunks) copied from the store in %.1f s", len(stale), copied, seconds)


def _copy(
    db: sqlite3.Connection,
    chunks: Iterable[StoredChunk],
    articles: Iterable[tuple[str, ArticleText]],
    states: Mapping[str, str],
) -> int:
    """Replace the articles in ``states`` with their chunks from ``chunks`` and their texts from ``articles``
    (others there are skipped), a transaction per thousand rows; the states are recorded last, so a copy cut
    short is redone."""
    cleared: set[str] = set()
    batch: list[StoredChunk] = []
    copied = 0
    for chunk in chunks:
        if chunk.doc in states:
            batch.append(chunk)
        if len(batch) >= ROWS_PER_TRANSACTION:
            copied += _write_batch(db, batch, cleared)
            batch = []
    copied += _write_batch(db, batch, cleared)
    with _transaction(db):
        _delete_chunks(db, [doc for doc in states if doc not in cleared])  # articles with no chunks left
    wanted = ((doc, article) for doc, article in articles if doc in states)
    while texts := list(islice(wanted, ARTICLES_PER_TRANSACTION)):
        with _transaction(db):
            _insert_articles(db, texts)
    with _transaction(db):
        _record(db, states)
    return copied


def _write_batch(db: sqlite3.Connection, batch: list[StoredChunk], cleared: set[str]) -> int:
    first_seen = sorted({chunk.doc for chunk in batch} - cleared)
    with _transaction(db):
        _delete_chunks(db, first_seen)
        _insert(db, batch)
    cleared.update(first_seen)
    return len(batch)


@contextmanager
def _transaction(db: sqlite3.Connection) -> Iterator[None]:
    db.execute("begin immediate")
    try:
        yield
    except BaseException:
        db.execute("rollback")
        raise
    db.execute("commit")


def _delete_chunks(db: sqlite3.Connection, docs: Iterable[str]) -> None:
    docs = list(docs)
    for begin in range(0, len(docs), _PER_STATEMENT):
        batch = docs[begin : begin + _PER_STATEMENT]
        marks = ",".join("?" * len(batch))
        db.execute(f"delete from chunk_terms where rowid in (select row from chunks where doc in ({marks}))", batch)
        db.execute(f"delete from chunks where doc in ({marks})", batch)
        db.execute(f"delete from articles where doc in ({marks})", batch)


def _insert(db: sqlite3.Connection, chunks: Iterable[StoredChunk]) -> None:
    for chunk in chunks:
        db.execute("delete from chunk_terms where rowid in (select row from chunks where id = ?)", (chunk.id,))
        db.execute("delete from chunks where id = ?", (chunk.id,))  # a chunk read twice is kept once
        spans, vectors, dimension = sentence_blobs(chunk.sentences)
        place = (chunk.doc, chunk.title, chunk.date, date_number(chunk.date), chunk.start, chunk.end)
        found = terms(chunk.text)
        stored = (chunk.text, len(found), spans, vectors, dimension, sentence_terms_text(chunk))
        row = db.execute(_INSERT, (chunk.id, *place, *stored)).lastrowid
        db.execute("insert into chunk_terms(rowid, terms) values (?, ?)", (row, " ".join(found)))


def _insert_articles(db: sqlite3.Connection, articles: Iterable[tuple[str, ArticleText]]) -> None:
    db.executemany(
        "insert or replace into articles values (?, ?, ?)",
        [(doc, text, pack_pages(pages)) for doc, (text, pages) in articles],
    )


def _record(db: sqlite3.Connection, states: Mapping[str, str]) -> None:
    db.executemany("insert or replace into docs values (?, ?)", states.items())


def _forget_docs(db: sqlite3.Connection, docs: Sequence[str]) -> None:
    db.executemany("delete from docs where doc = ?", [(doc,) for doc in docs])


def _remove_old_format(folder: Path) -> None:
    """Best effort: the builds, pointer and locks of the format before this one, once the database is new."""
    keep = {DATABASE, f"{DATABASE}-wal", f"{DATABASE}-shm", WRITE_LOCK}
    for entry in folder.iterdir():
        if entry.name in keep:
            continue
        try:
            if entry.is_dir():
                shutil.rmtree(entry)
            else:
                entry.unlink()
        except OSError as error:
            log.debug("could not remove %s (%s)", entry, error)
