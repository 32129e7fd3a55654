"""The incremental pipeline: files -> articles -> chunks -> vectors -> Chroma and the lexical index.

Each article's recorded hash covers its bytes *and* the chunking settings, so unchanged files are skipped
and a change of settings re-chunks everything. Changed articles are rewritten in three steps — mark pending,
replace all their chunks, record the new hash — so a crash or kill at any point is repaired by the next run:
a pending or stale article is simply redone, and chunk ids are deterministic, so nothing is duplicated.
Each group written to Chroma is written to the lexical index next, and the run ends with a sync of the
lexical index against the store (:mod:`index.lexical_sync`), which repairs whatever a kill left between the
two. A marker file beside the index says writes are under way; a run that finds one left by a killed run
moves the generation even if nothing is left to write, so every reader syncs again.
A file lock keeps two ingests from writing to one index at once.

Every path is discovered and every article loaded before anything is written: a mistyped path
(:class:`CorpusNotFound`) or a folder with nothing loadable (:class:`EmptyCorpus`) leaves the index as it
was. Only then does ``rebuild`` build a new index from ``paths``, into staging collections beside the live
ones, which keep answering until every article is written and the store swaps the new ones in (see
:mod:`index.store_staging`); the lexical index is left alone until the swap, then synced with the new ones.
A rebuild that fails or is killed before the swap leaves the old index exactly as it was;
killed during the swap, it is finished by the next process that opens the index; either way the index opens
and answers after a kill at any point. An embedded database that cannot be opened is moved aside, not
deleted, so ``--rebuild`` is always the way out of a damaged index. ``prune`` is scoped to
``paths``: it removes an article only when its recorded source file lies under one of the folders given (or
is one of the files given) and no longer loads as an article there (deleted, moved away, hidden, emptied).
Articles from other folders, uploads and articles without a recorded source are never pruned; an unchanged
article read from a new place records that place as its source.

Owns the order of writes; must not import chromadb (it writes through :class:`ChunkStore`) nor the
assistant's service or adapters.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from filelock import FileLock, Timeout

from assistant.text.sentences import chunk_sentence_spans
from index.articles import ARTICLE_SUFFIXES, Article, Rejected, SourceFile, discover, load_articles
from index.chunking import DEFAULT_CHUNK_OVERLAP, DEFAULT_CHUNK_SIZE, Chunk, chunk_article
from index.embedding import Embedder
from index.errors import EmptyCorpus, IndexLocked
from index.lexical import lexical_folder
from index.lexical_sync import LexicalWriter, doc_state
from index.sentence_vectors import SPANS_KEY, VECTORS_KEY, pack, unpack
from index.store import PENDING, ArticleRecord, ChunkStore, StoredChunk, StoreLocation

log = logging.getLogger(__name__)

# 2: chunks carry per-sentence vectors; 3: text as a reader's open() sees it (CRLF files re-indexed), absolute source
CHUNKER_VERSION = "3"
GROUP_CHUNKS = 512  # chunks embedded and written together: big enough to batch, small enough to lose little
UNFINISHED_MARKER = "ingest.unfinished"  # present in the index folder while an ingest's writes are under way


@dataclass(frozen=True)
class ChunkingSettings:
    size: int = DEFAULT_CHUNK_SIZE
    overlap: int = DEFAULT_CHUNK_OVERLAP

    def signature(self) -> str:
        return f"chunker{CHUNKER_VERSION}:{self.size}:{self.overlap}"


@dataclass
class IngestReport:
    """What an ingest did, for the summary line and the benchmark."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    chunks: int = 0
    chars: int = 0
    seconds: float = 0.0
    skipped: list[Rejected] = field(default_factory=list)
    lossy: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.removed)


ProgressFactory = Callable[[int, str], "Progress"]


class Progress:
    """A minimal progress sink; the CLI passes a tqdm-backed one, tests and the UI a silent one."""

    def update(self, amount: int) -> None:
        pass

    def close(self) -> None:
        pass


def silent_progress(total: int, label: str) -> Progress:
    return Progress()


def ingest(
    paths: Sequence[Path],
    location: StoreLocation,
    embedder: Embedder,
    chunking: ChunkingSettings = ChunkingSettings(),
    prune: bool = False,
    progress: ProgressFactory = silent_progress,
    rebuild: bool = False,
) -> IngestReport:
    """Bring the index in line with ``paths``; see the module docstring for the guarantees.

    ``prune`` drops articles whose files are gone from ``paths``; ``rebuild`` replaces the whole index with
    ``paths``, once they are known to hold articles and all of them are written.
    """
    started = time.perf_counter()
    with writing_lock(location):
        report = _ingest_locked(paths, location, embedder, chunking, prune, rebuild, progress)
    report.seconds = time.perf_counter() - started
    return report


