"""The extractive answer: the best evidence sentence, the shortest span in it that answers, or abstention.

Nothing here generates text. The answer is a substring of its first citation's quote (or the quote itself),
so it cannot state what the sources do not say; when the best evidence is weak the answer is the plain
"The briefings don't say." and the nearest passages are still returned for the reader to check.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from assistant.answer_types import QuestionShape
from assistant.citations import Citation, cite
from assistant.evidence import ArticleTexts, Candidate
from assistant.retrieval import Passage
from assistant.scoring import ConfidenceModel, confidence_inputs
from assistant.spans import best_span
from index.lexical import terms

ABSTAIN_TEXT = "The briefings don't say."
MAX_CITATIONS = 3
# Further sentences are cited when their score is this close to the best one (in the ranking model's logit
# units: within 1.0 means at least e^-1 as likely to hold the answer), so close calls show both sources.
CITATION_MARGIN = 1.0


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
    ranked: list[Candidate],
    shape: QuestionShape,
    query: str,
    articles: ArticleTexts,
    confidence: ConfidenceModel,
    abstain_below: float | None = None,
    follow_up: bool = False,
    use_spacy: bool = False,
) -> Extracted:
    """Pick the answer from scored candidates (best first), or abstain when the evidence is weak."""
    if not ranked:
        return Extracted(ABSTAIN_TEXT, True, (), 0.0)
    ranked = _full_sentence_first(ranked)
    best = ranked[0]
    probability = confidence.probability(confidence_inputs([c.score for c in ranked], best.signals, follow_up))
    threshold = confidence.threshold if abstain_below is None else abstain_below
    citations = _citations(ranked, articles)
    if probability < threshold or not citations:
        return Extracted(ABSTAIN_TEXT, True, (), probability)
    span = best_span(best.text, best.typed, shape, query, use_spacy)
    text = span.text(best.text) if span is not None else best.text
    return Extracted(text, False, citations, probability)


def _full_sentence_first(ranked: list[Candidate]) -> list[Candidate]:
    """A heading that wins is replaced by the full sentence of its article that says the same thing.

    Headings ("Phone call lasted an hour and 45 minutes") restate a sentence nearby; quoting the sentence
    gives the reader the claim with its source ("Elysée stated that ...").
    """
    best = ranked[0]
    if not best.signals.get("heading"):
        return ranked
    wanted = {t.text(best.text).lower() for t in best.typed} or set(terms(best.text))
    for candidate in ranked[1:]:
        if candidate.doc != best.doc or candidate.signals.get("heading"):
            continue
        if not 0 < candidate.sentence_index - best.sentence_index <= 3:
            continue
        found = {t.text(candidate.text).lower() for t in candidate.typed} if best.typed else set(terms(candidate.text))
        if wanted <= found or (best.typed and wanted & found):
            candidate.score = max(candidate.score, best.score)
            return [candidate] + [c for c in ranked if c is not candidate]
    return ranked


def _citations(ranked: list[Candidate], articles: ArticleTexts) -> tuple[Citation, ...]:
    """The best sentence and those scoring close to it; a heading of an article already cited adds nothing."""
    best = ranked[0].score
    chosen: list[Citation] = []
    quotes: set[str] = set()
    for candidate in ranked:
        if len(chosen) >= MAX_CITATIONS or candidate.score < best - CITATION_MARGIN:
            break
        repeats = candidate.signals.get("heading") and any(c.doc == candidate.doc for c in chosen)
        text = articles.text(candidate.doc)
        if text is None or candidate.text in quotes or repeats:
            continue
        citation = cite(
            len(chosen) + 1, candidate.doc, candidate.title, candidate.date, text, candidate.span, candidate.score
        )
        if citation is not None:
            chosen.append(citation)
            quotes.add(candidate.text)
    return tuple(chosen)
