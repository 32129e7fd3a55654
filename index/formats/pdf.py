"""PDF text through PDFium (pypdfium2), rejoined into paragraphs so that sentences read as written.

Why PDFium rather than pypdf, measured on briefings built with fpdf2 (3 and 50 pages; built-in Helvetica and an
embedded DejaVu TrueType subset, each left-aligned and justified; 1,928 sentences in all) on this project's
2-core machine, timing only the libraries' own page-text calls (median of 7 to 21 runs; two rounds, the
second on a busier machine):

    =========================  ===============  ================================================
    library                    pages/s          sentences found verbatim in the page text
                               (all 8 files)    whitespace normalised    lines joined by " "
    =========================  ===============  ================================================
    pypdfium2 5.15 (PDFium)    2,682 - 3,256    1,928 / 1,928            1,928 / 1,928
    pypdf 7.1, plain mode      417 - 536        1,928 / 1,928            1,855 / 1,928
    pypdf 7.1, layout mode     385 - 435        1,928 / 1,928            1,889 / 1,928
    =========================  ===============  ================================================

Both read every word, but pypdf puts two spaces between the words of justified lines in an embedded font
(``"The  harbour  authority"``), and PDFium is five to six times faster (on the 50-page justified TrueType
file, 2,320 - 3,787 pages/s against 276 - 291). PDFium also reports where each line sits on the page, which
is what tells a wrapped line from a new paragraph here. :func:`extract_pdf` as a whole, paragraph rules
included, reads 1,250 - 1,770 pages/s of those files and gives back every sentence and paragraph exactly as
written; on a Chromium print of an HTML briefing, too, every sentence and paragraph came back whole.

PDFium states no text layout, only lines. Lines are joined with a space inside a paragraph (or with nothing
after a hyphen that ends a line, the hyphen kept, since "long-term" and "recon-struction" cannot be told
apart; a suspended hyphen, "second-" before "and third-graders", keeps its space). A paragraph ends where the
gap to the next line is clearly wider than the document's usual line gap, where the font size changes (a
heading), where text jumps up the page (a new column), or after a line that stops well short of the right
margin when it ends a sentence or the next line starts with a capital (list items, headings in the body's
font). Paragraphs are separated by ``"\\n\\n"``, and so are pages. Where every
gap is the same and no line ends short (one-line paragraphs, evenly spaced), the lines read as one paragraph:
the sentences stay whole, only the breaks are lost.

PDFium is not thread-safe, so one lock serialises every call into it.
"""

from __future__ import annotations

import re
import statistics
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

from index.formats.common import Extracted, UnreadableDocument, clean_line, iso_date, one_line

MAX_PAGES = 2_000

_PDFIUM = threading.Lock()
_PDF_DATE = re.compile(r"\s*(?:D:)?(\d{4})(\d{2})(\d{2})")
# PDFium writes a hyphen that ends a line as U+FFFE (or U+0002); it stays a hyphen. A soft hyphen (U+00AD) in
# the text is a break the author's tool chose, and is dropped.
_HYPHEN_MARKS = str.maketrans({"\ufffe": "-", "\x02": "-", "\u00ad": None})
# "second- and third-graders", "pre- or post-war": a hyphen before "and"/"or" at a line end is a suspended one,
# written with a space after it, so the next line is joined with that space.
_SUSPENDED = re.compile(r"(?:and|or|nor)\b")
_SUSPENDED_MARK = re.compile(r"[\ufffe\x02](?=(?:and|or|nor)\b)")  # the same, where PDFium ran the lines together
_SENTENCE_END = re.compile(r"[.!?:][\"'”’)\]]*$")

# Paragraph rules, in units of the line's font height (ascent to descent).
_PARAGRAPH_GAP = 0.5  # a gap wider than half a line...
_USUAL_GAP_FACTOR = 1.5  # ...and half as wide again as the document's usual gap between lines
_FONT_CHANGE = 0.25  # a line a quarter taller or shorter than the one before starts a paragraph
_SHORT_LINE = 0.15  # a line ending this share of the text width before the right margin is short


@dataclass(frozen=True)
class _Line:
    """One line of a page, in PDF coordinates (y grows upwards): top of its first character, bottom of its last.

    PDFium sometimes runs a line that ends in a hyphen into the next one, so the two ends can be on different
    visual lines; ``height`` is the font height of the first character.
    """

    text: str
    left: float
    right: float
    top: float
    bottom: float
    height: float
    soft_hyphen: bool


def extract_pdf(raw: bytes) -> Extracted:
    """Text, title, creation date and page starts of a PDF; :class:`UnreadableDocument` says why not."""
    if b"%PDF" not in raw[:1024]:
        raise UnreadableDocument("damaged PDF (not a PDF file)")
    with _PDFIUM:
        document = _open(raw)
        try:
            return _read(document)
        except UnreadableDocument:
            raise
        except Exception as error:  # PdfiumError mostly; anything else from the bindings means the same
            raise UnreadableDocument("damaged PDF (a page cannot be read)") from error
        finally:
            document.close()


def _open(raw: bytes) -> Any:
    try:
        return pdfium.PdfDocument(raw)
    except pdfium.PdfiumError as error:
        if error.err_code == pdfium_c.FPDF_ERR_PASSWORD:
            raise UnreadableDocument("encrypted PDF (needs a password)") from error
        if error.err_code == pdfium_c.FPDF_ERR_SECURITY:
            raise UnreadableDocument("encrypted PDF (unsupported encryption)") from error
        raise UnreadableDocument("damaged PDF (its structure cannot be read)") from error


