"""Sentence positions count an article's title as sentence 0, whether or not its text opens with the title.

The ranking weights reward a news lead (the sentence after the title); a PDF, Word file or e-mail whose title
lives in its metadata opens with that lead, so without the shift its lead would rank as if it were the title.
"""

from __future__ import annotations

from assistant.answer.evidence import title_shift
from index.store import StoredChunk

LEAD = "The harbour authority reopened the northern quay on Monday after three weeks of repairs."


def chunk(text: str, title: str, start: int = 0) -> StoredChunk:
    return StoredChunk("c1", "doc", title, None, start, start + len(text), text)


def test_a_text_that_opens_with_its_title_is_not_shifted() -> None:
    assert title_shift(chunk(f"Harbour reopens\n{LEAD}", "Harbour reopens")) == 0


def test_the_date_line_and_a_byte_order_mark_do_not_hide_the_title() -> None:
    text = f"\ufeffdate 2024-03-05 Harbour reopens after storm repairs. {LEAD}"
    assert title_shift(chunk(text, "Harbour reopens after storm repairs.")) == 0


def test_a_shortened_title_still_matches_its_opening() -> None:
    sentence = "Russian President Vladimir Putin and French President Emmanuel Macron spoke on Sunday about NATO."
    assert title_shift(chunk(f" date 2022-02-20 {sentence}", sentence[:60].rsplit(" ", 1)[0] + "…")) == 0


def test_a_document_whose_title_is_only_in_its_metadata_is_shifted_by_one() -> None:
    assert title_shift(chunk(LEAD, "Harbour reopens after storm repairs")) == 1


def test_only_the_first_chunk_can_be_shifted() -> None:
    assert title_shift(chunk(LEAD, "Harbour reopens after storm repairs", start=120)) == 0
