"""BM25 over the same chunks as the dense index, in one SQLite file (FTS5) beside it.

Dense retrieval misses rare names and numbers that a question shares word for word with its answer; BM25
finds exactly those. The file also mirrors each chunk's text, place and sentence vectors, so a hit (lexical
or dense: Chroma's search returns ids only) needs no round trip to Chroma, and FTS5's vocabulary gives the
document frequencies behind idf-weighted term overlap. Chunk texts and vectors stay on disk: a question
reads the rows it needs; only each chunk's length and date number (a few bytes a chunk) are held in memory.

What BM25 ranks are the project's own terms (:func:`assistant.text.tokens.terms`: stemmed, stop words
dropped), stored joined by spaces in a full-text table whose tokenizer splits on white space only, so every
term reaches FTS5 unchanged. FTS5 serves as the inverted index (its ``fts5vocab`` tables give the chunks
holding a term and how often each does) and the score is computed here: Lucene's BM25 with k1 1.5 and b 0.75,
what the ranking and the fitted answer model were tuned with. FTS5's own ``bm25()`` fixes k1 at 1.2, which
answered three fewer of the news development questions.

Tables: ``chunks`` (the mirror; its row number is the full-text row's), ``chunk_terms`` (FTS5),
``vocabulary`` and ``occurrences`` (``fts5vocab``: chunks per term, every occurrence), ``docs`` (each
article's state as last copied from the store, so a sync can diff) and ``meta`` (the schema, and the store
``generation`` the file was last synced with). The database runs in WAL mode: any number of readers, in any
process, read committed rows while one writer writes. Writing and syncing live in :mod:`index.lexical_sync`.

Must not import chromadb (chunks come through :class:`ChunkStore`) nor the assistant's service or adapters.
"""

from __future__ import annotations

import logging
import math
import sqlite3
import threading
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from assistant.text.tokens import terms, terms_with_words
from index.sentence_vectors import SentenceVectors
from index.store import StoredChunk, date_number
from index.store_records import unpack_pages

log = logging.getLogger(__name__)

SCHEMA = "4"  # a file of another schema is built anew (it is derived data); 3 added article texts, sentence terms;
# 4: terms are accent-folded ("Elysée" and "elysee" are one term)
K1, B = 1.5, 0.75  # BM25 in Lucene's variant, with the k1 and b the answer model was fitted with
DATABASE = "lexical.sqlite3"
BUSY_SECONDS = 60.0  # how long a statement waits for another connection's write to commit
SHORT_WORD = 5  # words up to this length must match whole; longer ones may differ in their last letters
BLEND_CHUNKS = 2000  # from this many chunks on, term weights are pure corpus idf
BACKGROUND_SCALE = 1.3  # puts general-English rarity (8 - Zipf frequency) on the scale of idf
_MAX_CACHED_TERMS = 100_000
_IDS_PER_QUERY = 500  # stays under SQLite's limit on bound parameters

# Every character but white space and control characters is part of a token: the terms are already split.
_TOKENIZER = "unicode61 remove_diacritics 0 categories 'L* M* N* P* S* Co'"
_SCHEMA_SQL = f"""
create table if not exists meta(key text primary key, value text not null) without rowid;
create table if not exists docs(doc text primary key, state text not null) without rowid;
create table if not exists chunks(
    row integer primary key, id text not null unique, doc text not null, title text not null, date text,
    date_number integer not null, start integer not null, "end" integer not null, text text not null,
    length integer not null, sentence_spans blob, sentence_vectors blob, dimension integer not null default 0,
    sentence_terms text);
create index if not exists chunks_by_doc on chunks(doc);
create table if not exists articles(doc text primary key, text text not null, pages text not null) without rowid;
create virtual table if not exists chunk_terms using fts5(terms, tokenize = "{_TOKENIZER}");
create virtual table if not exists vocabulary using fts5vocab(chunk_terms, row);
create virtual table if not exists occurrences using fts5vocab(chunk_terms, instance);
"""
_STAMP = (  # what changes whenever the contents do: the newest row, the articles held, the generation synced
    "select (select max(row) from chunks), (select count(*) from docs),"
    " (select value from meta where key = 'generation')"
)
_CHUNK_COLUMNS = 'id, doc, title, date, start, "end", text, sentence_spans, sentence_vectors, dimension, sentence_terms'


class LexicalDamaged(Exception):
    """The file is not a lexical index this version reads; it is derived data, so it is built anew."""


@dataclass(frozen=True)
class _Corpus:
    """Per row number: each chunk's length in terms and its date number (0: no chunk, or undated)."""

    lengths: np.ndarray
    dates: np.ndarray
    count: int
    average_length: float


