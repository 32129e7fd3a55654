"""Citation offsets index the file as a reader opens it, whatever its line ends and characters.

A reader checks a quote with ``open(path, encoding="utf-8").read()[start:end]``, which translates ``\\r\\n`` and
``\\r`` to ``\\n``; these tests ingest such files into a real index and check every citation that way, from the
source path the index recorded.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from assistant.answer.citations import cite
from assistant.service import BriefingService
from assistant.settings import Settings
from assistant.text.sentences import Span
from assistant.types import Answer
from index.articles import Article, SourceFile, load_article
from tests.conftest import SEED_DOC, seed_text

NON_ASCII = (
    "date 2024-03-01 Café owners in Zürich reopen after the storm 🌧️\n"
    "The mayor’s office said “the worst is over” on Monday, according to 東京新聞 and the Łódź daily.\n"
    "Über 40 cafés had closed, and the crème brûlée festival 🎉 was postponed to 五月.\n"
    "The harbour bridge reopened after 18 months of repairs, the city engineer confirmed.\n"
)


def reader_text(path: str) -> str:
    with open(path, encoding="utf-8") as handle:
        return handle.read()


def ask_and_check(service: BriefingService, question: str) -> Answer:
    """Ask, then check every citation against the file on disk at the recorded source path."""
    answer = service.ask(question)
    assert answer.citations, "the question should be answered with citations"
    records = service.store.article_records()
    for citation in answer.citations:
        source = records[citation.doc].source
        assert Path(source).is_absolute()
        assert reader_text(source)[citation.start : citation.end] == citation.quote
    return answer


def test_crlf_copy_of_the_seed_cites_offsets_into_the_file_as_read(
    make_settings: Callable[[], Settings], tmp_path: Path
) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / SEED_DOC).write_bytes(seed_text().replace("\n", "\r\n").encode("utf-8"))
    service = BriefingService(make_settings())
    service.ingest([corpus])
    answer = ask_and_check(service, "How long was the call?")
    assert "an hour and 45 minutes" in answer.answer
    assert service.article(SEED_DOC).text == seed_text()  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("line_end", "bom"),
    [("\n", ""), ("\r\n", ""), ("\r", ""), ("\r\n", "\ufeff")],
    ids=["lf", "crlf", "cr", "crlf-bom"],
)
def test_non_ascii_text_before_the_answer_keeps_code_point_offsets(
    make_settings: Callable[[], Settings], tmp_path: Path, line_end: str, bom: str
) -> None:
    path = tmp_path / "corpus" / "harbour.txt"
    path.parent.mkdir()
    path.write_bytes((bom + NON_ASCII.replace("\n", line_end)).encode("utf-8"))
    service = BriefingService(make_settings())
    service.ingest([path.parent])
    answer = ask_and_check(service, "How long did the harbour bridge repairs take?")
    assert "18 months" in answer.answer
    assert any("18 months" in citation.quote for citation in answer.citations)


def test_source_is_absolute_so_quotes_check_from_another_folder(
    corpus_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(corpus_dir.parent)
    article = load_article(SourceFile(Path(corpus_dir.name) / SEED_DOC, SEED_DOC))
    assert isinstance(article, Article)
    monkeypatch.chdir(tmp_path.parent)
    assert Path(article.source).is_absolute()
    assert reader_text(article.source) == article.text


def test_article_text_is_what_a_reader_opens(tmp_path: Path) -> None:
    path = tmp_path / "mixed.md"
    path.write_bytes("\ufeff# Título\r\nLine one.\rLine two ’ 🎉.\r\n\r\nEnd.\n".encode())
    article = load_article(SourceFile(path, path.name))
    assert isinstance(article, Article)
    assert article.text == reader_text(str(path))
    assert article.title == "Título"


def test_cite_refuses_a_span_whose_slice_is_not_the_scored_sentence() -> None:
    text = "First sentence here. Second sentence there."
    span = Span(0, 20)
    assert cite(1, "a.txt", "A", None, text, span, 0.5, "First sentence here.") is not None
    assert cite(1, "a.txt", "A", None, text, span, 0.5, "Second sentence there.") is None
    assert cite(1, "a.txt", "A", None, "\r\n" + text, span, 0.5, "First sentence here.") is None
