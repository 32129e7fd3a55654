"""The extractive answer path for one question: check it, retrieve, rank the evidence, pick the answer, time it.

It owns the order of the answer steps (:mod:`assistant.answer.conversation` for follow-ups, the retriever,
:mod:`assistant.answer.evidence` for ranking, :mod:`assistant.answer.extractive` for the answer) and the
:class:`Evidence` handed between them. The loaded objects it works with (retriever, article texts, embedder,
fitted model) come from whoever holds them, through :class:`AnswerParts`, and are touched only when a step
needs them, so a question that fails its checks loads nothing. Must not load or build those objects itself,
or import chromadb, ``llm/`` or adapters.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Protocol

from assistant.answer.confidence import Model, Weights
from assistant.answer.conversation import (
    History,
    Turn,
    earlier_answers,
    focused_question,
    is_follow_up,
    previous_search,
    reading_question,
    standalone_question,
    turns_from,
)
from assistant.answer.evidence import ArticleTexts, Candidate, gather, repeat_penalty, score
from assistant.answer.extractive import Extracted, extract_answer, same_value
from assistant.answer.reader import Reader
from assistant.answer.reading import (
    Read,
    Thresholds,
    TypedSpan,
    add_reader_signal,
    decide_by_reader,
    read_candidates,
    short_span,
    shortlist,
)
from assistant.answer.shapes import question_shape
from assistant.answer.spans import best_span
from assistant.answer.stages import recording, stage
from assistant.answer.support import key_terms, question_names
from assistant.errors import EmptyQuestion, QuestionTooLong
from assistant.retrieve.filters import date_bounds
from assistant.retrieve.hybrid import HybridRetriever
from assistant.settings import Settings
from assistant.types import Answer, Passage
from index.embedding import Embedder

NEVER_ABSTAIN = -1.0  # a threshold no confidence is under: the reordered evidence is shown, not judged again
# The reader's logit under which its span does not stand in for the rules' key-word check. The lowest logit of
# any sentence shortened this way on the news dev questions (written and lower-cased) was -4.97, all of them
# kept; "When will Macron travel to Kyiv?" reads -5.5 on the briefing's lead, whose "Sunday" is no answer to it.
CONFIRMING_LOGIT = -5.0
CONTINUITY_PASSAGES = 2  # passages of the previous question's articles that a follow-up keeps in view


@dataclass(frozen=True)
class Evidence:
    """What retrieval and evidence ranking found for one question."""

    query: str
    passages: list[Passage]
    ranked: list[Candidate]
    follow_up: bool
    retrieve_ms: float
    focus: str  # the question with its pronoun resolved ("Who started the call?"): what the rules check
    reading: str  # what evidence is scored against and the reader asked: the focus, plus the subject's words
    said: tuple[str, ...] = ()  # short answers the conversation already gave


class AnswerParts(Protocol):
    """The loaded objects the answer path uses; properties, so each is loaded only when a step needs it."""

    @property
    def settings(self) -> Settings: ...

    @property
    def retriever(self) -> HybridRetriever: ...

    @property
    def articles(self) -> ArticleTexts: ...

    @property
    def embedder(self) -> Embedder: ...

    @property
    def model(self) -> Model: ...

    @property
    def reader(self) -> Reader: ...


def validate_question(question: str, max_chars: int) -> str:
    """The question, trimmed; empty or over-long questions raise with a message that says so."""
    text = (question or "").strip()
    if not text:
        raise EmptyQuestion("The question is empty: type a question about the briefings")
    if len(text) > max_chars:
        raise QuestionTooLong(f"The question is {len(text)} characters long; the limit is {max_chars}")
    return text


def answer_extractively(
    parts: AnswerParts,
    question: str,
    history: History,
    since: str | None,
    until: str | None,
    abstain_below: float | None = None,
) -> Answer:
    """The extractive :class:`Answer`, with its passages and how long retrieval and answering took."""
    question = validate_question(question, parts.settings.max_question_chars)
    if parts.settings.entity_spans == "spacy":  # loaded once; missing is a one-line error, not a fallback
        from assistant.answer.spans import preload

        preload()
    since, until = date_bounds(since, until)
    started = time.perf_counter()
    with recording() as stages:
        evidence = find_evidence(parts, question, turns_from(history), since, until)
        with stage("decide"):
            extracted = decide(parts, question, evidence, evidence.ranked, abstain_below)
    finished = time.perf_counter()
    passages = reranked(evidence.passages, extracted.passage_order)[: parts.settings.passages]
    return Answer(
        question=question,
        answer=extracted.text,
        abstained=extracted.abstained,
        citations=extracted.citations,
        passages=tuple(passages),
        mode="extractive",
        timings_ms={
            "retrieve": evidence.retrieve_ms,
            "answer": (finished - started) * 1000 - evidence.retrieve_ms,
            "total": (finished - started) * 1000,
            **stages,
        },
        confidence=extracted.confidence,
        standalone_question=evidence.query,
        alternatives=extracted.alternatives,
        closest=extracted.closest,
    )


def reranked(passages: list[Passage], order: Sequence[str]) -> list[Passage]:
    """Passages holding the reader's best sentences first (in its order), then the rest as retrieved."""
    if not order:
        return passages
    place = {chunk_id: rank for rank, chunk_id in enumerate(order)}
    return sorted(passages, key=lambda passage: place.get(passage.chunk.id, len(place)))


