"""The reader decides: which evidence sentence answers, whether to answer at all, and how short to say it.

The ranked candidate sentences (:mod:`assistant.answer.evidence`) are only a shortlist: the best
``reader_sentences`` by the ranking, plus the nearest by meaning (question–sentence cosine) that the ranking
left out, so a paraphrase that shares no word with the question still gets read. The reader
(:mod:`assistant.answer.reader`) scores each, and:

* the sentence it scores highest is the evidence, cited first (and sentences close to it after);
* below the fitted answer threshold the answer is "The briefings don't say.", with the closest sentences;
* the reader's span is shown as the short answer when its span confidence clears the fitted span threshold
  and it is short, or when it agrees with the typed span the question's shape picks out of the same
  sentence (a date for "when", an amount for "how much"): two independent readings of one phrase; otherwise
  the whole sentence is the answer, which is still a verbatim quote.

No word lists, no name rule: what counts as "about the same thing" is the model's call. An answer already
given earlier in the conversation is read down, so "who else took part?" moves on to someone new.
It must not retrieve, read files or fit anything.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from assistant.answer.evidence import ArticleTexts, Candidate
from assistant.answer.extractive import (
    CLOSEST_CITATIONS,
    MAX_CITATIONS,
    Extracted,
    cite_candidate,
    newest_with_alternatives,
    same_value,
)
from assistant.answer.reader import Reader, Reading
from assistant.types import ABSTAIN_TEXT, Citation

SEMANTIC_EXTRA = 4  # nearest-by-meaning sentences read beside the ranking's shortlist
REPEAT_PENALTY = 3.0  # logit taken from a sentence whose span repeats an answer already given
CITATION_MARGIN = 1.5  # further sentences are cited when their combined score is this close to the best one's
MAX_SPAN_WORDS = 8
DEFAULT_ANSWER_THRESHOLD = 0.5
DEFAULT_SPAN_THRESHOLD = 0.5


@dataclass(frozen=True)
class Thresholds:
    """How reads become a decision, fitted by ``briefings tune-reader`` (the defaults trust the reader alone).

    ``weight`` scales the reader's logit added to the evidence ranking's score (the reader reranks, the
    fitted ranking still counts); ``coefficients`` and ``bias`` make a logistic P(the best sentence answers)
    from the best sentence's combined score, its reader logit and its lead over the runner-up; ``answer`` is
    the threshold on that probability and ``span`` the one on the reader's span confidence.
    """

    answer: float = DEFAULT_ANSWER_THRESHOLD
    span: float = DEFAULT_SPAN_THRESHOLD
    weight: float = 1.0
    coefficients: tuple[float, float, float] = (0.0, 1.0, 0.0)
    bias: float = 0.0

    @classmethod
    def of(cls, reader: Reader) -> Thresholds:
        found = reader.thresholds
        return cls(
            found.get("answer", DEFAULT_ANSWER_THRESHOLD),
            found.get("span", DEFAULT_SPAN_THRESHOLD),
            found.get("weight", 1.0),
            tuple(found.get("coefficients", (0.0, 1.0, 0.0))),
            found.get("bias", 0.0),
        )

    def confidence(self, reads: list[Read]) -> float:
        """P(the best read answers) under the fitted logistic; 0 without reads."""
        if not reads:
            return 0.0
        return self.probability(reads[0].score, reads[0].logit, lead(reads))

    def probability(self, score: float, logit: float, ahead: float) -> float:
        """The logistic over the best read's combined score, its logit and its lead (``tune-reader`` fits it)."""
        a, b, c = self.coefficients
        return _probability(self.bias + a * score + b * logit + c * ahead)


def lead(reads: list[Read]) -> float:
    """How far the best read's combined score is ahead of the next one (0 when it stands alone)."""
    return reads[0].score - reads[1].score if len(reads) > 1 else 0.0


@dataclass
class Read:
    """A candidate with the reader's view of it."""

    candidate: Candidate
    reading: Reading
    logit: float
    score: float = 0.0  # the ranking's score plus the weighted logit: what orders the reads

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


def read_candidates(
    reader: Reader, question: str, candidates: list[Candidate], said: Sequence[str], weight: float = 1.0
) -> list[Read]:
    """Every candidate read, best first by ranking score plus ``weight`` × logit; answers the conversation
    already gave are read down."""
    readings = reader.read(question, [c.text for c in candidates])
    earlier = [_plain(answer) for answer in said if answer.strip()]
    reads = []
    for candidate, reading in zip(candidates, readings, strict=True):
        read = Read(candidate, reading, reading.logit)
        span = read.span_text
        if span and any(_plain(span) in answer or answer in _plain(span) for answer in earlier):
            read.logit -= REPEAT_PENALTY
        read.score = candidate.score + weight * read.logit
        reads.append(read)
    reads.sort(key=lambda r: r.score, reverse=True)
    return reads


