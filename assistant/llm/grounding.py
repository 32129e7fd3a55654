"""From an LLM's ``[n]`` markers to verified, renumbered citations, with the faithfulness guard applied.

The model sees numbered sources (retrieved passages widened to whole sentences). Its answer is split into
sentences; each sentence is kept only if the sources it cites support it (:mod:`assistant.llm.faithfulness`).
Each marker of a kept sentence becomes the one sentence of that source that best backs the claim, cited
with exact offsets through :func:`assistant.answer.citations.cite`, so ``article_text[start:end] == quote`` holds
for LLM answers exactly as for extractive ones. Citations are renumbered 1..n in order of first use and the
answer's markers rewritten to match; a source cited but never used drops out.
It must not call a model or read files, and makes citations only through :func:`assistant.answer.citations.cite`.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field

from assistant.answer.citations import cite
from assistant.answer.evidence import ArticleTexts
from assistant.llm.faithfulness import (
    MARKER,
    Claim,
    Evidence,
    describe_date,
    facts,
    is_abstention,
    is_pure_abstention,
    split_claims,
    support_score,
    tidy,
    unsupported_reason,
)
from assistant.text.sentences import Span
from assistant.types import Citation, Passage

log = logging.getLogger(__name__)

_REPEATED_MARKER = re.compile(r"(\[\d+\])(?:\s*\1)+")
_REASONING = re.compile(r"<think>.*?(?:</think>|$)", re.DOTALL | re.IGNORECASE)


@dataclass(frozen=True)
class Source:
    """A numbered source as the model sees it: a passage widened to the whole sentences it touches."""

    number: int
    doc: str
    title: str
    date: str | None
    start: int
    end: int
    text: str
    score: float

    @property
    def evidence_text(self) -> str:
        """What the model could read about this source: its title, date and text."""
        return f"{self.title}\n{describe_date(self.date)}\n{self.text}"


@dataclass(frozen=True)
class Grounded:
    """An LLM answer after the guard: the kept text, its citations and the sentences dropped."""

    text: str
    citations: tuple[Citation, ...]
    unsupported: tuple[str, ...]
    supported_claims: int  # kept sentences backed by a citation
    abstentions: int  # kept "the sources don't say" sentences

    @property
    def abstained(self) -> bool:
        """The model only said the sources do not answer, and dropped nothing on the way."""
        return self.supported_claims == 0 and self.abstentions > 0 and not self.unsupported


def build_sources(passages: list[Passage], articles: ArticleTexts) -> list[Source]:
    """Number the passages 1..n; each is widened to whole sentences so quotes and context line up."""
    sources: list[Source] = []
    for passage in passages:
        chunk = passage.chunk
        entry = articles.get(chunk.doc)
        if entry is None:
            continue
        text, spans = entry
        inside = [span for span in spans if span.end > chunk.start and span.start < chunk.end]
        start = min([chunk.start, *(span.start for span in inside)])
        end = max([chunk.end, *(span.end for span in inside)])
        number = len(sources) + 1
        sources.append(Source(number, chunk.doc, chunk.title, chunk.date, start, end, text[start:end], passage.score))
    return sources


def strip_reasoning(raw: str) -> str:
    """Drop a reasoning model's ``<think>`` block: it is not the answer."""
    return _REASONING.sub("", raw).strip()


@dataclass
class _Numbering:
    """Citation ids by first use; one id per quoted sentence, however many claims cite it."""

    citations: dict[tuple[str, int, int], Citation] = field(default_factory=dict)

    def id_for(self, source: Source, span: Span, text: str, score: float, pages: tuple[int, ...]) -> int | None:
        key = (source.doc, span.start, span.end)
        if key not in self.citations:
            scored = text[span.start : span.end]  # _cite scored this very slice of the same text
            number = len(self.citations) + 1
            citation = cite(number, source.doc, source.title, source.date, text, span, score, scored, pages)
            if citation is None:
                return None
            self.citations[key] = citation
        return self.citations[key].id


