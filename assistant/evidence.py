"""Evidence selection: which sentence of the retrieved passages answers the question.

Every sentence overlapping a top passage competes, cut from the stored article text so that a quote is
always a whole sentence with exact offsets. Each is scored on five signals that fail in different ways:

* ``semantic`` — cosine between question and sentence embeddings: paraphrase, but blind to specifics;
* ``lexical`` — the idf-weighted share of the question's terms the sentence contains: specifics;
* ``context`` — the same share over the sentence's passage: the sentence may say "it" for a named thing;
* ``typed`` — whether the sentence holds the kind of thing asked for (a duration for "how long") that the
  question does not already contain;
* ``prior`` — how highly retrieval ranked its passage.

The weights were fitted on the development questions (see the README's quality section); the combined score
is also the answer's confidence, which decides abstention.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from threading import Lock

import numpy as np

from assistant.answer_types import Found, QuestionShape, find_typed
from assistant.retrieval import Passage
from index.embedding import Embedder
from index.lexical import LexicalIndex, terms
from index.sentences import Span, sentence_spans

WEIGHTS = {"semantic": 1.0, "lexical": 0.6, "context": 0.2, "typed": 0.25, "prior": 0.15, "heading": -0.1}
MAX_SENTENCE_CHARS = 600


@dataclass
class Candidate:
    """A sentence competing to answer, with the signals that scored it."""

    doc: str
    title: str
    date: str | None
    span: Span
    text: str
    passage_rank: int
    typed: list[Found] = field(default_factory=list)
    signals: dict[str, float] = field(default_factory=dict)
    score: float = 0.0


class ArticleTexts:
    """Article texts and their sentence spans, fetched from the store once and kept in an LRU cache."""

    def __init__(self, fetch: Callable[[str], str | None], size: int = 512) -> None:
        self._fetch = fetch
        self._size = size
        self._cache: OrderedDict[str, tuple[str, list[Span]]] = OrderedDict()
        self._lock = Lock()

    def get(self, doc: str) -> tuple[str, list[Span]] | None:
        with self._lock:
            if doc in self._cache:
                self._cache.move_to_end(doc)
                return self._cache[doc]
        text = self._fetch(doc)
        if text is None:
            return None
        entry = (text, sentence_spans(text))
        with self._lock:
            self._cache[doc] = entry
            while len(self._cache) > self._size:
                self._cache.popitem(last=False)
        return entry

    def text(self, doc: str) -> str | None:
        entry = self.get(doc)
        return entry[0] if entry else None

    def forget(self, docs: set[str] | None = None) -> None:
        """Drop cached texts (after an ingest changed them)."""
        with self._lock:
            if docs is None:
                self._cache.clear()
            for doc in docs or ():
                self._cache.pop(doc, None)


def gather(passages: list[Passage], articles: ArticleTexts, limit: int) -> list[Candidate]:
    """Sentences overlapping the top ``limit`` passages, each once, in passage order."""
    seen: set[tuple[str, int]] = set()
    candidates: list[Candidate] = []
    for rank, passage in enumerate(passages[:limit]):
        chunk = passage.chunk
        entry = articles.get(chunk.doc)
        if entry is None:
            continue
        text, spans = entry
        for span in spans:
            if span.end <= chunk.start or span.start >= chunk.end or (chunk.doc, span.start) in seen:
                continue
            seen.add((chunk.doc, span.start))
            sentence = text[span.start : span.end]
            if len(sentence) > MAX_SENTENCE_CHARS or not re.search(r"\w", sentence):
                continue
            candidates.append(Candidate(chunk.doc, chunk.title, chunk.date, span, sentence, rank))
    return candidates


def score(
    candidates: list[Candidate],
    question: str,
    query: str,
    shape: QuestionShape,
    embedder: Embedder,
    lexical: LexicalIndex,
) -> list[Candidate]:
    """Score every candidate and return them best first."""
    if not candidates:
        return []
    query_terms = set(terms(query))
    question_words = {word.lower() for word in re.findall(r"\w+", question)}
    semantic = _semantic(candidates, query, embedder)
    passage_terms: dict[int, set[str]] = {}
    for index, candidate in enumerate(candidates):
        sentence_terms = set(terms(candidate.text))
        context = passage_terms.setdefault(candidate.passage_rank, set())
        context |= sentence_terms
        candidate.typed = _new_information(candidate.text, find_typed(candidate.text, shape.kind, shape.head), question_words)
        candidate.signals = {
            "semantic": float(semantic[index]),
            "lexical": _coverage(query_terms, sentence_terms, lexical),
            "typed": 1.0 if candidate.typed else 0.0,
            "prior": 1.0 / (1.0 + candidate.passage_rank),
            "heading": 1.0 if _is_heading(candidate.text) else 0.0,
        }
    for candidate in candidates:
        candidate.signals["context"] = _coverage(query_terms, passage_terms[candidate.passage_rank], lexical)
        if shape.kind.value == "other":
            candidate.signals["typed"] = 0.5  # nothing to look for: neutral for every sentence
        candidate.score = sum(WEIGHTS[name] * value for name, value in candidate.signals.items())
    return sorted(candidates, key=lambda candidate: candidate.score, reverse=True)


def _semantic(candidates: list[Candidate], query: str, embedder: Embedder) -> np.ndarray:
    vectors = embedder.embed_documents([candidate.text for candidate in candidates], batch_size=64)
    return vectors @ embedder.embed_query(query)


def _coverage(query_terms: set[str], sentence_terms: set[str], lexical: LexicalIndex) -> float:
    """Share of the question's information (idf mass) that the text repeats."""
    if not query_terms:
        return 0.0
    total = sum(lexical.idf(term) for term in query_terms)
    shared = sum(lexical.idf(term) for term in query_terms & sentence_terms)
    return shared / total if total else 0.0


def _new_information(sentence: str, found: list[Found], question_words: set[str]) -> list[Found]:
    """Typed spans the question does not already contain ("Putin" cannot answer "what did Putin say")."""
    kept = []
    for span in found:
        words = {word.lower() for word in re.findall(r"\w+", span.text(sentence))} - {"the", "a", "an", "of"}
        if words and not words <= question_words:
            kept.append(span)
    return kept


def _is_heading(sentence: str) -> bool:
    """A short line without final punctuation is a heading: it repeats what a full sentence says better."""
    return len(sentence) < 90 and not sentence.rstrip().endswith((".", "!", "?", "\"", "”", "'", "’", ")"))
