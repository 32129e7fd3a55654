"""Real briefing files in the formats of :mod:`index.formats`, built in memory by the libraries that write them.

PDFs come from fpdf2, Word files from python-docx and e-mails from the standard library, so the extractors are
tested against the same structures that real tools produce rather than against hand-written bytes. Every builder
is deterministic (fixed creation dates), so a failing test fails the same way twice.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Sequence
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

import docx
import matplotlib
from fpdf import FPDF
from pypdf import PdfReader, PdfWriter

PROJECT = Path(__file__).resolve().parents[2]
SEED_BRIEFING = PROJECT / "corpus" / "000_79c4bc1eae008fdb.txt"
# A TrueType font that every install has: matplotlib, a project dependency, ships it.
DEJAVU_SANS = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"

FIXED_DATE = datetime(2024, 3, 5, 9, 30, tzinfo=UTC)

# A three-page briefing of ordinary prose: pages of paragraphs of sentences, each sentence distinct.
BRIEFING_PAGES: tuple[tuple[tuple[str, ...], ...], ...] = (
    (
        (
            "The harbour authority reopened the northern quay on Monday after three weeks of repairs.",
            "Officials said the storm in February had damaged two cranes and a stretch of the sea wall.",
            "Shipping companies had diverted about forty vessels to the southern terminal in the meantime.",
        ),
        (
            "The repair bill came to 4.2 million euros, most of it paid from the port's reserve fund.",
            'A spokeswoman for the authority, Maria Lindqvist, called the work "faster than anyone expected".',
        ),
    ),
    (
        (
            "Dock workers' unions welcomed the reopening but warned about overtime during the repairs.",
            "They asked for a review of the shift rota before the summer season begins in June.",
            "The authority agreed to meet union representatives on 14 March to discuss the rota.",
        ),
        (
            "Freight volumes fell by 12 per cent in February compared with the same month last year.",
            "Analysts expect the shortfall to be made up by the end of the second quarter.",
        ),
    ),
    (
        (
            "The city council will vote next week on a plan to raise the sea wall by half a metre.",
            "Engineers estimate that the higher wall would cut the risk of flooding by two thirds.",
        ),
        (
            "Residents of the old town have collected more than 3,000 signatures in support of the plan.",
            "The vote is expected to pass with a comfortable majority, according to local reporters.",
        ),
    ),
)
BRIEFING_TITLE = "Harbour reopens after storm repairs"


def paragraph_text(sentences: Sequence[str]) -> str:
    return " ".join(sentences)


def pdf_bytes(
    pages: Sequence[Sequence[str]],
    *,
    title: str | None = None,
    created: datetime = FIXED_DATE,
    align: str = "L",
    unicode_font: bool = False,
) -> bytes:
    """One PDF page per entry of ``pages``; each paragraph is wrapped to the page width, with a gap after it.

    ``unicode_font`` embeds DejaVu Sans (a subset TrueType font with a ToUnicode map, as most word processors
    write); otherwise the text is in the built-in Helvetica, as many report generators write.
    """
    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(False)
    pdf.set_creation_date(created)
    if title is not None:
        pdf.set_title(title)
    if unicode_font:
        pdf.add_font("DejaVu", fname=str(DEJAVU_SANS))
        pdf.set_font("DejaVu", size=11)
    else:
        pdf.set_font("Helvetica", size=11)
    for paragraphs in pages:
        pdf.add_page()
        for paragraph in paragraphs:
            pdf.multi_cell(0, 6, paragraph, align=align, new_x="LMARGIN", new_y="NEXT")
            pdf.ln(4)
    return bytes(pdf.output())


def briefing_pdf(*, align: str = "L", unicode_font: bool = False) -> bytes:
    """The three-page briefing, with its title and creation date in the metadata."""
    pages = [[paragraph_text(paragraph) for paragraph in page] for page in BRIEFING_PAGES]
    return pdf_bytes(pages, title=BRIEFING_TITLE, align=align, unicode_font=unicode_font)


def long_pdf(page_count: int, *, align: str = "L", unicode_font: bool = False) -> bytes:
    """``page_count`` pages of the briefing's prose, each sentence numbered so that every one is distinct."""
    pages = []
    for number in range(1, page_count + 1):
        source = BRIEFING_PAGES[(number - 1) % len(BRIEFING_PAGES)]
        pages.append([f"Section {number}.{index}. " + paragraph_text(p) for index, p in enumerate(source, 1)] * 2)
    return pdf_bytes(pages, align=align, unicode_font=unicode_font)


