"""Evidence selection: which sentence of the retrieved passages answers the question.

Every sentence overlapping a top passage competes, cut from the stored article text so that a quote is
always a whole sentence with exact offsets. Each is described by signals that fail in different ways, and a
linear model over them (weights in :mod:`assistant.answer.confidence`, fitted on question sets by ``briefings tune``)
ranks them:

* ``lexical`` — the idf-weighted share of the question's terms the sentence repeats: specifics (a sentence
  saying "he" or "they" counts the question's names its passage mentions, as the person it refers to);
* ``context`` — the same share over the sentence's passage: the sentence may say "he" for a named person;
* ``typed`` / ``named`` — the sentence holds the kind of thing asked for that the question does not already
  contain: a duration, date or amount found by patterns (reliable), or a capitalised name for who/where/which
  questions (weaker);
* ``dense``, ``bm25``, ``fused``, ``prior`` — how strongly and how highly retrieval ranked its passage;
* ``lead`` — news puts the essentials first (inverted pyramid), so early sentences carry more, when they
  share a content word and not only names with the question;
* ``semantic`` — cosine between question and sentence embeddings: paraphrase ("started" ~ "initiated");
* ``heading`` — a short line without a full stop repeats what a full sentence says better;
* ``recent`` — only when the question itself asks about the recent ("this week", "now", "latest"): how close
  the article's date is to the newest retrieved article.

It owns candidate sentences, their signals and scores, and :class:`ArticleTexts` (the stored article texts
quotes are cut from). Must not decide the answer or abstain (:mod:`assistant.answer.extractive` does), read
article files from disk (texts come from the store) or import ``llm/`` or adapters.
"""

from __future__ import annotations

import math
import re
from collections import OrderedDict
from collections.abc import Callable, Sequence, Set
from dataclasses import dataclass, field
from datetime import date
from threading import Lock

import numpy as np

from assistant.answer.confidence import Weights
from assistant.answer.shapes import Found, Kind, QuestionShape, find_typed
from assistant.answer.support import question_names, with_referents
from assistant.text.sentences import Span, chunk_sentence_spans, sentence_spans
from assistant.text.tokens import sentence_terms as cached_terms
from assistant.text.tokens import terms as article_terms
from assistant.types import Passage
from index.articles import body_without_date
from index.embedding import Embedder
from index.lexical import LexicalIndex
from index.store import StoredChunk

MAX_SENTENCE_CHARS = 600
# Sentence positions are counted within a chunk; a chunk that starts this far into its article does not hold
# the lead, so its sentences count as coming after the first few.
LEAD_CHARS = 300
LEAD_OFFSET = 5
TITLE_PREFIX = 40  # characters of a title enough to tell whether the text opens with it
RECENCY_DAYS = 30.0
CARRIED_TERM_SHARE = 0.35
SEMANTIC_ENCODE_LIMIT = 8  # sentences encoded at query time when the index stored no vector for them
REPEAT_PENALTY = 2.0
PATTERN_KINDS = frozenset({Kind.DURATION, Kind.DATE, Kind.QUANTITY})
NAME_KINDS = frozenset({Kind.PERSON, Kind.PLACE, Kind.ENTITY})
_RECENCY_CUE = re.compile(
    r"\b(?:this (?:week|month|year|weekend)|last (?:week|weekend|month|night)|recent(?:ly)?|now|nowadays|latest|"
    r"new|newly|current(?:ly)?|today|yesterday|tonight|so far|(?:on|last) (?:monday|tuesday|wednesday|thursday|"
    r"friday|saturday|sunday))\b",
    re.IGNORECASE,
)


@dataclass
class Candidate:
    """A sentence competing to answer, with the signals that scored it."""

    doc: str
    title: str
    date: str | None
    span: Span
    text: str
    passage: Passage
    passage_rank: int
    sentence_index: int
    vector: np.ndarray | None = None  # the sentence's vector pooled at ingest, when the index has one
    terms: frozenset[str] | None = None  # the sentence's terms stored at ingest, when the index has them
    typed: list[Found] = field(default_factory=list)
    signals: dict[str, float] = field(default_factory=dict)
    score: float = 0.0