def add_reader_signal(reader: Reader, question: str, ranked: list[Candidate], size: int) -> list[Read]:
    """The reader's logit as one more ranking signal (``reader``) of the shortlisted sentences, whose reads
    are returned; the sentences left unread get the lowest logit read, so none can leap ahead unread."""
    reads = read_candidates(reader, question, shortlist(ranked, size), ())
    if not reads:
        return []
    logits = {id(read.candidate): read.logit for read in reads}
    floor = min(logits.values())
    for candidate in ranked:
        candidate.signals["reader"] = logits.get(id(candidate), floor)
    return reads


TypedSpan = Callable[[Candidate], str | None]  # the span a question's shape picks out of a sentence, if any


def decide_by_reader(
    reads: list[Read],
    articles: ArticleTexts,
    thresholds: Thresholds,
    answer_threshold: float | None = None,
    typed: TypedSpan | None = None,
) -> Extracted:
    """The answer the reads support, or a refusal showing the closest sentences."""
    if not reads:
        return Extracted(ABSTAIN_TEXT, True, (), 0.0)
    order = tuple(dict.fromkeys(read.candidate.passage.chunk.id for read in reads))
    probability = thresholds.confidence(reads)
    cited = _citations(reads, articles, MAX_CITATIONS)
    threshold = thresholds.answer if answer_threshold is None else answer_threshold
    if probability < threshold or not cited:
        closest = _citations(reads, articles, CLOSEST_CITATIONS, True)
        return Extracted(ABSTAIN_TEXT, True, (), probability, closest, passage_order=order)
    values = _disagreeing_values(reads, thresholds, typed)
    if not values:  # no span the reader is sure of: the whole sentence, which says it in its own words
        return Extracted(reads[0].candidate.text, False, cited, probability, passage_order=order)
    if len(values) == 1:
        return Extracted(values[0][1], False, cited, probability, passage_order=order)
    text, cited, alternatives = newest_with_alternatives(values, cited, articles)
    return Extracted(text, False, cited, probability, alternatives=alternatives, passage_order=order)


def short_span(read: Read, thresholds: Thresholds, typed: TypedSpan | None = None) -> str | None:
    """The read's span as a short answer: the reader's own when it is sure enough of it, or the typed span
    of the question's shape when one of the two contains the other (then the longer); ``None`` shows the
    whole sentence."""
    span = read.span_text
    if span is None or len(span.split()) > MAX_SPAN_WORDS or _plain(span) == _plain(read.candidate.text):
        return None
    if read.reading.span_probability >= thresholds.span:
        return _tidy(span)
    other = typed(read.candidate) if typed is not None else None
    if not other or not _plain(span):
        return None
    mine, theirs = _plain(span), _plain(other)
    return _tidy(max(span, other, key=len)) if mine in theirs or theirs in mine else None  # "45 minutes", not "45"


def _disagreeing_values(
    reads: list[Read], thresholds: Thresholds, typed: TypedSpan | None
) -> list[tuple[Candidate, str]]:
    """The best read's value, and a different value from each other dated briefing the reader rates as well
    (within the citation margin): "40 people" on Wednesday, "35 people" on Monday."""
    best = reads[0]
    value = short_span(best, thresholds, typed)
    if value is None:
        return []
    values = [(best.candidate, value)]
    if best.candidate.date is None:
        return values
    seen_docs, seen_dates = {best.candidate.doc}, {best.candidate.date}
    for read in reads[1:]:
        if read.score < best.score - CITATION_MARGIN or _probability(read.logit) < DEFAULT_ANSWER_THRESHOLD:
            break
        other = short_span(read, thresholds, typed)
        candidate = read.candidate
        if other is None or candidate.doc in seen_docs or candidate.date is None or candidate.date in seen_dates:
            continue
        if any(same_value(other, known) for _, known in values):
            continue
        values.append((candidate, other))
        seen_docs.add(candidate.doc)
        seen_dates.add(candidate.date)
    return values


def _citations(reads: list[Read], articles: ArticleTexts, limit: int, closest: bool = False) -> tuple[Citation, ...]:
    """The best sentence and those the reader scores within :data:`CITATION_MARGIN` of it (any, for a refusal)."""
    chosen: list[Citation] = []
    quotes: set[str] = set()
    for read in reads:
        if len(chosen) >= limit or (not closest and read.score < reads[0].score - CITATION_MARGIN):
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
