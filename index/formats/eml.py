"""E-mail (.eml) text through the standard library's parser: a short header block, then the body.

The stored text is::

    Subject: <subject>
    From: <sender>
    Date: <the Date: header as written>

    <body>

so that a reader of a quote sees who wrote it and when (a header that is missing is left out). The body is the
text/plain part, or else the text/html part converted to text by the standard library's HTML parser. Not
trafilatura, as for HTML briefings: an e-mail body is all message and no page furniture, and on short bodies
trafilatura both drops text and breaks lines at inline tags (``<p>Mediators said the <b>talks</b> went
well.</p>`` came back as three lines), which would split sentences.
Attachments whose names end in a briefing suffix are handed back as files for ingest to load on their own; an
e-mail that only carries such attachments keeps the header block as its text.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from email import policy
from email.message import EmailMessage, Message
from email.parser import BytesParser
from email.utils import parsedate_to_datetime
from html.parser import HTMLParser
from pathlib import PurePosixPath

from index.formats.common import BRIEFING_SUFFIXES, Attachment, Extracted, UnreadableDocument, clean_line, one_line

HEADER_FIELDS = ("Subject", "From", "Date")
# At least one of these shows that the bytes are a message and not some other text.
_MESSAGE_HEADERS = frozenset(
    {"from", "to", "cc", "subject", "date", "message-id", "received", "mime-version", "sender", "reply-to"}
)
_BLANK_LINES = re.compile(r"\n{3,}")


def extract_eml(raw: bytes) -> Extracted:
    """Text (header block and body), subject, date and briefing attachments of an e-mail."""
    try:
        message = BytesParser(policy=policy.default).parsebytes(raw)
        if not any(name.lower() in _MESSAGE_HEADERS for name in message):
            raise UnreadableDocument("damaged e-mail (no message headers)")
        headers = {name: one_line(str(message[name])) if name in message else None for name in HEADER_FIELDS}
        body_part, body = _body(message)
        attachments = tuple(_attachments(message, body_part))
    except UnreadableDocument:
        raise
    except Exception as error:  # the parser's header and MIME layers raise many kinds on malformed input
        raise UnreadableDocument("damaged e-mail (cannot be parsed)") from error
    if not body and not attachments:
        raise UnreadableDocument("empty e-mail (no text body)")
    header_block = "\n".join(f"{name}: {value}" for name, value in headers.items() if value)
    text = "\n\n".join(part for part in (header_block, body) if part)
    return Extracted(text, headers["Subject"], _date(headers["Date"]), attachments=attachments)


def _date(value: str | None) -> str | None:
    """The day as written in the header's own time zone (a message sent late on the 3rd says the 3rd)."""
    if value is None:
        return None
    try:
        return parsedate_to_datetime(value).date().isoformat()
    except (TypeError, ValueError, OverflowError):
        return None


def _body(message: EmailMessage) -> tuple[Message | None, str]:
    """The text/plain body, or the HTML one when there is no plain text (some mailers send an empty one)."""
    for preference in ("plain", "html"):
        part = message.get_body(preferencelist=(preference,))
        text = _body_text(part) if part is not None else ""
        if text:
            return part, text
    return None, ""


def _body_text(part: Message) -> str:
    content = _decoded(part)
    if part.get_content_subtype() == "html":
        content = _html_text(content)
    elif part.get_param("format") == "flowed":
        content = _unflowed(content, delete_space=part.get_param("delsp") == "yes")
    lines = (clean_line(line) for line in content.replace("\r\n", "\n").replace("\r", "\n").split("\n"))
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


def _decoded(part: Message) -> str:
    try:
        content = part.get_content()  # type: ignore[attr-defined]
    except LookupError:  # a charset Python does not know: read it as UTF-8 rather than lose the body
        payload = part.get_payload(decode=True)
        content = payload.decode("utf-8", errors="replace") if isinstance(payload, bytes) else ""
    return content if isinstance(content, str) else ""