def decide(
    parts: AnswerParts,
    question: str,
    evidence: Evidence,
    ranked: list[Candidate],
    abstain_below: float | None = None,
    rerank: bool = True,
) -> Extracted:
    """The extractive answer over ranked evidence (``tune`` passes its own ranking and threshold, and
    ``rerank=False`` for the rules' own answer, which their abstention is fitted to judge).

    With the rules answering and ``reader_rerank`` on, the rules decide *whether* to answer (their fitted
    abstention, unchanged) and the evidence reranked with the reader's logit decides *what* is shown: the
    reader is better at telling which sentence answers than at telling when none does. The reader is run only
    for questions the rules answer.
    """
    settings = parts.settings
    if settings.answerer == "reader":
        fitted = Thresholds.of(parts.reader)
        candidates = shortlist(ranked, settings.reader_sentences)
        reads = read_candidates(parts.reader, evidence.reading, candidates, evidence.said, fitted.weight)
        return decide_by_reader(reads, parts.articles, fitted, abstain_below, typed_span(parts, question, evidence))
    decided = decide_by_rules(parts, question, evidence, ranked, abstain_below)
    weights = parts.model.reranking
    if decided.abstained or not (rerank and settings.reader_rerank) or weights is None:
        return replace(decided, passage_order=chunk_order(ranked))
    with stage("rerank"):
        reordered, order, first = rerank_with_reader(parts, evidence, ranked, weights)
    shown = decided  # the rules' best sentence stays first: their answer is the one shown
    if reordered is not ranked:
        shown = decide_by_rules(parts, question, evidence, reordered, NEVER_ABSTAIN)
        if shown.abstained:  # nothing citable in the reordered evidence: the rules' own answer stands
            return replace(decided, passage_order=chunk_order(ranked))
        if first is not None and unconfirmed_span(shown, first):
            shown = replace(shown, text=first.candidate.text, alternatives=())
    if first is not None:
        shown = confirmed_span(parts, question, evidence, shown, first)
    return replace(shown, confidence=decided.confidence, features=decided.features, passage_order=order)


def confirmed_span(parts: AnswerParts, question: str, evidence: Evidence, shown: Extracted, first: Read) -> Extracted:
    """Where the rules show the whole sentence, the short span in it that the reader's own span and the span
    the question's shape picks agree on ("an hour and 45 minutes" for "how long were they on the phone"):
    two independent readings of the same sentence stand in for the rules' key-word check, which refuses a
    short answer whenever the question is worded differently from the article."""
    sentence = first.candidate.text
    if shown.text != sentence or not shown.citations or shown.citations[0].quote != sentence:
        return shown
    if first.logit < CONFIRMING_LOGIT:  # the reader all but rules the sentence out: its span confirms nothing
        return shown
    value = short_span(first, Thresholds.of(parts.reader), typed_span(parts, question, evidence))
    return shown if value is None else replace(shown, text=value)


def unconfirmed_span(shown: Extracted, moved: Read) -> bool:
    """Is the short answer cut from a sentence the reader moved to the front one the reader did not read
    there itself? The rules never ranked that sentence first, so its typed span ("NATO" for "where") needs
    the reader's own span to agree before it is shown alone; otherwise the whole sentence is the answer."""
    sentence = moved.candidate.text
    if shown.text == sentence or not shown.citations or shown.citations[0].quote != sentence:
        return False
    span = moved.span_text
    return span is None or not same_value(shown.text, span)


def decide_by_rules(
    parts: AnswerParts, question: str, evidence: Evidence, ranked: list[Candidate], abstain_below: float | None
) -> Extracted:
    """The rules' answer over evidence in the order given: best sentence, typed span, fitted abstention."""
    settings = parts.settings
    shape = question_shape(question)
    return extract_answer(
        ranked,
        shape,
        evidence.query,
        parts.articles,
        parts.model.confidence,
        settings.abstain_below if abstain_below is None else abstain_below,
        evidence.follow_up,
        settings.entity_spans == "spacy",
        question_names(evidence.focus),
        parts.retriever.lexical.knows,
        key_terms(evidence.focus, shape.head),
    )


