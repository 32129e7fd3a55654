"""The extractive answer: the best evidence sentence, the shortest span in it that answers, or abstention.

Nothing here generates text. The answer is a substring of its first citation's quote (or the quote itself),
so it cannot state what the sources do not say; when the best evidence is weak the answer is the plain
"The briefings don't say." and the nearest passages are still returned for the reader to check.
It owns choosing the answer, abstaining, alternatives and the citations shown; it must not retrieve, call a
model or read files.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

from assistant.answer.citations import cite
from assistant.answer.confidence import ConfidenceModel, confidence_inputs
from assistant.answer.evidence import PATTERN_KINDS, ArticleTexts, Candidate
from assistant.answer.shapes import QuestionShape
from assistant.answer.spans import best_span, normal_words
from assistant.answer.support import unknown_names
from assistant.text.tokens import terms
from assistant.types import ABSTAIN_TEXT, Alternative, Citation

MAX_CITATIONS = 3
CLOSEST_CITATIONS = 2  # nearest sentences shown with a refusal
ALTERNATIVE_DEPTH = 6  # leading candidates searched for a dated article that gives a different value
# Further sentences are cited when their score is this close to the best one (in the ranking model's logit
# units: within 1.0 means at least e^-1 as likely to hold the answer), so close calls show both sources.
CITATION_MARGIN = 1.0


@dataclass(frozen=True)
class Extracted:
    """What the extractive step decided, before timings and passages are attached.

    ``closest`` holds, for a refusal, the nearest sentences found, so the reader can see what was missed.
    """

    text: str
    abstained: bool
    citations: tuple[Citation, ...]
    confidence: float
    closest: tuple[Citation, ...] = ()
    alternatives: tuple[Alternative, ...] = ()
    features: dict[str, float] = field(default_factory=dict)  # what the abstention model was shown
    passage_order: tuple[str, ...] = ()  # chunk ids as the reader ranks them (empty: keep retrieval's order)


def extract_answer(
    ranked: list[Candidate],
    shape: QuestionShape,
    query: str,
    articles: ArticleTexts,
    confidence: ConfidenceModel,
    abstain_below: float | None = None,
    follow_up: bool = False,
    use_spacy: bool = False,
    names: tuple[str, ...] = (),
    corpus_knows: Callable[[str], bool] | None = None,
    asked_terms: frozenset[str] = frozenset(),
) -> Extracted:
    """Pick the answer from scored candidates (best first), or abstain when the evidence is weak.

    A question that uses a name no article of the corpus mentions is about something the briefings do not
    cover: it is refused at once, showing the closest sentences found (see :mod:`assistant.answer.support`). A short
    answer is offered only when the best sentence's article uses every one of ``asked_terms`` (the question's
    key words): "When will Macron travel to Kyiv?" gets no "Sunday" from an article that never mentions
    travel, and a paraphrase ("talk" for "discussion") gets the whole sentence, which says it in its own words.
    A question asking how long, when or how many is answered from the best sentence holding such a value,
    or refused when none scores close to the best.
    """
    if not ranked:
        return Extracted(ABSTAIN_TEXT, True, (), 0.0)
    ranked = _full_sentence_first(ranked)
    if names and corpus_knows is not None and unknown_names(names, corpus_knows):
        return Extracted(ABSTAIN_TEXT, True, (), 0.0, _citations(ranked, articles, CLOSEST_CITATIONS))
    holding = asked_kind_first(ranked, shape)
    if holding is None:
        return Extracted(ABSTAIN_TEXT, True, (), 0.0, _citations(ranked, articles, CLOSEST_CITATIONS))
    ranked = holding
    best = ranked[0]
    span = best_span(best.text, best.typed, shape, query, use_spacy)
    if span is not None and not asked_terms <= articles.terms(best.doc):
        span = None  # the article never uses some key word of the question: show the sentence, not a phrase
    scores = [best.score] + [c.score for c in _rivals(ranked, span.text(best.text) if span is not None else None)]
    features = confidence_inputs(scores, best.signals, follow_up, span is not None)
    probability = confidence.probability(features)
    threshold = confidence.threshold if abstain_below is None else abstain_below
    citations = _citations(ranked, articles)
    if probability < threshold or not citations:
        closest = _citations(ranked, articles, CLOSEST_CITATIONS)
        return Extracted(ABSTAIN_TEXT, True, (), probability, closest, features=features)
    if span is None:
        return Extracted(best.text, False, citations, probability, features=features)
    values = _disagreeing_values(best, span.text(best.text), ranked, shape, query, use_spacy)
    if len(values) == 1:
        return Extracted(values[0][1], False, citations, probability, features=features)
    text, citations, alternatives = newest_with_alternatives(values, citations, articles)
    return Extracted(text, False, citations, probability, features=features, alternatives=alternatives)


def asked_kind_first(ranked: list[Candidate], shape: QuestionShape) -> list[Candidate] | None:
    """For a question asking how long, when or how many: the evidence from the best sentence that holds such
    a value the question does not state itself, if one scores within the citation margin of the best;
    ``None`` (refuse) if none does. The sentences ranked above it hold no such value, so they cannot answer,
    however much of the question they repeat ("How long did the February 7 meeting last?" is not answered by
    "This comes after a February 7 meeting in Moscow"), and they drop out rather than count as its rivals.
    These kinds are found by patterns, reliably, so their absence is evidence; a name's is not (names are
    found by capitals and spaCy, and miss often), so other questions keep their evidence as ranked."""
    best = ranked[0]
    if shape.kind not in PATTERN_KINDS or best.typed:
        return ranked
    for place, candidate in enumerate(ranked[1:], start=1):
        if candidate.score < best.score - CITATION_MARGIN:
            return None
        if candidate.typed:
            return ranked[place:]
    return None


def _rivals(ranked: list[Candidate], value: str | None) -> list[Candidate]:
    """The candidates after the best that do not repeat its answer: a heading and its sentence, or two
    articles, giving the same value agree with each other, and agreement must not look like a close call."""
    if value is None:
        return ranked[1:]
    wanted = value.lower()
    return [candidate for candidate in ranked[1:] if wanted not in candidate.text.lower()]


def _disagreeing_values(
    best: Candidate, value: str, ranked: list[Candidate], shape: QuestionShape, query: str, use_spacy: bool
) -> list[tuple[Candidate, str]]:
    """The best sentence's value, and a different value from each other dated article that scores as well.

    Only sentences within the citation margin of the best count (they are as good evidence), each from an
    article with a date other than the best one's (the same day's briefings are one account), and each must
    yield an unambiguous short span of its own.
    """
    values = [(best, value)]
    if best.date is None:
        return values
    seen_docs, seen_values = {best.doc}, {normal_words(value)}
    for candidate in ranked[1:ALTERNATIVE_DEPTH]:
        if candidate.score < best.score - CITATION_MARGIN:
            break
        if candidate.doc in seen_docs or candidate.date is None or candidate.date == best.date:
            continue
        span = best_span(candidate.text, candidate.typed, shape, query, use_spacy)
        other = span.text(candidate.text) if span is not None else None
        if other is None or normal_words(other) in seen_values or same_value(other, value):
            continue
        values.append((candidate, other))
        seen_docs.add(candidate.doc)
        seen_values.add(normal_words(other))
    return values


def newest_with_alternatives(
    values: list[tuple[Candidate, str]], citations: tuple[Citation, ...], articles: ArticleTexts
) -> tuple[str, tuple[Citation, ...], tuple[Alternative, ...]]:
    """The newest article's value as the answer, cited first; the others as alternatives with their citations."""
    ordered = sorted(values, key=lambda pair: pair[0].date or "", reverse=True)
    chosen: list[Citation] = []
    numbers: list[int] = []
    for candidate, _ in ordered:
        existing = next((c for c in chosen if c.doc == candidate.doc and c.start == candidate.span.start), None)
        if existing is None:
            made = cite_candidate(len(chosen) + 1, candidate, articles)
            if made is None:
                return ordered[0][1], citations, ()
            chosen.append(made)
            existing = made
        numbers.append(existing.id)
    for citation in citations:  # the other close sentences stay as further sources
        if len(chosen) < MAX_CITATIONS + ALTERNATIVE_DEPTH and not any(
            c.doc == citation.doc and c.start == citation.start for c in chosen
        ):
            chosen.append(replace(citation, id=len(chosen) + 1))
    alternatives = tuple(
        Alternative(value, number, candidate.date)
        for (candidate, value), number in zip(ordered[1:], numbers[1:], strict=True)
    )
    return ordered[0][1], tuple(chosen), alternatives


