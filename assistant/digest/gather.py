"""Every quotable sentence of the briefings dated in a window, with the vector the index stored for it.

A digest reads a window whole (a week of news is a few thousand sentences), so sentences come from the lexical
index's chunk mirror with the per-sentence vectors ingest pooled (:mod:`index.sentence_vectors`): no sentence
is embedded again unless the index holds no vector for it. Offsets are article offsets, since a chunk's text
is exactly ``article[start:end]``, so every quote can be checked against the file.

Owns: which sentences may become digest items (not the title line, not datelines or fragments, not run-ons)
and each one's place in its article (0 = the lead). Must not score, merge or order them (``select``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np

from assistant.text.sentences import chunk_sentence_spans
from index.store import StoredChunk

MIN_WORDS = 6  # shorter lines are datelines, bylines and captions ("Tainan, Taiwan CNN —"), not facts
MAX_WORDS = 70  # longer "sentences" are run-on lists or tables a reader cannot take in as one item
TITLE_PREFIX = 40  # characters of the title enough to recognise the title line among the sentences
_WORD = re.compile(r"\w+")
_NOT_NEWS = re.compile(
    r"\s*(?:clarification|correction|editor'?s note|related|more|read more|watch)\s*:", re.IGNORECASE
)


@dataclass(frozen=True)
class Sentence:
    """A candidate quote: where it is, what it says, and its place among its article's sentences."""

    doc: str
    title: str
    date: str | None
    start: int
    end: int
    text: str
    position: int
    terms: frozenset[str] | None


@dataclass(frozen=True)
class Pool:
    """The window's sentences grouped by article (each article's sentences contiguous, in text order), with one
    unit vector per sentence (rows of ``vectors``) and where each article's rows begin."""

    sentences: list[Sentence]
    vectors: np.ndarray
    doc_starts: np.ndarray
    doc_of: np.ndarray  # per sentence, the index of its article among doc_starts

    @property
    def docs(self) -> int:
        return len(self.doc_starts)

    def leads(self, count: int) -> np.ndarray:
        """Rows of each article's first ``count`` sentences."""
        return np.array([i for i, sentence in enumerate(self.sentences) if sentence.position < count], dtype=np.int64)


Embed = Callable[[Sequence[str]], np.ndarray]


def pool_of(chunks: list[StoredChunk], embed: Embed) -> Pool:
    """The sentences of ``chunks`` that could be digest items, with their vectors (``embed`` only for sentences
    stored without one, e.g. an index built before vectors were stored)."""
    sentences: list[Sentence] = []
    vectors: list[np.ndarray | None] = []
    seen: set[tuple[str, int]] = set()
    positions: dict[str, int] = {}
    for chunk in sorted(chunks, key=lambda chunk: (chunk.doc, chunk.start)):
        for sentence, vector in _sentences_of(chunk):
            if (sentence.doc, sentence.start) in seen:  # neighbouring chunks overlap
                continue
            seen.add((sentence.doc, sentence.start))
            position = positions.get(sentence.doc, 0)
            positions[sentence.doc] = position + 1
            sentences.append(replace(sentence, position=position))
            vectors.append(vector)
    matrix = _vectors(sentences, vectors, embed)
    starts = [i for i, sentence in enumerate(sentences) if i == 0 or sentences[i - 1].doc != sentence.doc]
    first = np.zeros(len(sentences), dtype=np.int64)
    first[starts] = 1
    doc_of = np.cumsum(first) - 1
    return Pool(sentences, matrix, np.array(starts, dtype=np.int64), doc_of)


def _sentences_of(chunk: StoredChunk) -> list[tuple[Sentence, np.ndarray | None]]:
    stored = chunk.sentences
    if stored is not None:
        spans = [(chunk.start + int(start), chunk.start + int(end)) for start, end in stored.spans.tolist()]
        rows: list[np.ndarray | None] = [row if row.any() else None for row in stored.vectors]
        lines = chunk.sentence_terms.split("\n") if chunk.sentence_terms is not None else None
        terms = lines if lines is not None and len(lines) == len(spans) else None
    else:
        spans = [(span.start, span.end) for span in chunk_sentence_spans(chunk.text, offset=chunk.start)]
        rows, terms = [None] * len(spans), None
    found = []
    for index, (start, end) in enumerate(spans):
        text = chunk.text[start - chunk.start : end - chunk.start]
        words = len(_WORD.findall(text))
        if words < MIN_WORDS or words > MAX_WORDS or (index == 0 and _is_title(chunk, start, end)):
            continue
        if text.rstrip().endswith("?") or _NOT_NEWS.match(text):  # a teaser or an editor's note, not a fact
            continue
        sentence_terms = frozenset(terms[index].split()) if terms is not None else None
        sentence = Sentence(chunk.doc, chunk.title, chunk.date, start, end, text, 0, sentence_terms)
        found.append((sentence, rows[index]))
    return found


def _is_title(chunk: StoredChunk, start: int, end: int) -> bool:
    """The article's title on a line of its own: a heading, not a fact. (A briefing whose first line is its
    first sentence, title and all, keeps it: that sentence is its lead.)"""
    if chunk.start > 1 or not chunk.title:  # 1: a byte-order mark before the text
        return False
    line_ends = end - chunk.start >= len(chunk.text) or chunk.text[end - chunk.start] in "\r\n"
    title = " ".join(chunk.title.rstrip("…. ").split())[:TITLE_PREFIX]
    return line_ends and " ".join(chunk.text[start - chunk.start : end - chunk.start].split()).startswith(title)


def _vectors(sentences: list[Sentence], rows: list[np.ndarray | None], embed: Embed) -> np.ndarray:
    if not sentences:
        return np.zeros((0, 1), dtype=np.float32)
    missing = [i for i, row in enumerate(rows) if row is None]
    if missing:
        for i, vector in zip(missing, embed([sentences[i].text for i in missing]), strict=True):
            rows[i] = vector
    matrix = np.vstack([row for row in rows if row is not None]).astype(np.float32)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.where(norms > 0, norms, 1.0)
