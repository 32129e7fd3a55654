"""One contract for every article loader, run over each supported file type.

Each type holds the same briefing and must load to the same title and date, with text whose offsets quote a
sentence exactly as ingest finds it; and each must turn away the same non-briefings, each with a one-line reason
(the same reason for every text type). PDF, Word and e-mail samples are built by the libraries that write them,
and state their date as documents do (a date line in the PDF's text, Word's creation date, the e-mail's header). A new
suffix in :data:`index.articles.ARTICLE_SUFFIXES` fails :func:`test_every_supported_type_has_a_sample` until
it gets a sample here, so no loader joins without passing the contract.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from assistant.text.sentences import chunk_sentence_spans
from index.articles import ARTICLE_SUFFIXES, HTML_SUFFIXES, Article, Rejected, SourceFile, load_article
from index.chunking import chunk_article
from index.embedding import Embedder, Encoded
from index.errors import EmptyCorpus
from index.formats import DOCUMENT_SUFFIXES
from index.ingest import ingest
from index.store import StoreLocation
from tests.index.format_files import email_bytes, pdf_bytes, word_bytes

TITLE = "Harbour reopens"
DATE = "2024-02-02"
SENTENCE = "Ferries to Dar es Salaam resume on Monday, the port authority said."
BODY = f"The Zanzibar harbour reopened after three weeks of repairs to the quay. {SENTENCE}"
BRIEFING = f"date {DATE}\n{TITLE}\n{BODY}\n"
HTML_PAGE = (
    '<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>{title}</title></head>'
    "<body><article><p>date {date}</p><h1>{title}</h1><p>{body}</p></article></body></html>\n"
)


@dataclass(frozen=True)
class Sample:
    """The briefing as a file of one type, and the article text that file must load to (``None``: its layout is
    the extractor's to decide, only the sentences are checked)."""

    content: str | bytes
    text: str | None


TEXT_FILE = Sample(BRIEFING, BRIEFING)  # the file exactly as a reader's open() returns it
HTML_FILE = Sample(HTML_PAGE.format(title=TITLE, date=DATE, body=BODY), BRIEFING.rstrip("\n"))  # extracted text
DATED = datetime(2024, 2, 2, 10, 0, tzinfo=UTC)
PDF_FILE = Sample(pdf_bytes([[f"date {DATE}", TITLE, BODY]], title=TITLE), None)
WORD_FILE = Sample(word_bytes(TITLE, [BODY], created=DATED), None)
MAIL_FILE = Sample(email_bytes(subject=TITLE, date="Fri, 02 Feb 2024 10:00:00 +0000", plain=BODY), None)
SAMPLES = {
    ".txt": TEXT_FILE,
    ".md": TEXT_FILE,
    ".markdown": TEXT_FILE,
    ".html": HTML_FILE,
    ".htm": HTML_FILE,
    ".pdf": PDF_FILE,
    ".docx": WORD_FILE,
    ".eml": MAIL_FILE,
}
SUFFIXES = sorted(ARTICLE_SUFFIXES)
BINARY = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" * 20
LATIN_1 = "Caf\xe9 talks resumed in Paris on Monday.".encode("latin-1")


def write(folder: Path, suffix: str, content: str | bytes) -> Path:
    path = folder / f"briefing{suffix}"
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    else:
        path.write_bytes(content)
    return path


def load(path: Path) -> Article | Rejected:
    return load_article(SourceFile(path, path.name))


def test_every_supported_type_has_a_sample() -> None:
    assert set(SAMPLES) == ARTICLE_SUFFIXES


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_the_briefing_loads_with_its_title_date_and_text(tmp_path: Path, suffix: str) -> None:
    path = write(tmp_path, suffix, SAMPLES[suffix].content)
    article = load(path)
    assert isinstance(article, Article), article
    assert (article.id, article.title, article.date) == (path.name, TITLE, DATE)
    assert article.text == SAMPLES[suffix].text or SAMPLES[suffix].text is None
    assert article.source == str(path.resolve())
    assert not article.lossy


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_a_sentence_is_quoted_exactly_by_its_offsets(tmp_path: Path, suffix: str) -> None:
    path = write(tmp_path, suffix, SAMPLES[suffix].content)
    article = load(path)
    assert isinstance(article, Article), article
    spans = [span for chunk in chunk_article(article) for span in chunk_sentence_spans(chunk.text, chunk.start)]
    quoted = [article.text[span.start : span.end] for span in spans]
    assert SENTENCE in quoted
    span = spans[quoted.index(SENTENCE)]
    assert article.text[span.start : span.end] == SENTENCE
    if suffix not in HTML_SUFFIXES | DOCUMENT_SUFFIXES:  # the offsets hold in the file as anyone reads it, too
        assert path.read_text(encoding="utf-8")[span.start : span.end] == SENTENCE


@pytest.mark.parametrize("suffix", SUFFIXES)
@pytest.mark.parametrize(("content", "reason"), [(b"", "empty"), (b" \n\t \n", "empty"), (BINARY, "binary, not text")])
def test_an_empty_or_binary_file_is_rejected_with_a_one_line_reason(
    tmp_path: Path, suffix: str, content: bytes, reason: str
) -> None:
    path = write(tmp_path, suffix, content)
    rejected = load(path)
    assert isinstance(rejected, Rejected) and rejected.source == str(path)
    if suffix in DOCUMENT_SUFFIXES and content.strip():  # a document's reason names what is wrong with it
        assert rejected.reason.split()[0] in {"damaged", "empty"} and "\n" not in rejected.reason, rejected
    else:
        assert rejected.reason == reason


@pytest.mark.parametrize("suffix", sorted(ARTICLE_SUFFIXES - DOCUMENT_SUFFIXES))
def test_a_non_utf8_file_is_loaded_with_replacements_and_flagged_lossy(tmp_path: Path, suffix: str) -> None:
    """Not rejected by the loader: ingest lists it as lossy, and an upload turns it away (the service's rule)."""
    page = HTML_PAGE.format(title="Paris talks", date=DATE, body="{body}") if suffix in HTML_SUFFIXES else "{body}"
    before, after = page.encode("utf-8").split(b"{body}")
    article = load(write(tmp_path, suffix, before + LATIN_1 + after))
    assert isinstance(article, Article), article
    assert article.lossy
    assert "Caf\ufffd talks resumed in Paris on Monday." in article.text


class Unused(Embedder):
    """An embedder a corpus of non-briefings must never reach."""

    identity, dimension, backend = "unused", 1, "none"

    def _encode(self, texts: list[str]) -> np.ndarray:
        raise AssertionError("nothing should be embedded")

    def _encode_tokens(self, texts: list[str]) -> Encoded:
        raise AssertionError("nothing should be embedded")


def test_a_corpus_of_only_rejected_files_is_the_projects_one_line_error(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for number, suffix in enumerate(SUFFIXES):
        write(corpus, f"-{number}-empty{suffix}", b"")
        write(corpus, f"-{number}-binary{suffix}", BINARY)
    with pytest.raises(EmptyCorpus) as raised:
        ingest([corpus], StoreLocation(tmp_path / "index"), Unused())
    assert str(raised.value) == f"No loadable articles ({', '.join(SUFFIXES)}) under {corpus}"
    assert "\n" not in str(raised.value)
    assert not (tmp_path / "index" / "chroma.sqlite3").exists()