def long_pdf_sentences(page_count: int) -> list[str]:
    """The sentences of :func:`long_pdf`, as written."""
    sentences = []
    for number in range(1, page_count + 1):
        source = BRIEFING_PAGES[(number - 1) % len(BRIEFING_PAGES)]
        for _ in range(2):
            for index, paragraph in enumerate(source, 1):
                sentences.append(f"Section {number}.{index}. {paragraph[0]}")
                sentences.extend(paragraph[1:])
    return sentences


def seed_briefing_pdf() -> bytes:
    """The seed briefing as a PDF: one paragraph per blank-line-separated block, the date line first."""
    text = SEED_BRIEFING.read_text(encoding="utf-8").strip()
    paragraphs = [block.strip() for block in text.split("\n\n") if block.strip()]
    return pdf_bytes([paragraphs[:4], paragraphs[4:]], created=datetime(2022, 2, 20, 18, 0, tzinfo=UTC))


def without_metadata(source: bytes) -> bytes:
    """``source`` rewritten with an empty document information dictionary (no title, no creation date)."""
    reader = PdfReader(io.BytesIO(source))
    writer = PdfWriter()
    for page in reader.pages:
        writer.add_page(page)
    writer.metadata = None
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


HEADED_TITLE = "Port strike ends"
HEADED_FIRST = (
    "Dock workers returned to the container terminal on Thursday morning after a two-day strike over pay. "
    "The union said members had accepted the revised offer."
)
HEADED_SECOND_LINES = ("The agreement runs until the end of next year and covers the long-", "term pension fund.")


def headed_pdf() -> bytes:
    """A large heading, then two paragraphs set with no space between them, the second wrapped after a hyphen.

    Only the heading's size, the first paragraph's short last line and the hyphen tell the structure.
    """
    pdf = FPDF(format="A4")
    pdf.set_creation_date(FIXED_DATE)
    pdf.add_page()
    pdf.set_font("Helvetica", style="B", size=18)
    pdf.multi_cell(0, 10, HEADED_TITLE, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=11)
    pdf.multi_cell(0, 6, HEADED_FIRST, new_x="LMARGIN", new_y="NEXT")
    pdf.multi_cell(0, 6, "\n".join(HEADED_SECOND_LINES), new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def blank_pages_pdf(page_count: int) -> bytes:
    pdf = FPDF()
    pdf.set_creation_date(FIXED_DATE)
    for _ in range(page_count):
        pdf.add_page()
    return bytes(pdf.output())


def drawing_only_pdf() -> bytes:
    """A page with a drawn rectangle and an embedded image but no text: what a scanner produces."""
    from PIL import Image

    image = Image.new("RGB", (64, 32), (200, 200, 200))
    pdf = FPDF()
    pdf.set_creation_date(FIXED_DATE)
    pdf.add_page()
    pdf.rect(20, 20, 100, 50, style="F")
    pdf.image(image, x=20, y=90, w=120)
    return bytes(pdf.output())


def encrypted_pdf(source: bytes) -> bytes:
    """``source`` locked with a user password, so it cannot be opened without one."""
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(source)))
    writer.encrypt(user_password="secret", owner_password="owner")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


# --- Word ---------------------------------------------------------------------------------------------------

DOCX_HEADING = "Grain corridor talks resume"
DOCX_INTRO = "Negotiators met in Istanbul on Tuesday to restart talks on the grain corridor."
DOCX_AFTER_TABLE = "Both sides agreed to meet again within a fortnight."
DOCX_SECOND_HEADING = "Next steps"
DOCX_CLOSING = "A joint statement is expected on Friday, officials said."
DOCX_TABLE = (("Port", "Ships", "Tonnes"), ("Odesa", "14", "420,000"), ("Chornomorsk", "9", "275,000"))


