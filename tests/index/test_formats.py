"""Text from PDF, Word and e-mail briefings: what is stored, what offsets point at, and why a file is refused.

Every file is built for real by the library that writes its format (see ``format_files``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from email.message import EmailMessage

import pytest

from index.errors import CorpusError
from index.formats import (
    DOCUMENT_SUFFIXES,
    EXTRACTORS,
    Attachment,
    Extracted,
    UnreadableDocument,
    extract_docx,
    extract_eml,
    extract_pdf,
    page_of,
)
from tests.index import format_files as files

BRIEFING_PARAGRAPHS = [files.paragraph_text(paragraph) for page in files.BRIEFING_PAGES for paragraph in page]
BRIEFING_TEXT = "\n\n".join(BRIEFING_PARAGRAPHS)
EMAIL_DATE = "Sun, 03 Mar 2024 23:45:00 -0500"
CALL_LENGTH_SENTENCE = (
    "In the meanwhile, Elysée stated that Macron's phone call with Putin lasted an hour and 45 minutes and it was "
    "one of the last conceivable and necessary steps to avert a massive conflict in Ukraine, according to Euro News."
)


def span_of(extracted: Extracted, sentence: str) -> tuple[int, int]:
    start = extracted.text.index(sentence)
    return start, start + len(sentence)


def refusal(extract: Callable[[bytes], Extracted], raw: bytes) -> str:
    with pytest.raises(UnreadableDocument) as raised:
        extract(raw)
    reason = str(raised.value)
    assert reason and "\n" not in reason and "Traceback" not in reason
    return reason


# --- PDF ----------------------------------------------------------------------------------------------------


def test_pdf_text_title_date_and_page_starts() -> None:
    extracted = extract_pdf(files.briefing_pdf())
    assert extracted.text == BRIEFING_TEXT
    assert (extracted.title, extracted.date) == (files.BRIEFING_TITLE, "2024-03-05")
    page_two = files.paragraph_text(files.BRIEFING_PAGES[1][0])
    page_three = files.paragraph_text(files.BRIEFING_PAGES[2][0])
    assert extracted.pages == (0, BRIEFING_TEXT.index(page_two), BRIEFING_TEXT.index(page_three))
    assert extracted.attachments == ()


@pytest.mark.parametrize(("sentence", "page_number"), [(files.BRIEFING_PAGES[i][1][0], i + 1) for i in range(3)])
def test_a_sentence_is_found_by_offsets_on_its_page(sentence: str, page_number: int) -> None:
    extracted = extract_pdf(files.briefing_pdf())
    start, end = span_of(extracted, sentence)
    assert extracted.text[start:end] == sentence
    assert page_of(extracted.pages, start) == page_number
    assert page_of(extracted.pages, end - 1) == page_number


@pytest.mark.parametrize(
    ("align", "unicode_font"),
    [("J", False), ("L", True), ("J", True)],
    ids=["justified", "embedded-font", "embedded-font-justified"],
)
def test_pdf_words_are_spaced_as_written_in_other_layouts(align: str, unicode_font: bool) -> None:
    assert extract_pdf(files.briefing_pdf(align=align, unicode_font=unicode_font)).text == BRIEFING_TEXT


def test_seed_briefing_as_pdf_keeps_its_date_line_and_the_answer_sentence() -> None:
    extracted = extract_pdf(files.seed_briefing_pdf())
    assert extracted.text.startswith("date 2022-02-20 Russian President Vladimir Putin")
    assert CALL_LENGTH_SENTENCE in extracted.text
    assert extracted.date == "2022-02-20"
    assert page_of(extracted.pages, extracted.text.index(CALL_LENGTH_SENTENCE)) == 2


def test_heading_paragraph_ends_and_line_end_hyphens() -> None:
    """No gaps between paragraphs: the heading's size and a short last line end them; a hyphen joins lines."""
    extracted = extract_pdf(files.headed_pdf())
    second = files.HEADED_SECOND_LINES[0] + files.HEADED_SECOND_LINES[1]
    assert extracted.text == "\n\n".join([files.HEADED_TITLE, files.HEADED_FIRST, second])
    assert "long-term pension" in extracted.text


def test_a_suspended_hyphen_at_a_line_end_keeps_its_space() -> None:
    """ "second- and third-graders" broken after "second-" is not one word, unlike "long-term" broken at its hyphen."""
    sentence = "Schools reopened for second- and third-graders on Monday, and for pre- or post-war buildings too."
    raw = files.pdf_bytes(
        [["Schools reopened for second-\nand third-graders on Monday, and for pre-\nor post-war buildings too."]]
    )
    assert extract_pdf(raw).text == sentence