def _unflowed(text: str, delete_space: bool) -> str:
    """RFC 3676 format=flowed: a line ending in a space continues on the next line."""
    joined: list[str] = []
    for line in text.replace("\r\n", "\n").split("\n"):
        line = line.removeprefix(" ")  # space-stuffing
        if joined and joined[-1].endswith(" ") and joined[-1] != "-- ":
            joined[-1] = (joined[-1][:-1] if delete_space else joined[-1]) + line
        else:
            joined.append(line)
    return "\n".join(joined)


def _html_text(html: str) -> str:
    stripper = _HtmlText()
    stripper.feed(html)
    stripper.close()
    return "".join(stripper.parts)


class _HtmlText(HTMLParser):
    """The visible text of an HTML body, laid out as lines and paragraphs the way a mail reader shows it.

    Whitespace in the source collapses to one space (as a browser renders it), block elements start lines,
    paragraphs and headings are separated by a blank line, table cells by ``" | "``; scripts, styles and the
    head are dropped and character references decoded.
    """

    _HIDDEN = frozenset({"script", "style", "head", "title", "template", "noscript"})
    _PARAGRAPHS = frozenset({"p", "h1", "h2", "h3", "h4", "h5", "h6", "table", "blockquote", "ul", "ol", "hr"})
    _LINES = frozenset({"br", "div", "li", "tr", "dt", "dd"})
    _CELLS = frozenset({"td", "th"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.hidden = 0
        self.cells_in_row = 0
        self.pending_break = 0  # line ends owed before the next text: breaks of nested blocks do not add up
        self.pending_cell = False

    def handle_starttag(self, tag: str, _attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._HIDDEN:
            self.hidden += 1
        self._break(tag)
        if tag == "tr":
            self.cells_in_row = 0
        elif tag in self._CELLS:
            self.pending_cell = self.cells_in_row > 0
            self.cells_in_row += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in self._HIDDEN:
            self.hidden = max(self.hidden - 1, 0)
        self._break(tag)

    def handle_data(self, data: str) -> None:
        text = re.sub(r"\s+", " ", data.replace("\u00a0", " "))
        if self.hidden or not text.strip():
            if text and not self.hidden and not self.pending_break:
                self.parts.append(" ")
            return
        if self.parts and self.pending_break:
            self.parts.append("\n" * self.pending_break)
        if self.pending_cell:
            self.parts.append(" | ")
        self.parts.append(text)
        self.pending_break, self.pending_cell = 0, False

    def _break(self, tag: str) -> None:
        if tag in self._PARAGRAPHS:
            self.pending_break = 2
        elif tag in self._LINES:
            self.pending_break = max(self.pending_break, 1)


def _attachments(message: EmailMessage, body_part: Message | None) -> Iterator[Attachment]:
    forwarded = 0
    for part in _leaf_parts(message):
        if part is body_part:
            continue
        name = _safe_name(part.get_filename())
        if name is None and part.get_content_type() == "message/rfc822":
            forwarded += 1
            name = f"message-{forwarded}.eml"
        if name is not None and PurePosixPath(name).suffix.lower() in BRIEFING_SUFFIXES:
            yield Attachment(name, _part_bytes(part))


def _leaf_parts(part: Message) -> Iterator[Message]:
    """Every part that is not a multipart container; an attached message counts as one part."""
    if part.get_content_maintype() == "multipart":
        for child in part.iter_parts():  # type: ignore[attr-defined]
            yield from _leaf_parts(child)
    else:
        yield part


def _safe_name(filename: str | None) -> str | None:
    """The file name without any folders, so that nobody can write ``../../x.txt`` by naming an attachment."""
    if not filename:
        return None
    name = one_line(PurePosixPath(filename.replace("\\", "/")).name)
    return name if name and name not in {".", ".."} else None


def _part_bytes(part: Message) -> bytes:
    if part.get_content_type() == "message/rfc822":
        attached = part.get_payload(0)
        return attached.as_bytes(policy=policy.default) if isinstance(attached, Message) else b""
    payload = part.get_payload(decode=True)
    return payload if isinstance(payload, bytes) else b""
