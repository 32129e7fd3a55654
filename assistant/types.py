"""The value objects every step hands on, and the only ones an adapter needs.

A question becomes ``Passage``s (retrieval), then an ``Answer`` whose ``Citation``s quote the article text at
exact offsets, with ``Alternative`` values other briefings give. Each has ``to_dict()`` once, here: that dict
is the answer JSON of the API, the CLI's ``--json`` and eval (DESIGN.md). The display strings every adapter
shows beside an answer live here too, so the UI, Slack and the console word them the same way.

Plain frozen dataclasses only: nothing here computes an answer or touches the index.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from index.ingest import IngestReport, Progress
from index.store import StoredChunk

__all__ = [
    "ABSTAIN_TEXT",
    "CLOSEST_I_FOUND",
    "OTHER_BRIEFINGS_SAY",
    "Alternative",
    "Answer",
    "Citation",
    "IngestReport",
    "Passage",
    "Progress",
    "alternative_label",
    "alternatives_line",
]

ABSTAIN_TEXT = "The briefings don't say."
CLOSEST_I_FOUND = "Closest I found:"  # how every adapter introduces the sentences shown with a refusal

OTHER_BRIEFINGS_SAY = "Other briefings say:"


@dataclass(frozen=True)
class Alternative:
    """A value another briefing gives, with the id of the answer's citation that says it."""

    answer: str
    citation: int
    date: str | None

    def to_dict(self) -> dict[str, object]:
        return {"answer": self.answer, "citation": self.citation, "date": self.date}


def alternative_label(alternative: Alternative) -> str:
    """``40 percent (2024-01-03) [2]``: the value first, since that is what the reader compares."""
    dated = f" ({alternative.date})" if alternative.date else ""
    return f"{alternative.answer}{dated} [{alternative.citation}]"


def alternatives_line(alternatives: Sequence[Alternative]) -> str:
    """One line for plain-text output; empty when the briefings agree, so callers can skip it."""
    if not alternatives:
        return ""
    return f"{OTHER_BRIEFINGS_SAY} " + "; ".join(alternative_label(alternative) for alternative in alternatives)


@dataclass(frozen=True)
class Citation:
    """One numbered source of an answer."""

    id: int
    doc: str
    title: str
    date: str | None
    start: int
    end: int
    score: float
    quote: str
    page: int | None = None  # 1-based, for a quote from a PDF

    def to_dict(self) -> dict[str, object]:
        out: dict[str, object] = {
            "id": self.id,
            "doc": self.doc,
            "title": self.title,
            "date": self.date,
            "start": self.start,
            "end": self.end,
            "score": round(self.score, 4),
            "quote": self.quote,
        }
        if self.page is not None:
            out["page"] = self.page
        return out

    @property
    def where(self) -> str:
        """``doc · date · p. N`` as the UI, Slack and the CLI name the source (date and page when known)."""
        return " · ".join(part for part in (self.doc, self.date, f"p. {self.page}" if self.page else None) if part)


@dataclass(frozen=True)
class Passage:
    """A retrieved chunk with its fused score and what each retriever thought of it."""

    chunk: StoredChunk
    score: float
    dense: float | None
    lexical: float | None

    def to_dict(self) -> dict[str, object]:
        return {
            "doc": self.chunk.doc,
            "title": self.chunk.title,
            "date": self.chunk.date,
            "start": self.chunk.start,
            "end": self.chunk.end,
            "score": round(self.score, 6),
            "text": self.chunk.text,
        }


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
    alternatives: tuple[Alternative, ...] = field(default_factory=tuple)
    closest: tuple[Citation, ...] = field(default_factory=tuple)  # with a refusal: the nearest sentences found

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
        if self.alternatives:
            body["alternatives"] = [alternative.to_dict() for alternative in self.alternatives]
        if self.closest:
            body["closest"] = [citation.to_dict() for citation in self.closest]
        return body
