"""The reader decides: which evidence sentence answers, whether to answer at all, and how short to say it.

The ranked candidate sentences (:mod:`assistant.answer.evidence`) are only a shortlist: the best
``reader_sentences`` by the ranking, plus the nearest by meaning (question–sentence cosine) that the ranking
left out, so a paraphrase that shares no word with the question still gets read. The reader
(:mod:`assistant.answer.reader`) scores each, and:

* the sentence it scores highest is the evidence, cited first (and sentences close to it after);
* below the fitted answer threshold the answer is "The briefings don't say.", with the closest sentences;
* the reader's span is shown as the short answer only when its span confidence clears the fitted span
  threshold and it is short; otherwise the whole sentence is the answer, which is still a verbatim quote.

No word lists, no name rule: what counts as "about the same thing" is the model's call. An answer already
given earlier in the conversation is read down, so "who else took part?" moves on to someone new.
It must not retrieve, read files or fit anything.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from assistant.answer.evidence import ArticleTexts, Candidate
from assistant.answer.extractive import CLOSEST_CITATIONS, MAX_CITATIONS, Extracted, cite_candidate
from assistant.answer.reader import Reader, Reading
from assistant.types import ABSTAIN_TEXT, Citation

SEMANTIC_EXTRA = 4  # nearest-by-meaning sentences read beside the ranking's shortlist
REPEAT_PENALTY = 3.0  # logit taken from a sentence whose span repeats an answer already given
CITATION_MARGIN = 1.5  # further sentences are cited when their logit is this close to the best one's
MAX_SPAN_WORDS = 8
DEFAULT_ANSWER_THRESHOLD = 0.5
DEFAULT_SPAN_THRESHOLD = 0.5


@dataclass(frozen=True)
class Thresholds:
    """Fitted by ``briefings tune-reader``; the answer threshold is a probability of the best sentence."""

    answer: float = DEFAULT_ANSWER_THRESHOLD
    span: float = DEFAULT_SPAN_THRESHOLD

    @classmethod
    def of(cls, reader: Reader) -> Thresholds:
        found = reader.thresholds
        return cls(found.get("answer", DEFAULT_ANSWER_THRESHOLD), found.get("span", DEFAULT_SPAN_THRESHOLD))


@dataclass
class Read:
    """A candidate with the reader's view of it."""

    candidate: Candidate
    reading: Reading
    logit: float

    @property
    def span_text(self) -> str | None:
        if self.reading.span_start < 0:
            return None
        return self.candidate.text[self.reading.span_start : self.reading.span_end]


def shortlist(ranked: list[Candidate], size: int) -> list[Candidate]:
    """The ranking's best ``size`` plus the nearest by meaning among the rest, each sentence once."""
    chosen = ranked[:size]
    rest = [c for c in ranked[size:] if "semantic" in c.signals]
    rest.sort(key=lambda c: c.signals["semantic"], reverse=True)
    return chosen + rest[:SEMANTIC_EXTRA]


def read_candidates(reader: Reader, question: str, candidates: list[Candidate], said: Sequence[str]) -> list[Read]:
    """Every candidate read, best first; answers the conversation already gave are read down."""
    readings = reader.read(question, [c.text for c in candidates])
    earlier = [_plain(answer) for answer in said if answer.strip()]
    reads = []
    for candidate, reading in zip(candidates, readings, strict=True):
        read = Read(candidate, reading, reading.logit)
        span = read.span_text
        if span and any(_plain(span) in answer or answer in _plain(span) for answer in earlier):
            read.logit -= REPEAT_PENALTY
        reads.append(read)
    reads.sort(key=lambda r: r.logit, reverse=True)
    return reads


def decide_by_reader(
    reads: list[Read], articles: ArticleTexts, thresholds: Thresholds, answer_threshold: float | None = None
) -> Extracted:
    """The answer the reads support, or a refusal showing the closest sentences."""
    if not reads:
        return Extracted(ABSTAIN_TEXT, True, (), 0.0)
    best = reads[0]
    probability = _probability(best.logit)
    cited = _citations(reads, articles, MAX_CITATIONS)
    threshold = thresholds.answer if answer_threshold is None else answer_threshold
    if probability < threshold or not cited:
        return Extracted(ABSTAIN_TEXT, True, (), probability, _citations(reads, articles, CLOSEST_CITATIONS, True))
    span = best.span_text
    short = (
        span is not None
        and best.reading.span_probability >= thresholds.span
        and len(span.split()) <= MAX_SPAN_WORDS
        and _plain(span) != _plain(best.candidate.text)
    )
    text = _tidy(span) if short and span is not None else best.candidate.text
    return Extracted(text, False, cited, probability)


def _citations(reads: list[Read], articles: ArticleTexts, limit: int, closest: bool = False) -> tuple[Citation, ...]:
    """The best sentence and those the reader scores within :data:`CITATION_MARGIN` of it (any, for a refusal)."""
    chosen: list[Citation] = []
    quotes: set[str] = set()
    for read in reads:
        if len(chosen) >= limit or (not closest and read.logit < reads[0].logit - CITATION_MARGIN):
            break
        if read.candidate.text in quotes:
            continue
        citation = cite_candidate(len(chosen) + 1, read.candidate, articles)
        if citation is not None:
            chosen.append(citation)
            quotes.add(read.candidate.text)
    return tuple(chosen)


def _tidy(span: str) -> str:
    """A span without the punctuation a token boundary leaves at its edges ("Washington," → "Washington")."""
    return span.strip().strip(",;:").strip()


def _plain(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", text.lower()).split())


def _probability(logit: float) -> float:
    import math

    return 1.0 / (1.0 + math.exp(-max(min(logit, 40.0), -40.0)))