def test_fifty_pages_read_whole_and_fast() -> None:
    raw = files.long_pdf(50, unicode_font=True, align="J")
    started = time.perf_counter()
    extracted = extract_pdf(raw)
    elapsed = time.perf_counter() - started
    assert len(extracted.pages) == 50
    assert all(sentence in extracted.text for sentence in files.long_pdf_sentences(50))
    assert extracted.text.count("\n\n") + 1 == 50 * 4
    assert elapsed < 5  # about 0.05 s on a 2-core machine
    assert extract_pdf(raw) == extracted


def test_page_without_text_keeps_later_pages_numbered() -> None:
    extracted = extract_pdf(files.pdf_bytes([[], ["Second page text."], [], ["Fourth page text."], []]))
    assert extracted.text == "Second page text.\n\nFourth page text."
    assert extracted.pages == (0, 0, 19, 19, 38)
    assert page_of(extracted.pages, 0) == 2
    assert page_of(extracted.pages, extracted.text.index("Fourth")) == 4
    assert page_of(extracted.pages, len(extracted.text) - 1) == 4


def test_characters_beyond_the_basic_plane_keep_lines_in_place() -> None:
    """PDFium counts UTF-16 units; a character outside the BMP must not shift the line positions read."""
    sign = "\U00010300"
    paragraphs = [
        f"The inscription {sign} was found near the harbour wall by divers working on the repairs this spring, "
        "and it has been taken to the city museum for cleaning.",
        f"Two more signs, {sign}{sign}, were found the next day, and the museum has asked the divers to bring up "
        "every stone that carries one.",
    ]
    extracted = extract_pdf(files.pdf_bytes([paragraphs], unicode_font=True))
    assert extracted.text == "\n\n".join(paragraphs)


def test_pdf_extraction_from_many_threads_at_once() -> None:
    """PDFium is not thread-safe; a server may extract uploads on several threads."""
    raw = files.briefing_pdf()
    with ThreadPoolExecutor(4) as pool:
        texts = set(pool.map(lambda _: extract_pdf(raw).text, range(12)))
    assert texts == {BRIEFING_TEXT}


def test_pdf_without_metadata_has_no_title_or_date() -> None:
    extracted = extract_pdf(files.without_metadata(files.briefing_pdf()))
    assert (extracted.title, extracted.date) == (None, None)
    assert extracted.text == BRIEFING_TEXT


@pytest.mark.parametrize(
    ("build", "reason"),
    [
        (lambda: files.encrypted_pdf(files.briefing_pdf()), "encrypted PDF (needs a password)"),
        (files.drawing_only_pdf, "scanned PDF: no text layer (image-only pages)"),
        (lambda: files.blank_pages_pdf(2), "scanned PDF: no text layer (no text on any page)"),
        (lambda: files.briefing_pdf()[:1500], "damaged PDF (its structure cannot be read)"),
        (lambda: b"%PDF-1.7\n" + bytes(range(256)) * 8, "damaged PDF (its structure cannot be read)"),
        (lambda: b"Quarterly report, plain text.", "damaged PDF (not a PDF file)"),
        (lambda: b"", "damaged PDF (not a PDF file)"),
        (lambda: files.blank_pages_pdf(2_001), "PDF too long (2,001 pages; at most 2,000 are read)"),
    ],
    ids=["encrypted", "image-only", "blank", "truncated", "garbage", "not-pdf", "empty", "too-long"],
)
def test_unreadable_pdfs_say_why(build: Callable[[], bytes], reason: str) -> None:
    assert refusal(extract_pdf, build()) == reason


def test_refusal_is_a_corpus_error_and_keeps_the_library_cause() -> None:
    with pytest.raises(CorpusError) as raised:
        extract_pdf(files.encrypted_pdf(files.briefing_pdf()))
    assert raised.value.__cause__ is not None


# --- page_of ------------------------------------------------------------------------------------------------


def test_page_of_edges() -> None:
    pages = (0, 100, 250)
    assert [page_of(pages, offset) for offset in (0, 99, 100, 249, 250, 10_000)] == [1, 1, 2, 2, 3, 3]
    assert page_of(pages, -1) is None
    assert page_of((), 5) is None


# --- Word ---------------------------------------------------------------------------------------------------


