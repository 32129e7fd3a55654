"""The date patterns every step shares: ISO dates and an article's ``date YYYY-MM-DD`` first line.

Loading reads the date line into the article's date, sentence splitting keeps it out of quotes, answer spans
refuse to offer it as an answer, filters validate ``--since``/``--until`` and the faithfulness guard spells
dates out; all of them must agree on what a date line is, so the patterns live once, here. Pure; no I/O,
and must not import the index or the answer step, which both build on it.
"""

from __future__ import annotations

import re

ISO_DATE = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")
DATE_LINE = re.compile(r"\ufeff?\s*date\s+" + ISO_DATE.pattern)  # matched at the start of an article
DATE_WORD = re.compile(r"^\ufeff?\s*date\s+$")  # all that precedes a date which is the date line's own
_SPACE = re.compile(r"\s*")


def is_iso_date(value: str) -> bool:
    """``YYYY-MM-DD`` and nothing else (the calendar check is the caller's)."""
    return ISO_DATE.fullmatch(value) is not None


def date_line_end(text: str, position: int = 0) -> int | None:
    """Where the text after a date line at ``position`` starts (its trailing spaces skipped), or ``None``."""
    match = DATE_LINE.match(text, position)
    if match is None:
        return None
    spaces = _SPACE.match(text, match.end())
    return spaces.end() if spaces else match.end()
