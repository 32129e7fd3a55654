"""BM25 over the same chunks as the dense index (bm25s), kept on disk beside it.

Dense retrieval misses rare names and numbers that a question shares word for word with its answer; BM25
finds exactly those. The index is built from the store's chunks after each ingest that changed something and
saved with the store's ``generation``; a process that starts, or a replica that sees the generation move,
loads or rebuilds it instead of re-tokenising per query. It also mirrors each chunk's text and place, so a
lexical hit needs no round trip to Chroma, and keeps document frequencies for idf-weighted term overlap.
"""

from __future__ import annotations

import bisect
import json
import logging
import math
import re
import shutil
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from itertools import pairwise
from pathlib import Path

import numpy as np

from index.sentence_vectors import SentenceVectors
from index.store import ChunkStore, StoredChunk, date_number

log = logging.getLogger(__name__)
logging.getLogger("bm25s").setLevel(logging.WARNING)  # it logs every index build at DEBUG

FORMAT_VERSION = 3  # 3: sentence vectors as memory-mapped arrays beside the rows
SHORT_WORD = 5  # words up to this length must match whole; longer ones may differ in their last letters
BLEND_CHUNKS = 2000  # from this many chunks on, term weights are pure corpus idf
BACKGROUND_SCALE = 1.3  # puts general-English rarity (8 - Zipf frequency) on the scale of idf
_WORD = re.compile(r"[0-9]+(?:[.,][0-9]+)*|[^\W\d_]+(?:['’][^\W\d_]+)?", re.UNICODE)
# A short list on purpose: question words such as "who" and "when" carry no content, but "first" or
# "last" often do, so the aggressive lists of IR toolkits are not used.
STOPWORDS = frozenset(
    """a an the and or but if of at by for with about against between into through during before after
    above below to from up down in out on off over under again further then once here there all any both each
    few more most other some such no nor not only own same so than too very s t can will just don should now
    is are was were be been being have has had having do does did doing i me my we our you your he him his she
    her it its they them their what which who whom whose this that these those am would could might must shall
    how when where why as also into onto per via said says according""".split()
)


@lru_cache(maxsize=1)
def _stemmer():  # type: ignore[no-untyped-def]
    import Stemmer

    return Stemmer.Stemmer("english")


@lru_cache(maxsize=65536)
def sentence_terms(text: str) -> frozenset[str]:
    """The set of :func:`terms` of a sentence, cached: the same sentences come back question after question."""
    return frozenset(terms(text))


def _content_words(text: str) -> list[tuple[str, int]]:
    """Lower-cased words that are not stop words, with where each starts in ``text``."""
    words = ((match.group().lower().replace("’", "'"), match.start()) for match in _WORD.finditer(text))
    return [(word, start) for word, start in words if word not in STOPWORDS]


def terms(text: str) -> list[str]:
    """Lower-cased, stop-word-free, Snowball-stemmed words: the unit of BM25 and of term overlap."""
    return list(_stemmer().stemWords([word for word, _ in _content_words(text)]))


def terms_with_words(text: str) -> list[tuple[str, str]]:
    """``(term, word)`` pairs: the stemmed term and the word it came from (for general-English rarity)."""
    words = [word for word, _ in _content_words(text)]
    return list(zip(_stemmer().stemWords(words), words, strict=True))


def term_positions(text: str) -> list[tuple[str, int]]:
    """Each content word's term and where it starts, for locating question words inside a sentence."""
    found = _content_words(text)
    stems = _stemmer().stemWords([word for word, _ in found])
    return [(stem, start) for stem, (_, start) in zip(stems, found, strict=True)]


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
        import bm25s

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
    def save(self, folder: Path) -> None:
        """Write to a sibling folder and swap it in, so readers never see half an index."""
        partial = folder.with_name(folder.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True)
        if self.chunks:
            self._retriever.save(str(partial / "bm25"), show_progress=False)  # type: ignore[attr-defined]
        rows = [[c.id, c.doc, c.title, c.date, c.start, c.end, c.text] for c in self.chunks]
        (partial / "chunks.json").write_text(json.dumps(rows, ensure_ascii=False))
        _save_sentences(partial, self.chunks)
        meta = {"format": FORMAT_VERSION, "generation": self.generation, "df": self._df}
        (partial / "meta.json").write_text(json.dumps(meta, ensure_ascii=False))
        (partial / "generation").write_text(self.generation)
        backup = folder.with_name(folder.name + ".old")
        shutil.rmtree(backup, ignore_errors=True)
        if folder.exists():
            folder.rename(backup)
        partial.rename(folder)
        shutil.rmtree(backup, ignore_errors=True)

    @staticmethod
    def saved_generation(folder: Path) -> str | None:
        """The generation saved at ``folder``, read without loading the index."""
        try:
            return (folder / "generation").read_text().strip()
        except OSError:
            return None

    @classmethod
    def load(cls, folder: Path, generation: str) -> LexicalIndex | None:
        """The saved index if it matches ``generation``; ``None`` (rebuild) if absent, stale or damaged."""
        if not (folder / "meta.json").is_file():
            return None  # not built here yet (a new replica): build quietly
        try:
            meta = json.loads((folder / "meta.json").read_text())
            if meta.get("format") != FORMAT_VERSION or meta.get("generation") != generation:
                return None
            rows = json.loads((folder / "chunks.json").read_text())
            sentences = _load_sentences(folder, len(rows))
            chunks = [
                StoredChunk(r[0], r[1], r[2], r[3], int(r[4]), int(r[5]), r[6], found)
                for r, found in zip(rows, sentences, strict=True)
            ]
            retriever = _load_bm25(folder / "bm25") if chunks else None
        except (OSError, ValueError, KeyError, IndexError, TypeError) as error:
            log.warning("lexical index at %s unreadable (%s); rebuilding", folder, error)
            return None
        return cls(retriever, chunks, dict(meta.get("df", {})), generation)


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


def _load_bm25(folder: Path) -> object:
    import bm25s

    return bm25s.BM25.load(str(folder), show_progress=False)


def lexical_folder(index_dir: Path) -> Path:
    return index_dir / "lexical"


def load_or_build(store: ChunkStore, folder: Path) -> LexicalIndex:
    """The lexical index for the store's current generation: loaded if saved, else built and saved."""
    generation = store.generation
    loaded = LexicalIndex.load(folder, generation)
    if loaded is not None:
        return loaded
    log.info("building the lexical index from the store's chunks")
    built = LexicalIndex.build(store.iter_chunks(), generation)
    try:
        built.save(folder)
    except OSError as error:  # a read-only index folder still serves, it just rebuilds next start
        log.warning("could not save the lexical index at %s (%s)", folder, error)
    return built
