"""BM25 over the same chunks as the dense index (bm25s), kept on disk beside it.

Dense retrieval misses rare names and numbers that a question shares word for word with its answer; BM25
finds exactly those. The index is built from the store's chunks after each ingest that changed something and
saved with the store's ``generation``; a process that starts, or a replica that sees the generation move,
loads or rebuilds it instead of re-tokenising per query. It also mirrors each chunk's text and place, so a
lexical hit needs no round trip to Chroma, and keeps document frequencies for idf-weighted term overlap.

On disk, :func:`lexical_folder` holds a small ``CURRENT`` pointer file (the current build's folder name and
generation) and the builds themselves. Every save writes a build folder of its own and then replaces the
pointer with ``os.replace``, so any number of processes may save at once and a reader, or a writer killed at
any point, only ever sees a complete build: the previous one or the new one.

Owns the on-disk BM25 builds; must not import chromadb (chunks come through :class:`ChunkStore`) nor the
assistant's service or adapters.
"""

from __future__ import annotations

import bisect
import json
import logging
import math
import os
import shutil
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np
from filelock import FileLock

from assistant.text.tokens import terms, terms_with_words
from index.sentence_vectors import SentenceVectors
from index.store import ChunkStore, StoredChunk, date_number

log = logging.getLogger(__name__)

FORMAT_VERSION = 3  # 3: sentence vectors as memory-mapped arrays beside the rows
SHORT_WORD = 5  # words up to this length must match whole; longer ones may differ in their last letters
BLEND_CHUNKS = 2000  # from this many chunks on, term weights are pure corpus idf
BACKGROUND_SCALE = 1.3  # puts general-English rarity (8 - Zipf frequency) on the scale of idf


@dataclass(frozen=True)
class LexicalHit:
    chunk: StoredChunk
    score: float