class ArticleTexts:
    """Article texts and page starts (and, when asked, their sentence spans) fetched once, in an LRU cache.

    Citing needs only the text (and, for a PDF, where its pages start), which ``fetch`` gives together;
    splitting a long article into sentences is left until someone asks for it.
    """

    def __init__(self, fetch: Callable[[str], tuple[str, tuple[int, ...]] | None], size: int = 512) -> None:
        self._fetch = fetch
        self._size = size
        self._pages: dict[str, tuple[int, ...]] = {}
        self._texts: OrderedDict[str, str] = OrderedDict()
        self._spans: dict[str, list[Span]] = {}
        self._terms: dict[str, frozenset[str]] = {}
        self._lock = Lock()

    def text(self, doc: str) -> str | None:
        with self._lock:
            if doc in self._texts:
                self._texts.move_to_end(doc)
                return self._texts[doc]
        found = self._fetch(doc)
        if found is None:
            return None
        text, pages = found
        with self._lock:
            self._texts[doc] = text
            self._pages[doc] = pages
            while len(self._texts) > self._size:
                evicted, _ = self._texts.popitem(last=False)
                self._spans.pop(evicted, None)
                self._pages.pop(evicted, None)
                self._terms.pop(evicted, None)
        return text

    def pages(self, doc: str) -> tuple[int, ...]:
        """Where each page of ``doc`` starts in its text; empty for an article without pages (or unknown)."""
        with self._lock:
            found = self._pages.get(doc)
        if found is None and self.text(doc) is not None:
            with self._lock:
                found = self._pages.get(doc)
        return found or ()

    def get(self, doc: str) -> tuple[str, list[Span]] | None:
        """The text and its sentence spans."""
        text = self.text(doc)
        if text is None:
            return None
        with self._lock:
            spans = self._spans.get(doc)
        if spans is None:
            spans = sentence_spans(text)
            with self._lock:
                if doc in self._texts:
                    self._spans[doc] = spans
        return text, spans

    def terms(self, doc: str) -> frozenset[str]:
        """The article's stemmed content terms (empty for an unknown article), for checking a question's words."""
        with self._lock:
            found = self._terms.get(doc)
        if found is None:
            found = frozenset(article_terms(self.text(doc) or ""))
            with self._lock:
                if doc in self._texts:
                    self._terms[doc] = found
        return found

    def forget(self) -> None:
        """Drop cached texts (after an ingest may have changed them)."""
        with self._lock:
            self._texts.clear()
            self._spans.clear()
            self._terms.clear()
            self._pages.clear()


def gather(passages: list[Passage], limit: int) -> list[Candidate]:
    """Sentences of the top ``limit`` passages, each once, in passage order.

    Sentences are cut from the chunk text, which is exactly ``article_text[chunk.start:chunk.end]``, so their
    offsets are article offsets and no article needs fetching; chunks end at sentence boundaries. Where the
    index stored sentence vectors at ingest, each candidate carries its own.
    """
    seen: set[tuple[str, int]] = set()
    candidates: list[Candidate] = []
    for rank, passage in enumerate(passages[:limit]):
        chunk = passage.chunk
        offset = title_shift(chunk) if chunk.start < LEAD_CHARS else LEAD_OFFSET  # once per chunk, not per sentence
        sentences = _sentences_of(chunk)
        stored_terms = chunk.sentence_terms.split("\n") if chunk.sentence_terms is not None else None
        if stored_terms is not None and len(stored_terms) != len(sentences):
            stored_terms = None  # not the sentences read here: work them out below instead
        for index, (span, vector) in enumerate(sentences):
            if (chunk.doc, span.start) in seen:
                continue
            seen.add((chunk.doc, span.start))
            sentence = chunk.text[span.start - chunk.start : span.end - chunk.start]
            if len(sentence) > MAX_SENTENCE_CHARS or not re.search(r"\w", sentence):
                continue
            position = index + offset
            candidate = Candidate(chunk.doc, chunk.title, chunk.date, span, sentence, passage, rank, position, vector)
            if stored_terms is not None:
                candidate.terms = frozenset(stored_terms[index].split())
            candidates.append(candidate)
    return candidates