def rerank_with_reader(
    parts: AnswerParts, evidence: Evidence, ranked: list[Candidate], weights: Weights
) -> tuple[list[Candidate], tuple[str, ...], Read | None]:
    """The evidence with the best sentence under the reranking (the reader's logit as one more signal, under
    weights fitted with it) moved to the front, the passages' chunk ids in the reranking's order, and the
    reader's read of the sentence now first (``None`` if it was left unread).

    Only the best sentence moves: the others keep the rules' scores and order, so the sentences cited beside
    it and the other briefings' values offered as alternatives are chosen as the rules choose them (the
    reader's logit can differ by whole units between two sentences that differ only in their number).
    """
    reads = add_reader_signals(parts, evidence, ranked)
    order = sorted(
        ranked,
        key=lambda candidate: weights.score(candidate.signals) - repeat_penalty(candidate.text, evidence.said),
        reverse=True,
    )
    best = order[0]
    first = next((read for read in reads if read.candidate is best), None)
    if best is ranked[0]:
        return ranked, chunk_order(order), first
    best.score = max(best.score, ranked[0].score)
    return [best] + [candidate for candidate in ranked if candidate is not best], chunk_order(order), first


def add_reader_signals(parts: AnswerParts, evidence: Evidence, ranked: list[Candidate]) -> list[Read]:
    """The reader's logit for the shortlisted sentences, asked the question as the reader reads it."""
    return add_reader_signal(parts.reader, evidence.reading, ranked, parts.settings.rerank_sentences)


def chunk_order(ranked: Sequence[Candidate]) -> tuple[str, ...]:
    """The passages' chunk ids in the order of their best sentence: how the shown passages are reranked."""
    return tuple(dict.fromkeys(candidate.passage.chunk.id for candidate in ranked))


def typed_span(parts: AnswerParts, question: str, evidence: Evidence) -> TypedSpan:
    """The span the question's shape picks out of a sentence ("Sunday" for "when"), for the reader to agree with."""
    shape = question_shape(question)
    use_spacy = parts.settings.entity_spans == "spacy"

    def pick(candidate: Candidate) -> str | None:
        found = best_span(candidate.text, candidate.typed, shape, evidence.query, use_spacy)
        return found.text(candidate.text) if found is not None else None

    return pick


def find_evidence(
    parts: AnswerParts,
    question: str,
    history: list[Turn],
    since: str | None = None,
    until: str | None = None,
    exclude: frozenset[str] = frozenset(),
) -> Evidence:
    """Retrieval and ranked evidence for a question in its conversation.

    ``exclude`` hides articles from retrieval (``tune`` hides a question's evidence articles to see what an
    unanswerable question looks like).
    """
    started = time.perf_counter()
    settings = parts.settings
    reading = settings.answerer == "reader"  # the reader reranks a wider pool, then the best are shown
    # every passage whose sentences compete is retrieved; the best-ranked evidence decides which are shown
    passages_wanted = max(settings.passages, settings.reader_pool if reading else settings.evidence_passages)
    query = standalone_question(question, history)
    follow_up = bool(history) and is_follow_up(question)
    passages = parts.retriever.retrieve(query, passages_wanted, since, until, exclude)
    previous = previous_search(history) if follow_up else None
    if previous:  # keep the previous question's articles in view, or "it" drifts to another article
        kept = parts.retriever.retrieve(previous, CONTINUITY_PASSAGES, since, until, exclude)
        seen = {passage.chunk.id for passage in kept}
        passages = (kept + [p for p in passages if p.chunk.id not in seen])[:passages_wanted]
    retrieve_ms = (time.perf_counter() - started) * 1000
    focus = focused_question(question, history)
    said = tuple(earlier_answers(question, history))
    asked = reading_question(question, history)  # "through who — the presidents agree on": names what to find
    with stage("evidence"):
        ranked = rank_evidence(parts, asked, query, passages, said)
    return Evidence(query, passages, ranked, follow_up, retrieve_ms, focus, asked, said)


def rank_evidence(
    parts: AnswerParts, question: str, query: str, passages: list[Passage], said: Sequence[str] = ()
) -> list[Candidate]:
    """Candidate sentences from the top passages, scored and best first."""
    shape = question_shape(question)
    settings = parts.settings
    limit = max(settings.evidence_passages, settings.reader_pool) if settings.answerer == "reader" else None
    candidates = gather(passages, limit or settings.evidence_passages)
    weights = parts.model.weights
    return score(candidates, question, query, shape, parts.retriever.lexical, weights, parts.embedder, said)