@dataclass(frozen=True)
class LexicalHit:
    chunk: StoredChunk
    score: float


def lexical_folder(index_dir: Path) -> Path:
    """Where the lexical index (its database and its write lock) lives, inside the index folder."""
    return index_dir / "lexical"


def database_path(folder: Path) -> Path:
    return folder / DATABASE


def connect(path: Path) -> sqlite3.Connection:
    """A connection in autocommit mode (writers open their transactions themselves) with the schema in place.

    Raises :class:`LexicalDamaged` for a file that is not SQLite or holds another schema.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    connection = sqlite3.connect(path, timeout=BUSY_SECONDS, isolation_level=None)
    try:
        connection.execute("pragma journal_mode=wal")
        connection.execute("pragma synchronous=normal")
        found = _schema(connection)
        if found is None:  # a new file: created in one transaction; readers of an existing one never write
            connection.executescript(f"begin immediate; {_SCHEMA_SQL} commit;")
            connection.execute("insert or ignore into meta values ('schema', ?)", (SCHEMA,))
            found = _schema(connection)
    except sqlite3.DatabaseError as error:
        connection.close()
        raise LexicalDamaged(f"{path} is not a lexical index ({error})") from None
    if found != SCHEMA:
        connection.close()
        raise LexicalDamaged(f"{path} holds lexical schema {found}, not {SCHEMA}")
    return connection


def _schema(connection: sqlite3.Connection) -> str | None:
    try:
        return read_meta(connection, "schema")
    except sqlite3.OperationalError:  # no meta table yet
        return None


def read_meta(connection: sqlite3.Connection, key: str) -> str | None:
    row = connection.execute("select value from meta where key = ?", (key,)).fetchone()
    return str(row[0]) if row else None


class LexicalIndex:
    """BM25 search, the chunk mirror and document frequencies, read from the SQLite file.

    Each thread reads through a connection of its own (SQLite reads in parallel under WAL). Chunk lengths and
    document frequencies are cached; each search first checks whether the index changed (another process's
    writes included) and drops them if so, as :meth:`forget` does.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()
        self._frequency: dict[str, int] = {}
        self._postings_of: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self._corpus: _Corpus | None = None
        self._stamp: tuple[object, ...] | None = None
        connect(path).close()  # creates the schema, or raises LexicalDamaged

    def _db(self) -> sqlite3.Connection:
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is None:
            connection = self._local.connection = connect(self.path)
        return connection

    @property
    def generation(self) -> str:
        """The store generation the index was last brought in line with ("" before the first sync)."""
        return read_meta(self._db(), "generation") or ""

    def forget(self) -> None:
        """Drop cached counts: the index was written since they were read."""
        self._frequency, self._postings_of, self._corpus, self._stamp = {}, {}, None, None

    def count(self) -> int:
        """How many chunks the index holds."""
        return self._stats().count

    def _changed(self) -> None:
        """Drop the cached counts when the index changed, so a reader sees other processes' writes without
        being told. SQLite's ``data_version`` says whether another connection committed since this thread
        looked; a stamp of the contents (newest row, articles, generation) whether that changed what is
        cached, so forty threads seeing one commit reload the counts once, not forty times."""
        version = self._db().execute("pragma data_version").fetchone()[0]
        if version == getattr(self._local, "version", None):
            return
        self._local.version = version
        stamp = self._db().execute(_STAMP).fetchone()
        if stamp != self._stamp:
            self.forget()
            self._stamp = stamp

    def _stats(self) -> _Corpus:
        corpus = self._corpus
        if corpus is None:
            found = (
                self._db()
                .execute("select group_concat(row), group_concat(length), group_concat(date_number) from chunks")
                .fetchone()
            )
            rows, length, date = (_numbers(column) for column in found)
            size = int(rows.max()) + 1 if len(rows) else 0
            lengths, dates = np.zeros(size, np.float32), np.zeros(size, np.int64)
            lengths[rows], dates[rows] = length, date
            average = float(lengths.sum()) / len(rows) if len(rows) else 1.0
            corpus = self._corpus = _Corpus(lengths, dates, len(rows), average or 1.0)
        return corpus

    def _document_frequency(self, term: str) -> int:
        found = self._frequency.get(term)
        if found is None:
            row = self._db().execute("select doc from vocabulary where term = ?", (term,)).fetchone()
            found = int(row[0]) if row else 0
            if len(self._frequency) >= _MAX_CACHED_TERMS:
                self._frequency.clear()
            self._frequency[term] = found
        return found

    def knows(self, word: str) -> bool:
        """Does any chunk hold ``word``? Long words match by their first letters, so "Ukrainian" finds the
        stem of "Ukraine" (a name the corpus never uses cannot be what it is about)."""
        wanted = terms(word)
        if not wanted:
            return True  # a stop word says nothing about the corpus
        if all(self._document_frequency(term) > 0 for term in wanted):
            return True
        if len(word) <= SHORT_WORD:
            return False
        for prefix in (word.lower()[: max(SHORT_WORD, len(word) - 3)], wanted[0]):
            row = self._db().execute("select term from vocabulary where term >= ? limit 1", (prefix,)).fetchone()
            if row is not None and str(row[0]).startswith(prefix):
                return True
        return False

    def idf(self, term: str) -> float:
        """Smoothed inverse document frequency; unseen terms count as rare."""
        total, frequency = max(self.count(), 1), self._document_frequency(term)
        return math.log(1.0 + (total - frequency + 0.5) / (frequency + 0.5))

    def term_weights(self, text: str) -> dict[str, float]:
        """How much each term of ``text`` says: corpus idf blended with general-English rarity.

        In a corpus of a handful of chunks, idf cannot tell "call" from "Elysée" (both are in one or two
        chunks); word frequencies of English can. The blend leans on the corpus as it grows.
        """
        from wordfreq import zipf_frequency

        share = min(1.0, self.count() / BLEND_CHUNKS)
        weights: dict[str, float] = {}
        for term, word in terms_with_words(text):
            if share >= 1.0:  # a corpus this size needs no general-English rarity, and looking it up is slow
                weight = self.idf(term)
            else:
                background = BACKGROUND_SCALE * max(0.0, 8.0 - zipf_frequency(word, "en"))
                weight = share * self.idf(term) + (1.0 - share) * background
            weights[term] = max(weights.get(term, 0.0), weight)
        return weights

    def search(self, query: str, k: int, since: str | None = None, until: str | None = None) -> list[LexicalHit]:
        """Top ``k`` chunks by BM25, optionally only those dated within ``[since, until]`` (then undated
        chunks are left out: their date is unknown, not early). A term the question repeats counts again."""
        self._changed()
        corpus = self._stats()
        query_terms = Counter(terms(query))
        if not query_terms or k <= 0 or not corpus.count:
            return []
        scores = np.zeros(len(corpus.lengths), np.float32)
        postings = self._postings(list(query_terms), len(scores))
        for repeats, (rows, frequency) in zip(query_terms.values(), postings, strict=True):
            if len(rows):
                idf = math.log(1.0 + (corpus.count - len(rows) + 0.5) / (len(rows) + 0.5))
                norm = K1 * (1.0 - B + B * corpus.lengths[rows] / corpus.average_length)
                scores[rows] += repeats * idf * frequency / (frequency + norm)
        if since or until:
            low, high = max(date_number(since) if since else 1, 1), date_number(until) if until else 99991231
            scores *= (corpus.dates >= low) & (corpus.dates <= high)
        found = np.flatnonzero(scores > 0)
        if len(found) > k:
            found = found[np.argpartition(-scores[found], k - 1)[:k]]
        ranked = sorted(found.tolist(), key=lambda row: (-scores[row], row))
        chunks = self._chunks_by_row(ranked)
        return [LexicalHit(chunks[row], float(scores[row])) for row in ranked if row in chunks]

    def _postings(self, wanted: list[str], rows_known: int) -> list[tuple[np.ndarray, np.ndarray]]:
        """For each term, the rows holding it and how often each does (rows written since the lengths were
        read wait).

        Each term's occurrences come back as one string, all terms in one result row: under many threads
        every step of SQLite gives up the GIL and waits to get it back, so a step per occurrence (or per
        term) would cost far more than the search itself. A term's postings are then kept (as two small
        arrays, not text) until the index changes: questions share most of their terms, and reading them
        again from SQLite cost ten times the scoring.
        """
        cached = self._postings_of
        known = {term: cached[term] for term in wanted if term in cached}
        missing = [term for term in dict.fromkeys(wanted) if term not in known]
        for begin in range(0, len(missing), _IDS_PER_QUERY):
            batch = missing[begin : begin + _IDS_PER_QUERY]
            columns = ", ".join(["(select group_concat(doc) from occurrences where term = ?)"] * len(batch))
            for term, joined in zip(batch, self._db().execute(f"select {columns}", batch).fetchone(), strict=True):
                occurrences = _numbers(joined)
                rows, frequency = np.unique(occurrences[occurrences < rows_known], return_counts=True)
                known[term] = (rows, frequency.astype(np.float32))
                self._frequency.setdefault(term, len(rows))  # its document frequency: the answer step asks next
        if missing:
            if len(cached) + len(missing) > _MAX_CACHED_TERMS:
                cached.clear()
            cached.update((term, known[term]) for term in missing)
        return [known[term] for term in wanted]

    def _chunks_by_row(self, rows: list[int]) -> dict[int, StoredChunk]:
        return {int(row[0]): _chunk(row[1:]) for row in self._rows_where("row", rows)}

    def chunks_by_id(self, ids: Iterable[str]) -> dict[str, StoredChunk]:
        """The mirrored chunks among ``ids``; ids the index does not hold are simply absent."""
        return {str(row[1]): _chunk(row[1:]) for row in self._rows_where("id", list(dict.fromkeys(ids)))}

    def _rows_where(self, column: str, keys: Sequence[object]) -> Iterator[Sequence[Any]]:
        """``row`` and the chunk columns of the rows whose ``column`` is among ``keys``."""
        for begin in range(0, len(keys), _IDS_PER_QUERY):
            batch = keys[begin : begin + _IDS_PER_QUERY]
            marks = ",".join("?" * len(batch))
            yield from self._db().execute(
                f"select row, {_CHUNK_COLUMNS} from chunks where {column} in ({marks})", batch
            )

    def article(self, doc: str) -> tuple[str, tuple[int, ...]] | None:
        """An article's text and page starts, or ``None`` when the index does not hold it (yet)."""
        row = self._db().execute("select text, pages from articles where doc = ?", (doc,)).fetchone()
        return (row[0], unpack_pages(row[1])) if row else None

    def chunks_dated(self, since: str, until: str) -> list[StoredChunk]:
        """Every chunk dated within ``[since, until]``, in index order: a digest reads a window whole, where a
        search reads its top ``k``. The dates are the in-memory column BM25 filters by, so only rows in the
        window are read from disk."""
        self._changed()
        dates = self._stats().dates
        rows = np.flatnonzero((dates >= date_number(since)) & (dates <= date_number(until))).tolist()
        chunks = self._chunks_by_row(rows)
        return [chunks[row] for row in rows if row in chunks]

    def date_range(self) -> tuple[str, str] | None:
        """The oldest and newest article date in the index (``None`` when no chunk is dated)."""
        self._changed()
        dated = self._stats().dates
        dated = dated[dated > 0]
        if not len(dated):
            return None
        first, last = (f"{n // 10000:04d}-{n // 100 % 100:02d}-{n % 100:02d}" for n in (dated.min(), dated.max()))
        return first, last

    def all_chunks(self) -> list[StoredChunk]:
        """Every mirrored chunk, by article and place (for checks and tests; never on the query path)."""
        rows = self._db().execute(f"select {_CHUNK_COLUMNS} from chunks order by doc, start, id")
        return [_chunk(row) for row in rows]


