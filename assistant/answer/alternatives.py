"""What other briefings say when they disagree with the answer shown.

Briefings written on different days can give different values for the same fact (a toll that rose, a date
that moved). The answer shown is the newest; hiding the others would make a stale-looking answer look
certain, so each one is kept with its own citation and date for the reader to weigh. Every adapter shows them
through :func:`alternatives_line` (or the same label per item), so the wording is the same everywhere.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

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