@contextmanager
def writing_lock(location: StoreLocation) -> Iterator[None]:
    """The one writer of an index at a time: ingest, upload and removal all take it, and none of them waits."""
    location.index_dir.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(location.index_dir / "ingest.lock"))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        raise IndexLocked(f"Another ingest is writing to {location.describe()}: wait for it to finish") from None
    try:
        yield
    finally:
        lock.release()


def _ingest_locked(
    paths: Sequence[Path],
    location: StoreLocation,
    embedder: Embedder,
    chunking: ChunkingSettings,
    prune: bool,
    rebuild: bool,
    progress: ProgressFactory,
) -> IngestReport:
    report = IngestReport()
    articles = _load_all(paths, report, progress)  # raises before anything is written or dropped
    unfinished = location.index_dir / UNFINISHED_MARKER
    if rebuild:
        store = ChunkStore.start_rebuild(location, embedder)
    else:
        store = ChunkStore.open(location, embedder, create=True)
    records = store.article_records()
    signature = chunking.signature()
    fresh = {article.id: _state_hash(article, signature) for article in articles}
    work = [article for article in articles if _needs_writing(records.get(article.id), fresh[article.id])]
    gone = sorted({*(vanished(records, paths, articles) if prune else []), *dropped_attachments(records, articles)})
    _count(report, articles, work, records)
    if (work or gone) and not rebuild:  # a rebuild's writes are invisible until its swap moves the generation
        unfinished.touch()
    lexical = LexicalWriter(lexical_folder(location.index_dir))
    _write(store, work, fresh, embedder, chunking, progress, report, None if rebuild else lexical)
    _record_moved_sources(store, articles, records, fresh)
    store.delete_articles(gone)
    lexical.delete(gone)
    report.removed = len(gone)
    if rebuild or report.changed or unfinished.exists():
        store.bump_generation()
    if rebuild:
        store.finish_rebuild()
    lexical.sync(store)
    unfinished.unlink(missing_ok=True)
    return report


def _count(
    report: IngestReport, articles: list[Article], work: list[Article], records: dict[str, ArticleRecord]
) -> None:
    report.unchanged = len(articles) - len(work)
    for article in work:
        if article.id in records and records[article.id].content_hash != PENDING:
            report.updated += 1
        else:
            report.added += 1


def vanished(records: dict[str, ArticleRecord], paths: Sequence[Path], articles: list[Article]) -> list[str]:
    """Articles ``prune`` may drop: recorded from a file under ``paths`` that no longer loads as an article.

    Scoping by the recorded absolute source is what keeps ``ingest one.txt --prune`` from dropping every other
    article, and a prune of one folder from touching another folder's articles or uploads. Records without a
    source (indexes built before sources were kept) cannot be placed, so they are kept.
    """
    roots = [path.resolve() for path in paths]
    loaded_ids = {article.id for article in articles}
    loaded_sources = {article.source for article in articles}
    gone = []
    for doc, record in records.items():
        if not record.source or doc in loaded_ids or record.source in loaded_sources:
            continue
        source = Path(record.source)
        if any(source.is_relative_to(root) for root in roots):
            gone.append(doc)
    return sorted(gone)


def dropped_attachments(records: dict[str, ArticleRecord], articles: list[Article]) -> list[str]:
    """Attachments an e-mail no longer carries: its file was read again and they did not come with it."""
    loaded_ids = {article.id for article in articles}
    return [doc for doc, record in records.items() if record.parent in loaded_ids and doc not in loaded_ids]


def _record_moved_sources(
    store: ChunkStore, articles: list[Article], records: dict[str, ArticleRecord], fresh: dict[str, str]
) -> None:
    """An unchanged article now read from another file gets that file as its source (its chunks stay), so
    the source stays where the article can be read and where a later prune looks for it."""
    moved = [
        article
        for article in articles
        if (record := records.get(article.id)) is not None
        and record.content_hash == fresh[article.id]
        and record.source != article.source
    ]
    if moved:
        store.commit_articles(moved, [fresh[a.id] for a in moved], [records[a.id].chunks for a in moved])


