"""The extractive answer: the best evidence sentence, the shortest span in it that answers, or abstention.

Nothing here generates text. The answer is a substring of its first citation's quote (or the quote itself),
so it cannot state what the sources do not say; when the best evidence is weak the answer is the plain
"The briefings don't say." and the nearest passages are still returned for the reader to check.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from assistant.answer_types import Found, Kind, QuestionShape
from assistant.citations import Citation, cite
from assistant.evidence import ArticleTexts, Candidate
from assistant.retrieval import Passage
from index.lexical import term_positions, terms

ABSTAIN_TEXT = "The briefings don't say."
# Tuned on the development questions: the confidence that best separates answerable from unanswerable
# questions (see `briefings eval` and the README's quality section).
DEFAULT_ABSTAIN_BELOW = 0.55
MAX_CITATIONS = 3
CITATION_MARGIN = 0.08  # further sentences are cited when their score is this close to the best one


@dataclass(frozen=True)
class Answer:
    """The answer object of the API, the CLI's ``--json`` and eval (see DESIGN.md)."""

    question: str
    answer: str
    abstained: bool
    citations: tuple[Citation, ...]
    passages: tuple[Passage, ...]
    mode: str
    timings_ms: dict[str, float]
    confidence: float = 0.0
    standalone_question: str | None = None
    unsupported: tuple[str, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "question": self.question,
            "answer": self.answer,
            "abstained": self.abstained,
            "citations": [citation.to_dict() for citation in self.citations],
            "passages": [passage.to_dict() for passage in self.passages],
            "mode": self.mode,
            "timings_ms": {name: round(value, 2) for name, value in self.timings_ms.items()},
            "confidence": round(self.confidence, 4),
            "unsupported": list(self.unsupported),
        }
        if self.standalone_question and self.standalone_question != self.question:
            body["standalone_question"] = self.standalone_question
        return body


@dataclass(frozen=True)
class Extracted:
    """What the extractive step decided, before timings and passages are attached."""

    text: str
    abstained: bool
    citations: tuple[Citation, ...]
    confidence: float


def extract_answer(
    ranked: list[Candidate], shape: QuestionShape, query: str, articles: ArticleTexts, abstain_below: float
) -> Extracted:
    """Pick the answer from scored candidates (best first)."""
    if not ranked or ranked[0].score < abstain_below:
        confidence = ranked[0].score if ranked else 0.0
        return Extracted(ABSTAIN_TEXT, True, (), confidence)
    best = ranked[0]
    citations = _citations(ranked, articles)
    if not citations:
        return Extracted(ABSTAIN_TEXT, True, (), best.score)
    span = best_span(best, shape, query)
    text = span.text(best.text) if span is not None else best.text
    return Extracted(text, False, citations, best.score)


def best_span(candidate: Candidate, shape: QuestionShape, query: str) -> Found | None:
    """The typed span nearest to where the sentence repeats the question, or ``None`` (quote the sentence)."""
    if shape.kind is Kind.OTHER or not candidate.typed:
        return None
    wanted = set(terms(query))
    anchors = [position for term, position in term_positions(candidate.text) if term in wanted]
    if not anchors:
        return max(candidate.typed, key=lambda span: span.end - span.start)

    def distance(span: Found) -> int:
        return min(min(abs(span.start - anchor), abs(span.end - anchor)) for anchor in anchors)

    return min(candidate.typed, key=distance)


def _citations(ranked: list[Candidate], articles: ArticleTexts) -> tuple[Citation, ...]:
    best = ranked[0].score
    chosen: list[Citation] = []
    quotes: set[str] = set()
    for candidate in ranked:
        if len(chosen) >= MAX_CITATIONS or candidate.score < best - CITATION_MARGIN:
            break
        text = articles.text(candidate.doc)
        if text is None or candidate.text in quotes:
            continue
        citation = cite(len(chosen) + 1, candidate.doc, candidate.title, candidate.date, text, candidate.span, candidate.score)
        if citation is not None:
            chosen.append(citation)
            quotes.add(candidate.text)
    return tuple(chosen)