def _numbers(joined: str | None) -> np.ndarray:
    """``"3,5,8"`` (SQLite's ``group_concat``) as integers."""
    return np.fromstring(joined, dtype=np.int64, sep=",") if joined else np.zeros(0, np.int64)


def _chunk(row: Sequence[Any]) -> StoredChunk:
    chunk_id, doc, title, date, start, end, text, spans, vectors, dimension, terms_text = row
    sentences = _sentences(spans, vectors, int(dimension))
    place = (str(chunk_id), str(doc), str(title), date or None, int(start), int(end))
    return StoredChunk(*place, str(text), sentences, terms_text if sentences is not None else None)


def sentence_blobs(sentences: SentenceVectors | None) -> tuple[bytes | None, bytes | None, int]:
    """A chunk's sentence vectors as stored: spans (int32 pairs), scales (float16) then rows (int8), dimension."""
    if sentences is None or not len(sentences.spans):
        return None, None, 0
    vectors = sentences.scales.astype(np.float16).tobytes() + sentences.quantised.astype(np.int8).tobytes()
    return sentences.spans.astype(np.int32).tobytes(), vectors, int(sentences.quantised.shape[1])


def sentence_terms_text(chunk: StoredChunk) -> str | None:
    """Each stored sentence's terms, a line per sentence (see :attr:`StoredChunk.sentence_terms`)."""
    if chunk.sentences is None:
        return None
    return "\n".join(" ".join(terms(chunk.text[start:end])) for start, end in chunk.sentences.spans.tolist())


def _sentences(spans: object, vectors: object, dimension: int) -> SentenceVectors | None:
    if not isinstance(spans, bytes) or not isinstance(vectors, bytes):
        return None
    pairs = np.frombuffer(spans, dtype=np.int32).reshape(-1, 2)
    count = len(pairs)
    scales = np.frombuffer(vectors[: 2 * count], dtype=np.float16)
    quantised = np.frombuffer(vectors[2 * count :], dtype=np.int8).reshape(count, dimension)
    return SentenceVectors(pairs, quantised, scales)