def _read(document: Any) -> Extracted:
    page_count = len(document)
    if page_count > MAX_PAGES:
        raise UnreadableDocument(f"PDF too long ({page_count:,} pages; at most {MAX_PAGES:,} are read)")
    pages = [_page_lines(document, index) for index in range(page_count)]
    if not any(pages):
        what = "image-only pages" if _has_images(document) else "no text on any page"
        raise UnreadableDocument(f"scanned PDF: no text layer ({what})")
    usual_gap = _usual_gap(pages)
    text, starts = _join_pages(["\n\n".join(_paragraphs(lines, usual_gap)) for lines in pages])
    metadata = document.get_metadata_dict()
    return Extracted(text, one_line(metadata.get("Title")), _pdf_date(metadata.get("CreationDate")), starts)


def _join_pages(page_texts: Sequence[str]) -> tuple[str, tuple[int, ...]]:
    """Pages separated by a blank line; a page without text starts where the next text would, so no offset
    falls on it."""
    parts: list[str] = []
    starts: list[int] = []
    length = 0
    for page_text in page_texts:
        start = length + 2 if parts else 0
        starts.append(start)
        if page_text:
            parts.append(page_text)
            length = start + len(page_text)
    return "\n\n".join(parts), tuple(starts)


def _page_lines(document: Any, index: int) -> list[_Line]:
    page = document[index]
    try:
        textpage = page.get_textpage()
        try:
            return _lines(textpage)
        finally:
            textpage.close()
    finally:
        page.close()


def _lines(textpage: Any) -> list[_Line]:
    """The page's lines with their boxes; PDFium separates lines with ``\\r\\n`` and counts in UTF-16 units."""
    lines: list[_Line] = []
    position = 0
    for chunk in textpage.get_text_range(errors="surrogatepass").split("\r\n"):
        stripped = chunk.rstrip()
        text = clean_line(_SUSPENDED_MARK.sub("- ", stripped).translate(_HYPHEN_MARKS))
        if text:
            first = position + _utf16_length(chunk[: len(chunk) - len(chunk.lstrip())])
            last = position + _utf16_length(stripped) - 1
            left, first_bottom, _, top = _char_box(textpage, first)
            _, bottom, right, _ = _char_box(textpage, last)
            soft_hyphen = stripped.endswith("\u00ad")
            lines.append(_Line(text, left, right, top, bottom, top - first_bottom, soft_hyphen))
        position += _utf16_length(chunk) + 2
    return lines


def _utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def _char_box(textpage: Any, text_index: int) -> tuple[float, float, float, float]:
    """The font box (not the glyph's ink) of a character, so every line of one font has the same height."""
    char_index = pdfium_c.FPDFText_GetCharIndexFromTextIndex(textpage, text_index)
    if char_index < 0:
        return (0.0, 0.0, 0.0, 0.0)
    left, bottom, right, top = textpage.get_charbox(char_index, loose=True)
    return (float(left), float(bottom), float(right), float(top))


def _usual_gap(pages: Sequence[Sequence[_Line]]) -> float:
    """The median gap between consecutive lines in the whole document: most lines are inside a paragraph."""
    gaps = [above.bottom - below.top for lines in pages for above, below in pairwise(lines)]
    return statistics.median(gaps) if gaps else 0.0


def _paragraphs(lines: Sequence[_Line], usual_gap: float) -> list[str]:
    """The page's lines joined into paragraphs; a line is full unless it ends well short of the page's longest."""
    if not lines:
        return []
    text_left = min(line.left for line in lines)
    text_right = max(line.right for line in lines)
    short_of = text_right - _SHORT_LINE * (text_right - text_left)
    paragraphs: list[str] = []
    current = lines[0].text
    for above, below in pairwise(lines):
        if _starts_paragraph(above, below, usual_gap, short_of):
            paragraphs.append(current)
            current = below.text
        elif above.soft_hyphen or (
            above.text.endswith("-") and above.text[-2:-1].isalpha() and not _SUSPENDED.match(below.text)
        ):
            current += below.text
        else:
            current += " " + below.text
    paragraphs.append(current)
    return paragraphs


def _starts_paragraph(above: _Line, below: _Line, usual_gap: float, short_of: float) -> bool:
    height = max(above.height, below.height, 1e-3)
    gap = above.bottom - below.top
    if below.top > above.top + 0.5 * height:
        return True  # text jumped up the page: a new column or block
    if abs(above.height - below.height) > _FONT_CHANGE * height:
        return True
    if gap > _PARAGRAPH_GAP * height and gap > _USUAL_GAP_FACTOR * usual_gap:
        return True
    # A line that stops well short of the margin ended for a reason other than wrapping, when it closes a
    # sentence or the next line starts with a capital: a list item, a heading in the body's font, an address.
    ends_early = above.right < short_of
    return ends_early and (_SENTENCE_END.search(above.text) is not None or below.text[:1].isupper())


def _has_images(document: Any) -> bool:
    for index in range(len(document)):
        page = document[index]
        try:
            if any(True for _ in page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_IMAGE])):
                return True
        finally:
            page.close()
    return False


def _pdf_date(value: str | None) -> str | None:
    """``D:YYYYMMDDHHmmSS+hh'mm'`` -> ``YYYY-MM-DD``, the day as written in the document's own time zone."""
    match = _PDF_DATE.match(value or "")
    if not match:
        return None
    year, month, day = (int(group) for group in match.groups())
    return iso_date(year, month, day)