class LexicalIndex:
    """BM25 plus the chunk mirror and document frequencies."""

    def __init__(
        self, retriever: object, chunks: list[StoredChunk], document_frequency: dict[str, int], generation: str
    ):
        self._retriever = retriever
        self.chunks = chunks
        self.by_id = {chunk.id: chunk for chunk in chunks}
        self._df = document_frequency
        self._idf: dict[str, float] = {}
        self._sorted_terms: list[str] | None = None
        self.generation = generation
        self._date_numbers = np.array([date_number(chunk.date) for chunk in chunks], dtype=np.int64)

    @classmethod
    def build(cls, chunks: Iterable[StoredChunk], generation: str) -> LexicalIndex:
        bm25s = _bm25s()
        ordered = sorted(chunks, key=lambda chunk: (chunk.doc, chunk.start))
        tokens = [terms(chunk.text) for chunk in ordered]
        frequency: Counter[str] = Counter()
        for chunk_terms in tokens:
            frequency.update(set(chunk_terms))
        retriever = bm25s.BM25()
        if ordered:
            retriever.index(tokens, show_progress=False)
        return cls(retriever, ordered, dict(frequency), generation)

    def knows(self, word: str) -> bool:
        """Does any chunk hold ``word``? Long words match by their first letters, so "Ukrainian" finds the
        stem of "Ukraine" (a name the corpus never uses cannot be what it is about)."""
        wanted = terms(word)
        if not wanted:
            return True  # a stop word says nothing about the corpus
        if all(term in self._df for term in wanted):
            return True
        if len(word) <= SHORT_WORD:
            return False
        vocabulary = self._vocabulary()
        for prefix in (word.lower()[: max(SHORT_WORD, len(word) - 3)], wanted[0]):
            at = bisect.bisect_left(vocabulary, prefix)
            if at < len(vocabulary) and vocabulary[at].startswith(prefix):
                return True
        return False

    def _vocabulary(self) -> list[str]:
        if self._sorted_terms is None:
            self._sorted_terms = sorted(self._df)
        return self._sorted_terms

    def idf(self, term: str) -> float:
        """Smoothed inverse document frequency; unseen terms count as rare."""
        value = self._idf.get(term)
        if value is None:
            total, frequency = max(len(self.chunks), 1), self._df.get(term, 0)
            value = self._idf[term] = math.log(1.0 + (total - frequency + 0.5) / (frequency + 0.5))
        return value

    def term_weights(self, text: str) -> dict[str, float]:
        """How much each term of ``text`` says: corpus idf blended with general-English rarity.

        In a corpus of a handful of chunks, idf cannot tell "call" from "Elysée" (both are in one or two
        chunks); word frequencies of English can. The blend leans on the corpus as it grows.
        """
        from wordfreq import zipf_frequency

        share = min(1.0, len(self.chunks) / BLEND_CHUNKS)
        weights: dict[str, float] = {}
        for term, word in terms_with_words(text):
            background = BACKGROUND_SCALE * max(0.0, 8.0 - zipf_frequency(word, "en"))
            weight = share * self.idf(term) + (1.0 - share) * background
            weights[term] = max(weights.get(term, 0.0), weight)
        return weights

    def search(self, query: str, k: int, since: str | None = None, until: str | None = None) -> list[LexicalHit]:
        """Top ``k`` chunks by BM25, optionally only those dated within ``[since, until]``."""
        query_terms = terms(query)
        if not query_terms or not self.chunks or k <= 0:
            return []
        scores = np.asarray(self._retriever.get_scores(query_terms), dtype=np.float32)  # type: ignore[attr-defined]
        if since or until:
            low, high = date_number(since) if since else 1, date_number(until) if until else 99991231
            scores = scores * ((self._date_numbers >= max(low, 1)) & (self._date_numbers <= high))
        k = min(k, len(self.chunks))
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [LexicalHit(self.chunks[int(i)], float(scores[i])) for i in top if scores[i] > 0]

    # ---------------------------------------------------------------------------------- persistence
    def save(self, folder: Path) -> str:
        """Write a new build beside the current one and publish it by replacing the pointer file.

        Each save writes its own uniquely named folder, so concurrent writers never share files, and readers
        follow the pointer, which ``os.replace`` swaps in one step: a reader sees the old build or the new one,
        never a half-written one, and a writer killed at any point leaves the previous build current. Builds
        that are no longer current are removed afterwards, best effort. Returns the new build's name.
        """
        folder.mkdir(parents=True, exist_ok=True)
        partial = Path(tempfile.mkdtemp(prefix=_PARTIAL_PREFIX, dir=folder))
        try:
            self._write_files(partial)
            with FileLock(str(folder / _PUBLISH_LOCK), timeout=PUBLISH_LOCK_SECONDS):
                build = partial.rename(folder / f"{_BUILD_PREFIX}{uuid.uuid4().hex}")
                _publish(folder, build.name, self.generation)
                _remove_stale(folder, build.name)
        finally:
            shutil.rmtree(partial, ignore_errors=True)  # gone already unless writing or publishing failed
        return build.name

    def _write_files(self, target: Path) -> None:
        if self.chunks:
            self._retriever.save(str(target / "bm25"), show_progress=False)  # type: ignore[attr-defined]
        rows = [[c.id, c.doc, c.title, c.date, c.start, c.end, c.text] for c in self.chunks]
        (target / "chunks.json").write_text(json.dumps(rows, ensure_ascii=False))
        _save_sentences(target, self.chunks)
        meta = {"format": FORMAT_VERSION, "generation": self.generation, "df": self._df}
        (target / "meta.json").write_text(json.dumps(meta, ensure_ascii=False))

    @staticmethod
    def saved_generation(folder: Path) -> str | None:
        """The generation of the current build at ``folder``, read from the pointer without loading the index."""
        pointer = _read_pointer(folder)
        if pointer is not None:
            return pointer[1]
        try:  # a folder saved before builds had pointers
            return str(json.loads((folder / "meta.json").read_text())["generation"])
        except (OSError, ValueError, KeyError, TypeError):
            return None

    @classmethod
    def load(cls, folder: Path, generation: str) -> LexicalIndex | None:
        """The current build if it matches ``generation``; ``None`` (rebuild) if absent, stale or damaged.

        A writer may publish a newer build and remove this one while it is being read; the read then fails,
        the pointer has moved, and the newer build is read instead.
        """
        for _ in range(_LOAD_ATTEMPTS):
            pointer = _read_pointer(folder)
            if pointer is None and not (folder / "meta.json").is_file():
                return None  # not built here yet (a new replica): build quietly
            if pointer is not None and pointer[1] != generation:
                return None
            build = folder / pointer[0] if pointer is not None else folder  # no pointer: the old layout
            try:
                return cls._load_build(build, generation)
            except (OSError, ValueError, KeyError, IndexError, TypeError) as error:
                if _read_pointer(folder) == pointer:
                    log.warning("lexical index at %s unreadable (%s); rebuilding", build, error)
                    return None
        return None

    @classmethod
    def _load_build(cls, build: Path, generation: str) -> LexicalIndex | None:
        meta = json.loads((build / "meta.json").read_text())
        if meta.get("format") != FORMAT_VERSION or meta.get("generation") != generation:
            return None
        rows = json.loads((build / "chunks.json").read_text())
        sentences = _load_sentences(build, len(rows))
        chunks = [
            StoredChunk(r[0], r[1], r[2], r[3], int(r[4]), int(r[5]), r[6], found)
            for r, found in zip(rows, sentences, strict=True)
        ]
        retriever = _load_bm25(build / "bm25") if chunks else None
        return cls(retriever, chunks, dict(meta.get("df", {})), generation)