def title_shift(chunk: StoredChunk) -> int:
    """1 when the article's text does not open with its title, else 0: positions count the title as sentence 0.

    A text or Markdown briefing opens with its title line, so its lead sentence is sentence 1; a PDF, Word file
    or e-mail usually states its title in metadata or the subject only, so its lead is sentence 0. Without
    this, a document's first body sentence would count as the title position and outrank the sentence that
    answers (the ranking weights were fitted on briefings that open with their titles).
    """
    if chunk.start != 0 or not chunk.title:
        return 0
    title = " ".join(chunk.title.rstrip("…").split())[:TITLE_PREFIX]
    opening = " ".join(body_without_date(chunk.text.lstrip("\ufeff")).split())
    return 0 if opening.startswith(title) else 1


def _sentences_of(chunk: StoredChunk) -> list[tuple[Span, np.ndarray | None]]:
    stored = chunk.sentences
    if stored is None:
        return [(span, None) for span in chunk_sentence_spans(chunk.text, offset=chunk.start)]
    return [
        (Span(chunk.start + int(start), chunk.start + int(end)), vector if vector.any() else None)
        for (start, end), vector in zip(stored.spans, stored.vectors, strict=True)
    ]


def score(
    candidates: list[Candidate],
    question: str,
    query: str,
    shape: QuestionShape,
    lexical: LexicalIndex,
    weights: Weights,
    embedder: Embedder | None = None,
    said: Sequence[str] = (),
) -> list[Candidate]:
    """Describe every candidate by its signals, score it with ``weights`` and return them best first.

    The semantic signal (question-sentence cosine) uses the sentence vectors stored at ingest.
    """
    if not candidates:
        return []
    query_weights = _query_weights(question, query, lexical)
    known_words = {word.lower() for word in re.findall(r"\w+", query)}
    sentence_terms = [
        candidate.terms if candidate.terms is not None else cached_terms(candidate.text) for candidate in candidates
    ]
    passage_terms: dict[int, set[str]] = {}
    for candidate, found in zip(candidates, sentence_terms, strict=True):
        passage_terms.setdefault(candidate.passage_rank, set()).update(found)
    best_bm25 = max((c.passage.lexical or 0.0) for c in candidates) or 1.0
    best_fused = max(c.passage.score for c in candidates) or 1.0
    newest = _newest(candidates) if _RECENCY_CUE.search(question) else None
    names = {term for name in question_names(question) for term in article_terms(name)}
    around = [passage_terms[candidate.passage_rank] for candidate in candidates]
    sentence_terms = with_referents([candidate.text for candidate in candidates], sentence_terms, around, names)
    content = frozenset(query_weights) - names
    for candidate, found in zip(candidates, sentence_terms, strict=True):
        candidate.typed = _new_information(
            candidate.text, find_typed(candidate.text, shape.kind, shape.head), known_words
        )
        candidate.signals = {
            "lexical": _coverage(query_weights, found),
            "context": _coverage(query_weights, passage_terms[candidate.passage_rank]),
            **_typed_signals(shape, bool(candidate.typed)),
            "prior": 1.0 / (1.0 + candidate.passage_rank),
            "heading": 1.0 if _is_heading(candidate.text) else 0.0,
            "dense": candidate.passage.dense or 0.0,
            "bm25": (candidate.passage.lexical or 0.0) / best_bm25,
            "fused": candidate.passage.score / best_fused,
            "lead": _lead(candidate.sentence_index, found, content),
            "recent": _recency(candidate.date, newest),
        }
        candidate.score = weights.score(candidate.signals)
    ranked = sorted(candidates, key=lambda candidate: candidate.score, reverse=True)
    if embedder is not None:
        _add_semantic(ranked, question, embedder, weights)
    _rank_down_repeats(ranked, said)
    ranked.sort(key=lambda candidate: candidate.score, reverse=True)
    return ranked


def _lead(sentence_index: int, found: Set[str], content: Set[str]) -> float:
    """How early the sentence comes in its article, as a prior only for a sentence that shares a content word
    (not just a name) with the question.

    News puts the essentials first, so an early sentence is likelier to hold what is asked about the story's
    main event. But an opening sentence names everyone ("Putin and Macron had a telephonic discussion on
    Sunday"), and one that shares only the question's names is about the same people, not the same thing:
    with the prior it won detail questions ("When was Macron in Moscow?", "Who did Putin blame?") it says
    nothing about. A question with no words besides its names keeps the prior everywhere."""
    if content and not content & found:
        return 0.0
    return 1.0 / (1.0 + sentence_index)


