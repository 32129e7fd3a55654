"""Text from briefings that arrive as PDF, Word (.docx) or e-mail (.eml) files.

Each extractor takes the file's bytes and returns an :class:`Extracted`: the text that will be stored and that
citation offsets index, the title and date the document states about itself, and (for a PDF) where each page
starts, so a citation can name its page with :func:`page_of`. A file that cannot be read raises
:class:`UnreadableDocument`, whose message is the one-line reason to show next to the file name; the libraries'
own exceptions never pass this boundary. Extraction is deterministic: the same bytes give the same text.
Pure functions of bytes: must not read files, touch the index, or import the assistant.

    extract = EXTRACTORS.get(path.suffix.lower())
    if extract is not None:
        extracted = extract(path.read_bytes())
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType

from index.formats.common import BRIEFING_SUFFIXES, Attachment, Extracted, UnreadableDocument, page_of
from index.formats.docx import extract_docx
from index.formats.eml import extract_eml
from index.formats.pdf import extract_pdf

EXTRACTORS: Mapping[str, Callable[[bytes], Extracted]] = MappingProxyType(
    {".pdf": extract_pdf, ".docx": extract_docx, ".eml": extract_eml}
)
DOCUMENT_SUFFIXES = frozenset(EXTRACTORS)
# Raised whenever an extractor's output changes for some input, so ingest re-extracts documents it has indexed.
EXTRACTION_VERSION = "2"

__all__ = [
    "BRIEFING_SUFFIXES",
    "DOCUMENT_SUFFIXES",
    "EXTRACTION_VERSION",
    "EXTRACTORS",
    "Attachment",
    "Extracted",
    "UnreadableDocument",
    "extract_docx",
    "extract_eml",
    "extract_pdf",
    "page_of",
]