def test_docx_paragraphs_headings_and_table_in_body_order() -> None:
    extracted = extract_docx(files.briefing_docx())
    table = "\n".join(" | ".join(row) for row in files.DOCX_TABLE)
    assert extracted.text == "\n\n".join(
        [
            files.DOCX_HEADING,
            files.DOCX_INTRO,
            table,
            files.DOCX_AFTER_TABLE,
            files.DOCX_SECOND_HEADING,
            files.DOCX_CLOSING,
        ]
    )
    assert (extracted.title, extracted.date, extracted.pages) == (files.DOCX_HEADING, "2024-03-05", ())
    start, end = span_of(extracted, files.DOCX_CLOSING)
    assert extracted.text[start:end] == files.DOCX_CLOSING


def test_docx_stated_title_wins_and_date_is_the_utc_day() -> None:
    raw = files.with_created(files.briefing_docx(title="  Grain talks:\nday one "), "2024-03-06T01:30:00+02:00")
    extracted = extract_docx(raw)
    assert (extracted.title, extracted.date) == ("Grain talks: day one", "2024-03-05")


def test_docx_without_a_creation_date_of_its_own_has_none() -> None:
    """python-docx's blank template carries a 2013 creation date that says nothing about the document."""
    assert extract_docx(files.briefing_docx(created=None)).date is None


def test_docx_merged_cell_appears_once() -> None:
    assert extract_docx(files.merged_cells_docx()).text == "Casualty figures\nKharkiv | 12"


@pytest.mark.parametrize(
    ("build", "reason"),
    [
        (lambda: files.briefing_docx()[:4000], "damaged DOCX (not a valid Word file)"),
        (lambda: b"PK\x03\x04" + b"\x00" * 200, "damaged DOCX (not a valid Word file)"),
        (files.briefing_pdf, "damaged DOCX (not a valid Word file)"),
        (
            lambda: files.with_zip_member(files.briefing_docx(), "word/document.xml", b"<w:document"),
            "damaged DOCX (not a valid Word file)",
        ),
        (files.empty_docx, "empty DOCX (no text in the document body)"),
        (
            lambda: files.zip_bomb_docx(51 * 1024 * 1024),
            "DOCX too large (word/document.xml unpacks to 51 MB; at most 50 MB)",
        ),
        (
            lambda: b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + "EncryptionInfo".encode("utf-16-le") + b"\x00" * 64,
            "encrypted DOCX (needs a password)",
        ),
        (
            lambda: b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + "WordDocument".encode("utf-16-le") + b"\x00" * 64,
            "not a DOCX (an older Word .doc file: save it as .docx)",
        ),
    ],
    ids=["truncated", "garbage-zip", "a-pdf", "broken-xml", "empty", "zip-bomb", "encrypted", "old-doc"],
)
def test_unreadable_docx_say_why(build: Callable[[], bytes], reason: str) -> None:
    assert refusal(extract_docx, build()) == reason


# --- E-mail -------------------------------------------------------------------------------------------------


def test_email_header_block_then_body_subject_and_date_as_written() -> None:
    extracted = extract_eml(files.email_bytes())
    assert extracted.text == (
        f"Subject: {files.EMAIL_SUBJECT}\nFrom: {files.EMAIL_FROM}\nDate: {EMAIL_DATE}\n\n" + files.EMAIL_BODY
    )
    # 23:45 at -05:00 is already the 4th in UTC; the sender's day is the one the header states.
    assert (extracted.title, extracted.date, extracted.pages, extracted.attachments) == (
        files.EMAIL_SUBJECT,
        "2024-03-03",
        (),
        (),
    )
    sentence = "The next round is planned for Wednesday."
    start, end = span_of(extracted, sentence)
    assert extracted.text[start:end] == sentence


def test_email_plain_part_is_preferred_over_html() -> None:
    extracted = extract_eml(files.email_bytes(html="<p>The <b>HTML</b> version.</p>"))
    assert extracted.text.endswith(files.EMAIL_BODY)
    assert "HTML" not in extracted.text


def test_email_with_an_empty_plain_part_reads_the_html_one() -> None:
    extracted = extract_eml(files.email_bytes(plain="\n", html="<p>Talks resume on Monday.</p>"))
    assert extracted.text.endswith("\n\nTalks resume on Monday.")


def test_email_html_body_becomes_text_with_sentences_whole() -> None:
    html = (
        "<html><head><style>p {color: red}</style></head><body><h2>Doha talks</h2>"
        "<p>Mediators said the <b>talks</b>\n   went&nbsp;well on Sunday.</p><script>track()</script>"
        "<table><tr><th>Delegation</th><th>Members</th></tr><tr><td>North</td><td>6</td></tr></table>"
        "<div>Regards,<br>Desk</div></body></html>"
    )
    extracted = extract_eml(files.email_bytes(plain=None, html=html))
    body = extracted.text.split("\n\n", 1)[1]
    assert body == (
        "Doha talks\n\nMediators said the talks went well on Sunday.\n\nDelegation | Members\nNorth | 6\n\n"
        "Regards,\nDesk"
    )


