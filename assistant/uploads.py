"""An uploaded briefing, from the bytes a user sent to a file in the corpus folder that ingest can take.

It owns the checks an upload must pass before anything is written (a safe file name, a briefing format, a
size limit, a file that loads as an article: text that decodes as UTF-8, or a PDF, Word or e-mail file whose
text can be read) and the staging of the file itself, which
never overwrites a different file, or its removal when indexing it fails. Must not index anything or open
the store itself (indexing is the caller's ``ingest``), and must not import adapters.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from assistant.errors import CorpusError, DocumentRejected
from index.articles import ARTICLE_SUFFIXES, SourceFile, load_articles
from index.formats import DOCUMENT_SUFFIXES
from index.ingest import IngestReport

# A briefing is text or a document with text; a PDF deck with pictures may be large, anything bigger is not one.
MAX_UPLOAD_BYTES = 25 * 1024 * 1024
FORMATS = ".txt, .md, .html, .pdf, .docx or .eml"  # what the upload form and errors name
_UNSAFE_NAME_CHARS = re.compile(r"[^\w.-]+")


@dataclass(frozen=True)
class AddedDocument:
    """An uploaded briefing as saved and indexed: ``doc`` may differ from the upload's name if that was taken."""

    doc: str
    path: Path
    report: IngestReport


def add_upload(
    folder: Path, filename: str, content: bytes, ingest: Callable[[Sequence[Path]], IngestReport]
) -> AddedDocument:
    """Check and save an upload into ``folder``, then ``ingest`` it; a failed ingest takes a new file away again."""
    path, created = stage_upload(folder, filename, content)
    try:
        report = ingest([path])
    except BaseException:
        if created:  # leave the corpus as it was, so retrying the upload behaves the same
            path.unlink(missing_ok=True)
        raise
    return AddedDocument(path.name, path, report)


def stage_upload(folder: Path, filename: str, content: bytes) -> tuple[Path, bool]:
    """Check an upload and save it into ``folder``; returns the path and whether a new file was written.

    The bytes are loaded the way ingest would load them *before* anything is written, so a binary, empty or
    unsupported file leaves the folder untouched.
    """
    name = upload_file_name(filename)
    check_upload(name, content)
    return save_upload(folder, name, content)


def upload_file_name(filename: str) -> str:
    """The uploaded file's own name, safe as a file and an article id: no folders, no hidden files, no oddities."""
    base = re.split(r"[\\/]", filename.strip())[-1]
    stem, dot, suffix = base.rpartition(".")
    if not dot:
        stem, suffix = base, ""
    stem = _UNSAFE_NAME_CHARS.sub("_", stem).strip("._-")[:100] or "briefing"
    suffix = _UNSAFE_NAME_CHARS.sub("", suffix).strip("._-").lower()
    return f"{stem}.{suffix}" if suffix else stem


def check_upload(name: str, content: bytes) -> None:
    """Raise :class:`DocumentRejected` unless ``content`` loads as an article under ``name``."""
    suffix = Path(name).suffix.lower()
    if suffix not in ARTICLE_SUFFIXES:
        raise DocumentRejected(
            f"{name} was not added: {suffix or 'a file without a type'} is not a briefing format (use {FORMATS})"
        )
    if len(content) > MAX_UPLOAD_BYTES:
        raise DocumentRejected(f"{name} was not added: it is larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MB")
    with tempfile.TemporaryDirectory(prefix="briefings-upload-") as folder:
        trial = Path(folder) / name
        trial.write_bytes(content)
        articles, rejected = load_articles(SourceFile(trial, name))
    if not articles:  # a document's reason says what is wrong with it; a text file's, that it is not text
        advice = "" if suffix in DOCUMENT_SUFFIXES else f"; upload a {FORMATS} briefing"
        raise DocumentRejected(f"{name} was not added: {rejected[0].reason}{advice}")
    if any(article.lossy for article in articles):  # quotes could not be checked with open(path, encoding="utf-8")
        raise DocumentRejected(f"{name} was not added: it is not UTF-8 text; save it as UTF-8 and upload it again")


def save_upload(folder: Path, name: str, content: bytes) -> tuple[Path, bool]:
    """Write ``content`` into ``folder`` as ``name`` or, if a different file has that name, ``stem-2.ext`` ...

    Returns the path and whether a new file was written (an identical existing file is reused). Exclusive
    creation means two uploads racing for one name can never overwrite each other.
    """
    stem, suffix = Path(name).stem, Path(name).suffix
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for attempt in range(1, 1000):
            candidate = folder / (name if attempt == 1 else f"{stem}-{attempt}{suffix}")
            try:
                handle = candidate.open("xb")
            except FileExistsError:
                if candidate.is_file() and candidate.read_bytes() == content:
                    return candidate, False
                continue
            try:
                with handle:
                    handle.write(content)
            except OSError:
                candidate.unlink(missing_ok=True)  # never leave half a briefing behind
                raise
            return candidate, True
    except OSError as error:
        raise CorpusError(f"Could not save {name} in {folder}: {error.strerror or error}") from None
    raise CorpusError(f"Could not save {name} in {folder}: too many files with that name")
