"""What every format extractor returns, the one error it raises, and the small text rules they share."""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass
from datetime import date

from index.errors import CorpusError

# Suffixes of the files that can themselves be briefings (the text formats of ``index.articles`` and the
# formats of this package), so an e-mail's attachments of these types can be ingested in their own right.
BRIEFING_SUFFIXES = frozenset({".txt", ".md", ".markdown", ".html", ".htm", ".pdf", ".docx", ".eml"})

_SPACES = re.compile(r"[^\S\n\u00a0]+")  # runs of whitespace other than line ends and no-break spaces
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff\ud800-\udfff]")


class UnreadableDocument(CorpusError):
    """A file of a supported type whose text cannot be read; ``str(error)`` is the one-line reason.

    The reason starts with what the file is ("encrypted PDF", "damaged DOCX", "empty e-mail") and says in
    brackets why, so ingest can report it next to the file name and a person knows what to fix.
    """


@dataclass(frozen=True)
class Attachment:
    """A file attached to an e-mail, with the name its sender gave it (folders removed)."""

    filename: str
    data: bytes


@dataclass(frozen=True)
class Extracted:
    """The text of one document, as it will be stored, with what the document says about itself.

    Citation offsets index ``text``, so an extractor fixes it once and never rewrites it later. ``pages``
    holds, for a PDF, the offset in ``text`` where each page starts (page N at ``pages[N - 1]``), which
    :func:`page_of` turns back into a page number for a citation.
    """

    text: str
    title: str | None
    date: str | None
    pages: tuple[int, ...] = ()
    attachments: tuple[Attachment, ...] = ()


def page_of(pages: tuple[int, ...], offset: int) -> int | None:
    """The 1-based page holding character ``offset``, or ``None`` without page starts or for a negative offset."""
    if not pages or offset < 0:
        return None
    return max(bisect_right(pages, offset), 1)


def clean_line(line: str) -> str:
    """One line as a reader sees it: control characters dropped, runs of spaces and tabs made one space."""
    return _SPACES.sub(" ", _CONTROL.sub("", line)).strip()


def one_line(value: str | None) -> str | None:
    """A header or metadata value on one line, or ``None`` when nothing is left."""
    if value is None:
        return None
    cleaned = " ".join(_CONTROL.sub("", value).split())
    return cleaned or None


def iso_date(year: int, month: int, day: int) -> str | None:
    """``YYYY-MM-DD``, or ``None`` for an impossible date (metadata is often half-filled)."""
    try:
        return date(year, month, day).isoformat()
    except ValueError:
        return None