def _load_all(paths: Sequence[Path], report: IngestReport, progress: ProgressFactory) -> list[Article]:
    sources, rejected = discover(paths)
    report.skipped.extend(rejected)
    articles: dict[str, Article] = {}
    bar = progress(len(sources), "Reading files")  # PDFs and Word files take a moment each to extract
    try:
        loaded_files = [_loaded(source, bar) for source in sources]
    finally:
        bar.close()
    for loaded, rejected in loaded_files:
        report.skipped.extend(rejected)
        for article in loaded:
            if article.lossy:
                report.lossy.append(article.source)
            if article.id in articles:
                log.warning("two files have the id %s; keeping %s", article.id, article.source)
            articles[article.id] = article
    if not articles:
        where = ", ".join(str(path) for path in paths)
        kinds = ", ".join(sorted(ARTICLE_SUFFIXES))
        raise EmptyCorpus(f"No loadable articles ({kinds}) under {where}")
    return list(articles.values())


def _loaded(source: SourceFile, bar: Progress) -> tuple[list[Article], list[Rejected]]:
    loaded = load_articles(source)
    bar.update(1)
    return loaded


def _state_hash(article: Article, signature: str) -> str:
    return hashlib.sha256(f"{article.content_hash}:{signature}".encode()).hexdigest()


def _needs_writing(record: ArticleRecord | None, state: str) -> bool:
    return record is None or record.content_hash != state


def _write(
    store: ChunkStore,
    work: list[Article],
    fresh: dict[str, str],
    embedder: Embedder,
    chunking: ChunkingSettings,
    progress: ProgressFactory,
    report: IngestReport,
    lexical: LexicalWriter | None,
) -> None:
    """Embed and write ``work`` group by group: Chroma first (mark pending, replace, commit), then ``lexical``
    (``None`` while a rebuild writes to collections nobody reads yet)."""
    chunked = [(article, chunk_article(article, chunking.size, chunking.overlap)) for article in work]
    total = sum(len(chunks) for _, chunks in chunked)
    bar = progress(total, "Embedding chunks")
    try:
        for group in _groups(chunked):
            group_articles = [article for article, _ in group]
            chunks = [chunk for _, article_chunks in group for chunk in article_chunks]
            vectors, sentences = _embed(chunks, embedder, bar.update)
            store.mark_pending(group_articles)
            store.delete_chunks_of(article.id for article in group_articles)
            store.add_chunks(chunks, vectors, sentences)
            store.commit_articles(group_articles, [fresh[a.id] for a in group_articles], [len(c) for _, c in group])
            if lexical is not None:
                states = {article.id: doc_state(fresh[article.id], store.embedding_model) for article in group_articles}
                texts = {article.id: (article.text, article.pages) for article in group_articles}
                lexical.replace(_stored_chunks(chunks, sentences), states, texts)
            report.chunks += len(chunks)
            report.chars += sum(len(article.text) for article in group_articles)
    finally:
        bar.close()


def _embed(
    chunks: list[Chunk], embedder: Embedder, progress: Callable[[int], None]
) -> tuple[np.ndarray, list[dict[str, str]]]:
    """Chunk vectors, and every chunk's sentences packed with their own vectors from the same pass."""
    texts = [embedding_text(chunk) for chunk in chunks]
    relative = [
        [(span.start - chunk.start, span.end - chunk.start) for span in chunk_sentence_spans(chunk.text, chunk.start)]
        for chunk in chunks
    ]
    shifted = [
        [(start + len(text) - len(chunk.text), end + len(text) - len(chunk.text)) for start, end in spans]
        for text, chunk, spans in zip(texts, chunks, relative, strict=True)
    ]
    vectors, pooled = embedder.embed_with_sentences(texts, shifted, progress=progress)
    return vectors, [pack(spans, rows) for spans, rows in zip(relative, pooled, strict=True)]


def embedding_text(chunk: Chunk) -> str:
    """What the embedder sees: the article title gives a mid-article chunk the context it lacks."""
    if chunk.position == 0 or not chunk.title:
        return chunk.text
    return f"{chunk.title}\n{chunk.text}"


def _groups(chunked: list[tuple[Article, list[Chunk]]]) -> Iterator[list[tuple[Article, list[Chunk]]]]:
    group: list[tuple[Article, list[Chunk]]] = []
    size = 0
    for item in chunked:
        group.append(item)
        size += len(item[1])
        if size >= GROUP_CHUNKS:
            yield group
            group, size = [], 0
    if group:
        yield group


def _stored_chunks(chunks: list[Chunk], sentences: list[dict[str, str]]) -> list[StoredChunk]:
    """The chunks as the store reads them back, sentence vectors included (for the lexical index)."""
    return [
        StoredChunk(c.id, c.doc, c.title, c.date, c.start, c.end, c.text, unpack(s[SPANS_KEY], s[VECTORS_KEY]))
        for c, s in zip(chunks, sentences, strict=True)
    ]
