"""The digest as every adapter receives it: dated items, each a verbatim quote with all its citations.

``Digest.to_dict()`` is the object of ``POST /api/digest`` and ``briefings digest --json`` (DESIGN.md, "Digest");
:meth:`Digest.days` is the timeline every adapter draws (CLI, chat, Slack), so they group alike. Plain frozen
dataclasses: nothing here selects, reads the index or renders.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from itertools import groupby
from typing import Any

from assistant.types import Answer, Citation


@dataclass(frozen=True)
class DigestItem:
    """One fact: its text is the first citation's quote; further citations are briefings reporting the same."""

    date: str | None
    citations: tuple[Citation, ...]
    salience: float = 0.0

    @property
    def text(self) -> str:
        return self.citations[0].quote

    @property
    def title(self) -> str:
        return self.citations[0].title

    @property
    def briefings(self) -> int:
        """How many distinct briefings report it ("3 briefings")."""
        return len({citation.doc for citation in self.citations})

    def to_dict(self) -> dict[str, Any]:
        return {
            "date": self.date,
            "text": self.text,
            "title": self.title,
            "briefings": self.briefings,
            "salience": round(self.salience, 4),
            "citations": [citation.to_dict() for citation in self.citations],
        }


@dataclass(frozen=True)
class Digest:
    """What the briefings dated in ``[since, until]`` say about ``topic`` ("" = everything), as a timeline.

    ``more`` says whether asking for a larger ``limit`` would add items; ``note`` explains an empty digest
    (no briefings in the window, none about the topic) in one line every adapter can show as it is.
    """

    topic: str
    since: str
    until: str
    items: tuple[DigestItem, ...]
    briefings_in_window: int
    more: bool
    limit: int
    note: str = ""
    timings_ms: dict[str, float] = field(default_factory=dict)

    def days(self) -> list[tuple[str, list[DigestItem]]]:
        """Items grouped by day, oldest day first (items are kept in date order)."""
        return [(day or "undated", list(items)) for day, items in groupby(self.items, key=lambda item: item.date)]

    @property
    def heading(self) -> str:
        about = f" on {self.topic}" if self.topic else ""
        return f"Digest{about}, {self.since} to {self.until} ({self.briefings_in_window} briefings)"

    def numbered(self) -> list[tuple[str, list[tuple[int, DigestItem]]]]:
        """:meth:`days` with each item's number in the timeline (1 = oldest), as chat follow-ups name them."""
        number, days = 0, []
        for day, items in self.days():
            numbered = []
            for item in items:
                number += 1
                numbered.append((number, item))
            days.append((day, numbered))
        return days

    def timeline_lines(self) -> list[str]:
        """Plain lines for a chat transcript: the heading, then each day and its numbered items.

        Follow-ups ("tell me more about the second one") are read back from this text (``digest.intent``), so
        its shape is fixed here, once.
        """
        lines = [self.heading] + ([self.note] if self.note else [])
        for day, items in self.numbered():
            lines.append(day)
            lines += [f"{number}. {item.text}" for number, item in items]
        return lines

    def as_answer(self, question: str) -> Answer:
        """The digest as a chat answer: the timeline as its text, every item's citations numbered in order, so
        the chat's sources pane shows each quote and opens its article at it."""
        citations, number = [], 0
        for item in self.items:
            for citation in item.citations:
                number += 1
                citations.append(replace(citation, id=number))
        text = "\n".join(self.timeline_lines())
        return Answer(question, text, False, tuple(citations), (), "digest", dict(self.timings_ms))

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "topic": self.topic,
            "since": self.since,
            "until": self.until,
            "items": [item.to_dict() for item in self.items],
            "briefings_in_window": self.briefings_in_window,
            "more": self.more,
            "limit": self.limit,
            "timings_ms": {name: round(value, 2) for name, value in self.timings_ms.items()},
        }
        if self.note:
            body["note"] = self.note
        return body
