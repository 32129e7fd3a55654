"""Load one file into an :class:`Article` (an e-mail: with its attached briefings), or say why it is not one.

Offsets in citations count characters into ``Article.text``; for ``.txt`` and ``.md`` that is the whole
file exactly as ``open(path, encoding="utf-8").read()`` returns it (date line and any BOM included, line ends
translated to ``\n``), so anyone can verify a quote with ``open(path, encoding="utf-8").read()[start:end]``.
For HTML it is the text extracted by trafilatura; for PDF, Word and e-mail the text extracted by
:mod:`index.formats` (a PDF's page starts kept, so a citation can name its page). The index stores that text,
and ``GET /api/articles/{doc}`` serves it, so a quote can be checked against it.
The recorded ``source`` is the resolved absolute path, so a quote can be checked from any working directory.
An e-mail's attachments that are briefings themselves become articles of their own, with ids under the
e-mail's (``mail.eml/report.pdf``), the e-mail as ``parent`` and source, and the e-mail's date unless they
state their own; an unreadable attachment is reported and the e-mail kept.

Owns reading and judging single files; must not import chromadb or touch the index, and must not import
the assistant's service or adapters (only its shared text helpers).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

from assistant.text.dates import DATE_LINE
from index.errors import CorpusNotFound
from index.formats import (
    BRIEFING_SUFFIXES,
    DOCUMENT_SUFFIXES,
    EXTRACTION_VERSION,
    EXTRACTORS,
    Extracted,
    UnreadableDocument,
)

TEXT_SUFFIXES = frozenset({".txt", ".md", ".markdown"})
HTML_SUFFIXES = frozenset({".html", ".htm"})
ARTICLE_SUFFIXES = TEXT_SUFFIXES | HTML_SUFFIXES | DOCUMENT_SUFFIXES
_MAIL_HEADER = re.compile(rb"[A-Za-z][\w-]*:[ \t]")  # "From: ...", "Subject: ..." at the top of a message
MAX_ATTACHMENT_DEPTH = 2  # an e-mail forwarded inside an e-mail is read; deeper nesting is not followed

MAX_TITLE_CHARS = 120
_MD_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.+?)\s*#*\s*$", re.MULTILINE)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s")


@dataclass(frozen=True)
class Article:
    """One briefing as the index sees it.

    ``content_hash`` is over the raw bytes, so re-ingesting an unchanged file is a no-op;
    ``lossy`` is true when bytes were not valid UTF-8 and were replaced. ``pages`` holds where each page
    starts in ``text`` (PDF only); ``parent`` is the id of the e-mail an attachment came with.
    """

    id: str
    title: str
    date: str | None
    text: str
    source: str
    content_hash: str
    lossy: bool = False
    pages: tuple[int, ...] = ()
    parent: str | None = None


@dataclass(frozen=True)
class Rejected:
    """A file that could not be loaded, and why (for the single ingest warning)."""

    source: str
    reason: str


@dataclass(frozen=True)
class SourceFile:
    """A file found under an ingest path, with the article id it will get."""

    path: Path
    doc_id: str


def discover(paths: Iterable[Path]) -> tuple[list[SourceFile], list[Rejected]]:
    """List the article files under ``paths``; ids are relative to the folder given (or the file name).

    Hidden files and folders are skipped, as are files whose suffix is not an article format (so a
    ``questions.jsonl`` beside the articles is ignored). A file named directly with an unknown suffix is
    reported as rejected rather than ignored, because the user asked for it.
    """
    found: list[SourceFile] = []
    rejected: list[Rejected] = []
    for root in paths:
        if not root.exists():
            raise CorpusNotFound(f"Corpus path not found: {root}")
        if root.is_file():
            if root.suffix.lower() in ARTICLE_SUFFIXES:
                found.append(SourceFile(root, root.name))
            else:
                rejected.append(Rejected(str(root), f"unsupported file type {root.suffix or '(none)'}"))
            continue
        found.extend(_walk_folder(root))
    return found, rejected


def _walk_folder(root: Path) -> Iterator[SourceFile]:
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if any(part.startswith(".") for part in relative.parts):
            continue
        if path.is_file() and path.suffix.lower() in ARTICLE_SUFFIXES:
            yield SourceFile(path, relative.as_posix())


def load_article(source: SourceFile) -> Article | Rejected:
    """Read and parse one file; never raises for a bad file, returns :class:`Rejected` instead."""
    articles, rejected = load_articles(source)
    return articles[0] if articles else rejected[0]


def load_articles(source: SourceFile) -> tuple[list[Article], list[Rejected]]:
    """The file's article first, then those of its attached briefings; what could not be read, and why.

    No article and one rejection when the file itself cannot be read; never raises for a bad file.
    """
    try:
        raw = source.path.read_bytes()
    except OSError as error:
        return [], [Rejected(str(source.path), f"unreadable ({error.strerror or error})")]
    suffix = source.path.suffix.lower()
    return load_bytes(source.doc_id, suffix, raw, str(source.path.resolve()), str(source.path))


def load_bytes(
    doc_id: str, suffix: str, raw: bytes, source: str, where: str, parent: str | None = None, depth: int = 0
) -> tuple[list[Article], list[Rejected]]:
    """Articles from the bytes of a file of type ``suffix``.

    ``source`` is the file recorded in the index (an attachment's is its e-mail's), ``where`` how a rejection
    names it: the path as given, and for an attachment ``"mail.eml (mail.eml/report.pdf)"``.
    """
    if not raw.strip():
        return [], [Rejected(where, "empty")]
    if suffix in DOCUMENT_SUFFIXES:
        return _load_document(doc_id, suffix, raw, source, where, parent, depth)
    if _looks_binary(raw):
        return [], [Rejected(where, "binary, not text" + _misnamed(raw, suffix))]
    try:
        decoded, lossy = raw.decode("utf-8"), False
    except UnicodeDecodeError:
        decoded, lossy = raw.decode("utf-8", errors="replace"), True
    decoded = universal_newlines(decoded)
    if suffix in HTML_SUFFIXES:
        text, html_title = _extract_html(decoded)
    else:
        text, html_title = decoded, None
    if not text.strip():
        return [], [Rejected(where, "no text found")]
    date = parse_date_line(text)
    title = html_title or _title_of(text, markdown=suffix in {".md", ".markdown"})
    digest = hashlib.sha256(raw).hexdigest()
    return [Article(doc_id, title, date, text, source, digest, lossy, parent=parent)], []


def _load_document(
    doc_id: str, suffix: str, raw: bytes, source: str, where: str, parent: str | None, depth: int
) -> tuple[list[Article], list[Rejected]]:
    """A PDF, Word or e-mail file: its extracted text, the date it states, its pages and its attachments."""
    try:
        extracted: Extracted = EXTRACTORS[suffix](raw)
    except UnreadableDocument as error:
        return [], [Rejected(where, str(error) + _misnamed(raw, suffix))]
    text = extracted.text
    date = parse_date_line(text) or extracted.date
    title = _shorten(extracted.title) if extracted.title else _title_of(text, markdown=False)
    # the extractor's version counts as content: a better extractor re-extracts every document on the next ingest
    digest = hashlib.sha256(raw + f"extracted:{EXTRACTION_VERSION}".encode()).hexdigest()
    articles = [Article(doc_id, title, date, text, source, digest, pages=extracted.pages, parent=parent)]
    rejected: list[Rejected] = []
    if depth >= MAX_ATTACHMENT_DEPTH:
        return articles, rejected
    for attachment in extracted.attachments:
        attached_suffix = Path(attachment.filename).suffix.lower()
        if attached_suffix not in BRIEFING_SUFFIXES:
            continue
        inner_id = f"{doc_id}/{attachment.filename}"
        shown = f"{where.split(' (', 1)[0]} ({inner_id})"
        inner, refused = load_bytes(inner_id, attached_suffix, attachment.data, source, shown, doc_id, depth + 1)
        articles.extend(article if article.date else replace(article, date=date) for article in inner)
        rejected.extend(refused)
    return articles, rejected


def universal_newlines(text: str) -> str:
    """Line ends as a reader sees them: text-mode ``open()`` turns ``\r\n`` and a lone ``\r`` into ``\n``.

    Without this a file saved with Windows or old Mac line ends would be indexed with offsets that drift from
    the text a reader gets, by one character per line end before the quote.
    """
    return text.replace("\r\n", "\n").replace("\r", "\n")


def parse_date_line(text: str) -> str | None:
    """``date YYYY-MM-DD ...`` on the first line gives the date; an impossible date is ignored."""
    match = DATE_LINE.match(text)
    if not match:
        return None
    year, month, day = (int(group) for group in match.groups())
    if not (1 <= month <= 12 and 1 <= day <= 31):
        return None
    return f"{year:04d}-{month:02d}-{day:02d}"


def body_without_date(text: str) -> str:
    """The text after the ``date YYYY-MM-DD`` marker (used for titles, never for offsets)."""
    match = DATE_LINE.match(text)
    return text[match.end() :] if match else text


def _title_of(text: str, markdown: bool) -> str:
    """First heading, else the first line (after the date marker), cut to its first sentence.

    A byte-order mark stays in the text (a reader's ``open()`` keeps it, and offsets count it) but not in a title.
    """
    text = text.removeprefix("\ufeff")
    if markdown:
        heading = _MD_HEADING.search(text)
        if heading:
            return _shorten(heading.group(1))
    for line in body_without_date(text).splitlines():
        if line.strip():
            return _shorten(_SENTENCE_END.split(line.strip(), maxsplit=1)[0])
    return "Untitled"


def _shorten(title: str) -> str:
    title = " ".join(title.split()).lstrip("#").strip()
    if len(title) <= MAX_TITLE_CHARS:
        return title
    return title[: MAX_TITLE_CHARS - 1].rsplit(" ", 1)[0] + "…"


def _misnamed(raw: bytes, suffix: str) -> str:
    """How to fix a file whose name says one type and whose bytes say another (``" (it is a PDF: ...)"``), or ``""``.

    A PDF saved as ``.txt`` or a text file saved as ``.pdf`` is refused either way (its offsets could not be
    checked the way its name promises), but the reason should say what it really is.
    """
    actual = _sniffed_suffix(raw)
    if actual is None or actual == suffix or (actual == ".txt" and suffix not in DOCUMENT_SUFFIXES):
        return ""
    if actual == ".doc" and suffix == ".docx":  # the Word reader says this one itself
        return ""
    if actual == ".txt" and suffix == ".eml" and _MAIL_HEADER.match(raw.lstrip()[:200]):
        return ""  # an e-mail is text: one with headers is an e-mail, however empty its body
    if actual == ".doc":
        return " (it is an older Word .doc file: save it as .docx)"
    kind = {".pdf": "a PDF", ".docx": "a Word file", ".txt": "plain text"}[actual]
    return f" (it is {kind}: rename it to {actual})"


def _sniffed_suffix(raw: bytes) -> str | None:
    """The type the bytes themselves announce: a PDF, a Word file, an old Word file, or text; else ``None``."""
    if raw.lstrip()[:5] == b"%PDF-":
        return ".pdf"
    if raw[:4] == b"PK\x03\x04" and b"word/" in raw[:65536]:
        return ".docx"
    if raw[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        return ".doc"
    if not _looks_binary(raw):
        try:
            raw[:65536].decode("utf-8")
        except UnicodeDecodeError:
            return None
        return ".txt"
    return None


def _looks_binary(raw: bytes) -> bool:
    """NUL bytes or many control characters in the first 8 KiB mean this is not an article."""
    head = raw[:8192]
    if b"\x00" in head:
        return True
    controls = sum(1 for byte in head if byte < 9 or 13 < byte < 32)
    return controls > len(head) * 0.05


def _extract_html(html: str) -> tuple[str, str | None]:
    """Main text and title of an HTML page, through trafilatura (boilerplate such as menus is dropped)."""
    import trafilatura  # imported lazily: it is slow to import and only HTML needs it

    text = trafilatura.extract(html, favor_recall=True, include_tables=True, include_comments=False) or ""
    metadata = trafilatura.extract_metadata(html)
    title = metadata.title if metadata is not None and metadata.title else None
    return text, (_shorten(title) if title else None)