# The folder holds one pointer file naming the current build, the builds themselves and two lock files.
_POINTER = "CURRENT"
_STAGED_POINTER = "CURRENT.staged"
_PUBLISH_LOCK = "publish.lock"
_BUILD_LOCK = "build.lock"
_BUILD_PREFIX = "build-"
_PARTIAL_PREFIX = "partial-"
_LOAD_ATTEMPTS = 3
ABANDONED_SECONDS = 600.0  # a partial build this old belongs to a writer that was killed
PUBLISH_LOCK_SECONDS = 60.0  # publishing is a rename and a small write; waiting longer means something is stuck
BUILD_LOCK_SECONDS = 900.0  # how long a process waits for another's build of the same index before building its own


def _read_pointer(folder: Path) -> tuple[str, str] | None:
    """``(build folder name, generation)`` of the current build, or ``None`` if nothing was published."""
    try:
        pointer = json.loads((folder / _POINTER).read_text())
        return str(pointer["build"]), str(pointer["generation"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _publish(folder: Path, build: str, generation: str) -> None:
    """Point readers at ``build`` (under the publish lock): write the pointer aside, then rename it over the old."""
    staged = folder / _STAGED_POINTER
    with staged.open("w", encoding="utf-8") as handle:
        json.dump({"build": build, "generation": generation}, handle)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(staged, folder / _POINTER)


def _remove_stale(folder: Path, current: str) -> None:
    """Best effort, under the publish lock: drop builds that are no longer current, files of the old
    single-folder layout, and what killed writers left. Other writers' builds in progress are young: kept."""
    keep = {_POINTER, _PUBLISH_LOCK, _BUILD_LOCK, current}
    now = time.time()
    for entry in folder.iterdir():
        if entry.name in keep:
            continue
        try:
            if entry.name.startswith(_PARTIAL_PREFIX) and now - entry.stat().st_mtime < ABANDONED_SECONDS:
                continue
            if entry.is_dir():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)
        except OSError as error:
            log.debug("could not remove %s (%s)", entry, error)
    for sibling in (folder.with_name(folder.name + ".partial"), folder.with_name(folder.name + ".old")):
        shutil.rmtree(sibling, ignore_errors=True)  # left by the single-folder layout's swap


@contextmanager
def build_lock(folder: Path) -> Iterator[None]:
    """Held while building the index for a generation, so concurrent processes build it once: the second
    waits, then finds the build saved. Where no lock can be taken (a read-only folder, a build that takes
    too long) it goes ahead unlocked; saving stays atomic either way."""
    lock = FileLock(str(folder / _BUILD_LOCK), timeout=BUILD_LOCK_SECONDS)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        lock.acquire()
        held = True
    except OSError as error:  # filelock's Timeout is an OSError too
        log.warning("building the lexical index at %s without its lock (%s)", folder, error)
        held = False
    try:
        yield
    finally:
        if held:
            lock.release()


_SENTENCE_ARRAYS = ("offsets", "spans", "quantised", "scales")


def _save_sentences(folder: Path, chunks: list[StoredChunk]) -> None:
    """All chunks' sentence vectors as four flat arrays, so loading them is a memory map, not a parse."""
    parts = [chunk.sentences for chunk in chunks]
    counts = [len(part.spans) if part is not None else 0 for part in parts]
    dimension = next((part.quantised.shape[1] for part in parts if part is not None and len(part.spans)), 0)
    present = [part for part in parts if part is not None and len(part.spans)]
    arrays = {
        "offsets": np.concatenate([[0], np.cumsum(counts)]).astype(np.int64),
        "spans": np.concatenate([p.spans for p in present]) if present else np.zeros((0, 2), np.int32),
        "quantised": np.concatenate([p.quantised for p in present]) if present else np.zeros((0, dimension), np.int8),
        "scales": np.concatenate([p.scales for p in present]) if present else np.zeros(0, np.float16),
    }
    for name in _SENTENCE_ARRAYS:
        np.save(folder / f"sentences_{name}.npy", arrays[name])


def _load_sentences(folder: Path, count: int) -> list[SentenceVectors | None]:
    arrays = {name: np.load(folder / f"sentences_{name}.npy", mmap_mode="r") for name in _SENTENCE_ARRAYS}
    offsets = np.asarray(arrays["offsets"])
    if len(offsets) != count + 1:
        raise ValueError("sentence arrays do not match the chunks")
    return [
        SentenceVectors(arrays["spans"][begin:end], arrays["quantised"][begin:end], arrays["scales"][begin:end])
        if end > begin
        else None
        for begin, end in pairwise(offsets)
    ]


def _bm25s() -> Any:
    """bm25s, imported on first use; importing it sets its logger to DEBUG (every build would print a line
    under a one-line CLI error), so its level is set back here, after the import, not before."""
    import bm25s

    logging.getLogger("bm25s").setLevel(logging.WARNING)
    return bm25s


def _load_bm25(folder: Path) -> object:
    return _bm25s().BM25.load(str(folder), show_progress=False)


def lexical_folder(index_dir: Path) -> Path:
    """Where the lexical builds and the pointer to the current one live, inside the index folder."""
    return index_dir / "lexical"


def load_or_build(store: ChunkStore, folder: Path) -> LexicalIndex:
    """The lexical index for the store's current generation: loaded if saved, else built and saved."""
    generation = store.generation
    loaded = LexicalIndex.load(folder, generation)
    if loaded is not None:
        return loaded
    with build_lock(folder):
        loaded = LexicalIndex.load(folder, generation)  # another process may have built it while we waited
        if loaded is not None:
            return loaded
        log.info("building the lexical index from the store's chunks")
        built = LexicalIndex.build(store.iter_chunks(), generation)
        try:
            built.save(folder)
        except OSError as error:  # a read-only index folder still serves, it just rebuilds next start
            log.warning("could not save the lexical index at %s (%s)", folder, error)
    return built


def save_unless_current(folder: Path, generation: str, chunks: Callable[[], Iterable[StoredChunk]]) -> bool:
    """Build from ``chunks()`` and save, unless a build of ``generation`` is already current (then ``False``).

    Writers that finish the same generation at once build it once: the lock makes the second wait and skip.
    """
    if LexicalIndex.saved_generation(folder) == generation:
        return False
    with build_lock(folder):
        if LexicalIndex.saved_generation(folder) == generation:
            return False
        LexicalIndex.build(chunks(), generation).save(folder)
    return True