def ground(raw: str, sources: list[Source], question: str, articles: ArticleTexts) -> Grounded:
    """Apply the guard to every sentence of ``raw`` and cite what survives."""
    by_number = {source.number: source for source in sources}
    numbering = _Numbering()
    question_evidence = Evidence(question)
    all_sources = Evidence("\n".join(source.evidence_text for source in sources))
    kept: list[tuple[Claim, str]] = []
    dropped: list[str] = []
    supported = abstentions = 0
    for claim in split_claims(strip_reasoning(raw)):
        cited = [by_number[n] for n in claim.markers if n in by_number]
        if not cited and is_abstention(claim.bare):
            if is_pure_abstention(claim.bare, question_evidence, all_sources):
                kept.append((claim, claim.bare))
                abstentions += 1
            else:
                _drop(dropped, claim, "an uncited statement beside the abstention")
            continue
        reason = _unsupported(claim, cited)
        ids = _cite(claim, cited, numbering, articles) if reason is None else {}
        if reason is None and not ids:
            reason = "no verifiable quote"
        if reason is not None:
            _drop(dropped, claim, reason)
            continue
        kept.append((claim, _renumbered(claim.text, ids)))
        supported += 1
    text = _join(kept)
    citations = tuple(numbering.citations.values())
    return Grounded(text, citations, tuple(dropped), supported, abstentions)


def _unsupported(claim: Claim, cited: list[Source]) -> str | None:
    if not cited:
        return "no citation"
    return unsupported_reason(claim.bare, Evidence("\n".join(source.evidence_text for source in cited)))


def _cite(claim: Claim, cited: list[Source], numbering: _Numbering, articles: ArticleTexts) -> dict[int, int]:
    """Source number -> citation id, for each cited source in which a supporting sentence was found."""
    wanted = facts(claim.bare)
    ids: dict[int, int] = {}
    for source in cited:
        entry = articles.get(source.doc)
        if entry is None:
            continue
        text, spans = entry
        inside = [span for span in spans if span.end > source.start and span.start < source.end]
        if not inside:
            continue
        scored = [(support_score(wanted, Evidence(text[span.start : span.end])), span) for span in inside]
        # On a tie a full sentence beats a heading that repeats it; max keeps the earliest of equals.
        best_score, best = max(scored, key=lambda pair: (pair[0], _is_full_sentence(text, pair[1])))
        number = numbering.id_for(source, best, text, min(best_score / 2.0, 1.0), articles.pages(source.doc))
        if number is not None:
            ids[source.number] = number
    return ids


def _is_full_sentence(text: str, span: Span) -> bool:
    return text[span.start : span.end].rstrip().endswith((".", "!", "?", '"', "”", "'", "’", ")"))


def _renumbered(text: str, ids: dict[int, int]) -> str:
    """Rewrite each marker group to the new ids (deduplicated); markers to unknown sources vanish."""

    def rewrite(match: re.Match[str]) -> str:
        new: list[int] = []
        for number in re.findall(r"\d+", match.group(1)):
            if int(number) in ids and ids[int(number)] not in new:
                new.append(ids[int(number)])
        return "".join(f"[{number}]" for number in new)

    return tidy(_REPEATED_MARKER.sub(r"\1", MARKER.sub(rewrite, text)))


def _join(kept: list[tuple[Claim, str]]) -> str:
    """Kept sentences in their order, keeping the answer's line breaks between them."""
    parts: list[str] = []
    for claim, text in kept:
        if parts:
            parts.append("\n" * min(claim.gap.count("\n"), 2) if "\n" in claim.gap else " ")
        parts.append(text)
    return "".join(parts).strip()


def _drop(dropped: list[str], claim: Claim, reason: str) -> None:
    log.info("guard dropped %r: %s", claim.bare, reason)
    dropped.append(claim.bare)