def _rank_down_repeats(ranked: list[Candidate], said: Sequence[str]) -> None:
    """Evidence that only repeats an answer already given in the conversation (see chat.earlier_answers)."""
    for candidate in ranked:
        candidate.score -= repeat_penalty(candidate.text, said)


def repeat_penalty(sentence: str, said: Sequence[str]) -> float:
    """What a sentence loses for repeating a short answer the conversation already gave (0 when it does not)."""
    lowered = sentence.lower()
    return REPEAT_PENALTY if any(answer.strip() and answer.lower() in lowered for answer in said) else 0.0


def _add_semantic(ranked: list[Candidate], question: str, embedder: Embedder, weights: Weights) -> None:
    """Question-sentence cosine, from the vectors stored at ingest; only sentences without one are encoded
    now (an index built before sentence vectors existed, or text beyond the model's window)."""
    query = embedder.embed_query(question)
    missing = [candidate for candidate in ranked if candidate.vector is None][:SEMANTIC_ENCODE_LIMIT]
    if missing:
        for candidate, vector in zip(missing, embedder.embed_documents([c.text for c in missing]), strict=True):
            candidate.vector = vector
    floor = min((float(c.vector @ query) for c in ranked if c.vector is not None), default=0.0)
    for candidate in ranked:
        similarity = float(candidate.vector @ query) if candidate.vector is not None else floor
        candidate.signals["semantic"] = similarity
        candidate.score = weights.score(candidate.signals)


def _typed_signals(shape: QuestionShape, found: bool) -> dict[str, float]:
    """Two signals, because the patterns for durations, dates and amounts are reliable and the capitalised-name
    test for people and places is not; each is neutral (0.5) when the question asks for the other kind."""
    value = 1.0 if found else 0.0
    if shape.kind in PATTERN_KINDS:
        return {"typed": value, "named": 0.5}
    if shape.kind in NAME_KINDS:
        return {"typed": 0.5, "named": value}
    return {"typed": 0.5, "named": 0.5}


def _query_weights(question: str, query: str, lexical: LexicalIndex) -> dict[str, float]:
    """Term weights of the question, plus, at a discount, the terms a follow-up carries from earlier turns.

    The carried subject ("the call") must help find the passage without letting the previous answer's
    sentence outscore the one that answers the new question.
    """
    weights = lexical.term_weights(question)
    if query == question:  # a first question carries nothing: its own terms are all there already
        return weights
    for term, weight in lexical.term_weights(query).items():
        weights.setdefault(term, CARRIED_TERM_SHARE * weight)
    return weights


def _newest(candidates: list[Candidate]) -> date | None:
    dates = [parsed for parsed in (_parse_date(c.date) for c in candidates) if parsed is not None]
    return max(dates) if dates else None


def _recency(value: str | None, newest: date | None) -> float:
    parsed = _parse_date(value)
    if newest is None or parsed is None:
        return 0.0
    return math.exp(-max((newest - parsed).days, 0) / RECENCY_DAYS)


def _parse_date(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _coverage(query_weights: dict[str, float], found: Set[str]) -> float:
    """Share of the question's information (term weight mass) that the text repeats."""
    total = sum(query_weights.values())
    if not total:
        return 0.0
    return sum(weight for term, weight in query_weights.items() if term in found) / total


def _new_information(sentence: str, found: Sequence[Found], known_words: set[str]) -> list[Found]:
    """Typed spans the conversation has not said already ("Putin" cannot answer "what did Putin say")."""
    kept = []
    for span in found:
        words = {word.lower() for word in re.findall(r"\w+", span.text(sentence))} - {"the", "a", "an", "of"}
        if words and not words <= known_words:
            kept.append(span)
    return kept


def _is_heading(sentence: str) -> bool:
    """A short line without final punctuation is a heading: it repeats what a full sentence says better."""
    return len(sentence) < 90 and not sentence.rstrip().endswith((".", "!", "?", '"', "”", "'", "’", ")"))