def briefing_docx(*, title: str | None = None, created: datetime | None = FIXED_DATE) -> bytes:
    """A heading, prose, a table between paragraphs, a second heading and closing prose."""
    document = docx.Document()
    if title is not None:
        document.core_properties.title = title
    if created is not None:
        document.core_properties.created = created
    document.add_heading(DOCX_HEADING, level=1)
    document.add_paragraph(DOCX_INTRO)
    table = document.add_table(rows=len(DOCX_TABLE), cols=len(DOCX_TABLE[0]))
    for row, values in zip(table.rows, DOCX_TABLE, strict=True):
        for cell, value in zip(row.cells, values, strict=True):
            cell.text = value
    document.add_paragraph(DOCX_AFTER_TABLE)
    document.add_paragraph("")
    document.add_heading(DOCX_SECOND_HEADING, level=2)
    document.add_paragraph(DOCX_CLOSING)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def word_bytes(heading: str, paragraphs: Sequence[str], *, created: datetime | None = FIXED_DATE) -> bytes:
    """A Word file of one heading and plain paragraphs, stating ``created`` in its core properties."""
    document = docx.Document()
    if created is not None:
        document.core_properties.created = created
    document.add_heading(heading, level=1)
    for paragraph in paragraphs:
        document.add_paragraph(paragraph)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def with_created(archive: bytes, w3cdtf: str) -> bytes:
    """A Word file whose core properties state ``w3cdtf`` as the creation moment, written as Word writes it.

    (python-docx itself writes any datetime's wall-clock digits with a ``Z``, so it cannot write an offset.)
    """
    core = zipfile.ZipFile(io.BytesIO(archive)).read("docProps/core.xml").decode("utf-8")
    core = re.sub(r"(<dcterms:created[^>]*>)[^<]*(</dcterms:created>)", rf"\g<1>{w3cdtf}\g<2>", core)
    return with_zip_member(archive, "docProps/core.xml", core.encode("utf-8"))


def merged_cells_docx() -> bytes:
    """A table whose header cell spans both columns, as Word writes a merged cell."""
    document = docx.Document()
    table = document.add_table(rows=2, cols=2)
    merged = table.cell(0, 0).merge(table.cell(0, 1))
    merged.text = "Casualty figures"
    table.cell(1, 0).text = "Kharkiv"
    table.cell(1, 1).text = "12"
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def empty_docx() -> bytes:
    out = io.BytesIO()
    docx.Document().save(out)
    return out.getvalue()


def with_zip_member(archive: bytes, name: str, data: bytes) -> bytes:
    """``archive`` with member ``name`` replaced by ``data`` (deflated), every other member unchanged."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(archive)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            content = data if info.filename == name else source.read(info)
            target.writestr(info.filename, content, compresslevel=9)
    return out.getvalue()


def zip_bomb_docx(uncompressed_bytes: int) -> bytes:
    """A valid Word file whose ``word/document.xml`` inflates to ``uncompressed_bytes`` (mostly whitespace)."""
    original = zipfile.ZipFile(io.BytesIO(briefing_docx())).read("word/document.xml")
    padded = original.replace(b"<w:body>", b"<w:body>" + b" " * (uncompressed_bytes - len(original)), 1)
    return with_zip_member(briefing_docx(), "word/document.xml", padded)


# --- E-mail -------------------------------------------------------------------------------------------------

EMAIL_SUBJECT = "Briefing: ceasefire talks in Doha"
EMAIL_FROM = "Desk Editor <desk@example.org>"
EMAIL_BODY = (
    "Mediators in Doha said on Sunday that both delegations had accepted the draft agenda.\n"
    "The next round is planned for Wednesday.\n"
    "\n"
    "A fuller report follows tomorrow."
)


def email_bytes(
    *,
    subject: str | None = EMAIL_SUBJECT,
    sender: str = EMAIL_FROM,
    date: str | None = "Sun, 03 Mar 2024 23:45:00 -0500",
    plain: str | None = EMAIL_BODY,
    html: str | None = None,
    attachments: Sequence[tuple[str, bytes, str]] = (),
) -> bytes:
    """An RFC 5322 message; ``attachments`` are (filename, data, MIME type) triples."""
    message = EmailMessage()
    if subject is not None:
        message["Subject"] = subject
    message["From"] = sender
    message["To"] = "Newsroom <newsroom@example.org>"
    if date is not None:
        message["Date"] = date
    message["Message-ID"] = "<briefing-0001@example.org>"
    if plain is not None:
        message.set_content(plain)
        if html is not None:
            message.add_alternative(html, subtype="html")
    elif html is not None:
        message.set_content(html, subtype="html")
    for filename, data, mime_type in attachments:
        maintype, subtype = mime_type.split("/")
        if maintype == "text":
            message.add_attachment(data.decode("utf-8"), subtype=subtype, filename=filename)
        else:
            message.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    return bytes(message)
