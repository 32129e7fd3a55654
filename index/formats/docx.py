"""Word (.docx) text through python-docx: paragraphs and tables in the order the body holds them.

Headings and paragraphs become paragraphs separated by ``"\\n\\n"`` (a line break inside a paragraph stays a
``"\\n"``); a table becomes one line per row, cells separated by ``" | "``, at the place it stands in the body.
Headers, footers, footnotes, comments and text boxes are not read. The archive's sizes are checked before
python-docx unpacks it, because python-docx holds every part in memory.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime

import docx
from docx.document import Document as WordDocument
from docx.opc.constants import RELATIONSHIP_TYPE
from docx.table import Table, _Cell
from docx.text.paragraph import Paragraph

from index.formats.common import Extracted, UnreadableDocument, clean_line, one_line

MAX_XML_BYTES = 50 * 1024 * 1024  # the unpacked size of one XML part, word/document.xml above all
MAX_UNPACKED_BYTES = 250 * 1024 * 1024  # the unpacked size of the whole archive, images included
MAX_PARTS = 10_000

_OLE_SIGNATURE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # the container of .doc files and of encrypted .docx
_ENCRYPTION_STREAM = "EncryptionInfo".encode("utf-16-le")
# python-docx's blank template says it was created at this moment; a file built from it without setting
# the date carries it, and it says nothing about the document.
_TEMPLATE_CREATED = datetime(2013, 12, 23, 23, 15, tzinfo=UTC)
_CELL_SEPARATOR = " | "


def extract_docx(raw: bytes) -> Extracted:
    """Text, title and creation date of a Word file; :class:`UnreadableDocument` says why not."""
    if raw.startswith(_OLE_SIGNATURE):
        if _ENCRYPTION_STREAM in raw:
            raise UnreadableDocument("encrypted DOCX (needs a password)")
        raise UnreadableDocument("not a DOCX (an older Word .doc file: save it as .docx)")
    _check_archive(raw)
    try:
        document = docx.Document(io.BytesIO(raw))
        blocks = list(_blocks(document.iter_inner_content()))
        title = _title(document)
        date = _created(document)
    except UnreadableDocument:
        raise
    except Exception as error:  # python-docx raises whatever its zip, XML and package layers raise
        raise UnreadableDocument("damaged DOCX (not a valid Word file)") from error
    text = "\n\n".join(blocks)
    if not text:
        raise UnreadableDocument("empty DOCX (no text in the document body)")
    return Extracted(text, title, date)


def _check_archive(raw: bytes) -> None:
    """Refuse a zip bomb from the sizes the archive declares (zipfile never inflates past a declared size)."""
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as error:
        raise UnreadableDocument("damaged DOCX (not a valid Word file)") from error
    if len(members) > MAX_PARTS:
        raise UnreadableDocument(f"DOCX too large ({len(members):,} parts; at most {MAX_PARTS:,})")
    for member in members:
        if member.filename.endswith((".xml", ".rels")) and member.file_size > MAX_XML_BYTES:
            raise UnreadableDocument(
                f"DOCX too large ({member.filename} unpacks to {_megabytes(member.file_size)}; "
                f"at most {_megabytes(MAX_XML_BYTES)})"
            )
    unpacked = sum(member.file_size for member in members)
    if unpacked > MAX_UNPACKED_BYTES:
        raise UnreadableDocument(
            f"DOCX too large (unpacks to {_megabytes(unpacked)}; at most {_megabytes(MAX_UNPACKED_BYTES)})"
        )


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):,.0f} MB"


def _blocks(content: Iterator[Paragraph | Table]) -> Iterator[str]:
    for block in content:
        text = _paragraph_text(block) if isinstance(block, Paragraph) else _table_text(block)
        if text:
            yield text


def _paragraph_text(paragraph: Paragraph) -> str:
    lines = (clean_line(line) for line in paragraph.text.split("\n"))
    return "\n".join(line for line in lines if line)


def _table_text(table: Table) -> str:
    rows = (_CELL_SEPARATOR.join(_row_cells(row.cells)) for row in table.rows)
    return "\n".join(row for row in rows if row.replace("|", "").strip())


def _row_cells(cells: tuple[_Cell, ...]) -> list[str]:
    """Each cell once: python-docx repeats a cell that spans columns, as the same object."""
    texts: list[str] = []
    previous: _Cell | None = None
    for cell in cells:
        if cell is not previous:
            texts.append(_cell_text(cell))
        previous = cell
    return texts


def _cell_text(cell: _Cell) -> str:
    """A cell on one line, nested tables included, so that each row stays one line."""
    parts: list[str] = []
    for block in cell.iter_inner_content():
        if isinstance(block, Paragraph):
            parts.append(" ".join(_paragraph_text(block).split("\n")))
        else:
            parts.extend("; ".join(_row_cells(row.cells)) for row in block.rows)
    return " ".join(part for part in parts if part)


def _title(document: WordDocument) -> str | None:
    """The title the file states, else its first Title or Heading paragraph."""
    if _has_core_properties(document):
        stated = one_line(str(document.core_properties.title or ""))
        if stated:
            return stated
    for paragraph in document.paragraphs:
        style = paragraph.style.name if paragraph.style is not None else ""
        if style == "Title" or (style or "").startswith("Heading"):
            heading = one_line(paragraph.text)
            if heading:
                return heading
    return None


def _created(document: WordDocument) -> str | None:
    """The creation day in UTC (Word stores the moment in UTC); a moment without a zone is taken as UTC."""
    if not _has_core_properties(document):
        return None
    created: datetime | None = document.core_properties.created
    if created is None:
        return None
    moment = created.astimezone(UTC) if created.tzinfo else created.replace(tzinfo=UTC)
    if moment == _TEMPLATE_CREATED:
        return None
    return moment.date().isoformat()


def _has_core_properties(document: WordDocument) -> bool:
    """python-docx invents properties (title "Word Document", modified now) for a file without them."""
    try:
        document.part.package.part_related_by(RELATIONSHIP_TYPE.CORE_PROPERTIES)
    except KeyError:
        return False
    return True
