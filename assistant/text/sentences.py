"""Sentence spans with exact character offsets.

Citations quote whole sentences, and a quote must equal ``text[start:end]``; so sentences are kept as
offsets into the original text, never as re-joined strings. Segmentation is sentencex (rule-based, fast,
handles abbreviations such as "Mr." and "U.S."); line breaks always end a sentence, because headings and
bullet items in briefings carry no final full stop. It owns sentence offsets; it must not read files or
import the index or the answer step, which both build on it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import sentencex

from assistant.text.dates import date_line_end

_LINE = re.compile(r"[^\n]+")


@dataclass(frozen=True)
class Span:
    """A sentence as ``[start, end)`` into the text it came from (whitespace trimmed)."""

    start: int
    end: int


def sentence_spans(text: str, offset: int = 0) -> list[Span]:
    """Split ``text`` into sentences; spans are shifted by ``offset`` (for text cut from an article)."""
    spans: list[Span] = []
    for line in _LINE.finditer(text):
        spans.extend(_spans_in_line(line.group(), offset + line.start()))
    return spans


def _spans_in_line(line: str, base: int) -> Iterator[Span]:
    cursor = 0
    for piece in sentencex.segment("en", line):
        found = line.find(piece, cursor)
        if found < 0:  # the segmenter altered the text; fall back to the rest of the line
            piece, found = line[cursor:], cursor
        cursor = found + len(piece)
        span = _trim(line, found, cursor)
        if span is not None:
            yield Span(base + span[0], base + span[1])
    if cursor < len(line):
        rest = _trim(line, cursor, len(line))
        if rest is not None:
            yield Span(base + rest[0], base + rest[1])


def _trim(text: str, start: int, end: int) -> tuple[int, int] | None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return (start, end) if end > start else None


def chunk_sentence_spans(text: str, offset: int = 0) -> list[Span]:
    """Sentences of a chunk as quotable spans (shifted by ``offset``), with the article's date marker removed.

    Both ingest (which stores a vector per sentence) and evidence selection (which quotes them) call this,
    so the spans a vector was computed for are exactly the spans that compete to answer.
    """
    spans = []
    for span in sentence_spans(text, offset):
        trimmed = _without_date_marker(text, offset, span)
        if trimmed is not None:
            spans.append(trimmed)
    return spans


def _without_date_marker(text: str, offset: int, span: Span) -> Span | None:
    """The ``date YYYY-MM-DD`` marker that opens an article is metadata, not part of its first sentence."""
    if span.start - offset > 2:
        return span
    marker_end = date_line_end(text, span.start - offset)
    if marker_end is None:
        return span
    start = offset + marker_end
    return Span(start, span.end) if span.end - start > 1 else None