def cite_candidate(number: int, candidate: Candidate, articles: ArticleTexts) -> Citation | None:
    """A verified citation of the candidate's sentence, or ``None`` if its article or offsets do not hold it."""
    text = articles.text(candidate.doc)
    if text is None:
        return None
    return cite(
        number,
        candidate.doc,
        candidate.title,
        candidate.date,
        text,
        candidate.span,
        candidate.score,
        candidate.text,
        articles.pages(candidate.doc),
    )


def same_value(one: str, other: str) -> bool:
    """ "Washington" and "Washington state" say the same; so do "$35" and "35"."""
    a, b = f" {normal_words(one)} ", f" {normal_words(other)} "
    return a in b or b in a


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


def _citations(ranked: list[Candidate], articles: ArticleTexts, limit: int = MAX_CITATIONS) -> tuple[Citation, ...]:
    """The best sentence and those scoring close to it; a heading of an article already cited adds nothing."""
    best = ranked[0].score
    chosen: list[Citation] = []
    quotes: set[str] = set()
    for candidate in ranked:
        if len(chosen) >= limit or candidate.score < best - CITATION_MARGIN:
            break
        repeats = candidate.signals.get("heading") and any(c.doc == candidate.doc for c in chosen)
        if candidate.text in quotes or repeats:
            continue
        citation = cite_candidate(len(chosen) + 1, candidate, articles)
        if citation is not None:
            chosen.append(citation)
            quotes.add(candidate.text)
    return tuple(chosen)