def test_email_briefing_attachments_are_returned_as_files() -> None:
    pdf = files.briefing_pdf()
    raw = files.email_bytes(
        attachments=[
            ("harbour.pdf", pdf, "application/pdf"),
            ("../../notes.txt", b"date 2024-03-01 Notes from the call.", "text/plain"),
            ("photo.png", b"\x89PNG\r\n\x1a\n", "image/png"),
        ]
    )
    attachments = extract_eml(raw).attachments
    assert [attachment.filename for attachment in attachments] == ["harbour.pdf", "notes.txt"]
    assert attachments[0] == Attachment("harbour.pdf", pdf)
    assert extract_pdf(attachments[0].data).text == BRIEFING_TEXT
    assert attachments[1].data.startswith(b"date 2024-03-01 Notes from the call.")


def test_forwarded_message_is_an_eml_attachment() -> None:
    outer = EmailMessage()
    outer["Subject"] = "Fwd: Doha"
    outer["From"] = files.EMAIL_FROM
    outer.set_content("See the message below.")
    outer.add_attachment(_inner_message())
    attachments = extract_eml(bytes(outer)).attachments
    assert [attachment.filename for attachment in attachments] == ["message-1.eml"]
    assert extract_eml(attachments[0].data).title == files.EMAIL_SUBJECT


def _inner_message() -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = files.EMAIL_SUBJECT
    message["From"] = files.EMAIL_FROM
    message.set_content(files.EMAIL_BODY)
    return message


def test_attachment_only_email_keeps_its_header_block() -> None:
    raw = files.email_bytes(plain=None, attachments=[("harbour.pdf", files.briefing_pdf(), "application/pdf")])
    extracted = extract_eml(raw)
    assert extracted.text == f"Subject: {files.EMAIL_SUBJECT}\nFrom: {files.EMAIL_FROM}\nDate: {EMAIL_DATE}"
    assert [attachment.filename for attachment in extracted.attachments] == ["harbour.pdf"]


def test_email_without_subject_or_with_a_bad_date() -> None:
    raw = files.email_bytes(subject=None).replace(EMAIL_DATE.encode(), b"sometime last week")
    extracted = extract_eml(raw)
    assert (extracted.title, extracted.date) == (None, None)
    assert extracted.text.startswith(f"From: {files.EMAIL_FROM}\nDate: sometime last week\n\n")
    assert extract_eml(files.email_bytes(date=None)).date is None


def test_flowed_text_and_unknown_charset() -> None:
    raw = (
        b"From: desk@example.org\r\nSubject: Flowed\r\nMIME-Version: 1.0\r\n"
        b"Content-Type: text/plain; charset=x-unknown-charset; format=flowed\r\n\r\n"
        b"The talks in Doha resumed \r\non Sunday.\r\n\r\nCaf\xc3\xa9 owners nearby were pleased.\r\n"
    )
    body = extract_eml(raw).text.split("\n\n", 1)[1]
    assert body == "The talks in Doha resumed on Sunday.\n\nCafé owners nearby were pleased."


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (files.email_bytes(plain=None), "empty e-mail (no text body)"),
        (files.email_bytes(plain=" \n\n "), "empty e-mail (no text body)"),
        (
            files.email_bytes(plain=None, attachments=[("photo.png", b"\x89PNG", "image/png")]),
            "empty e-mail (no text body)",
        ),
        (b"Just a note to myself\nabout the talks.\n", "damaged e-mail (no message headers)"),
        (b"", "damaged e-mail (no message headers)"),
        (b"%PDF-1.7\n\x00\x01\x02binary", "damaged e-mail (no message headers)"),
    ],
    ids=["no-body", "blank-body", "only-an-image", "plain-text", "empty", "binary"],
)
def test_unreadable_emails_say_why(raw: bytes, reason: str) -> None:
    assert refusal(extract_eml, raw) == reason


# --- the package ----------------------------------------------------------------------------------------------


def test_extractors_by_suffix() -> None:
    assert {".pdf", ".docx", ".eml"} == DOCUMENT_SUFFIXES
    assert EXTRACTORS[".docx"] is extract_docx
    assert EXTRACTORS[".eml"](files.email_bytes()).title == files.EMAIL_SUBJECT
