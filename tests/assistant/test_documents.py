"""PDF, Word and e-mail briefings end to end: real files built by the libraries that write them, indexed with the
real embedder into real Chroma, asked over real HTTP, every citation checked against ``GET /api/articles/{doc}``.

What a reader of such a file needs: the answer, a quote that is exactly the stored text at its offsets, the page of
a PDF quote, the date the document states (so date filters work), and a one-line reason when a file is refused.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from assistant.measure.evaluation import read_source
from assistant.service import BriefingService
from assistant.settings import Settings
from tests.assistant.test_api import CARD_ANSWER, CARD_QUESTION, serving
from tests.index.format_files import (
    BRIEFING_TITLE,
    DOCX_HEADING,
    EMAIL_SUBJECT,
    briefing_docx,
    briefing_pdf,
    drawing_only_pdf,
    email_bytes,
    encrypted_pdf,
    pdf_bytes,
    seed_briefing_pdf,
)

TIDE_SENTENCE = "Engineers read the harbour tide gauge at 4.7 metres on Saturday evening."
TIDE_PDF = pdf_bytes([[TIDE_SENTENCE, "The reading was the highest since records began in 1953."]], title="Tide report")
ATTACHMENT = "doha.eml/tide-report.pdf"

BAD_FILES: dict[str, tuple[bytes, str]] = {
    "locked.pdf": (encrypted_pdf(briefing_pdf()), "encrypted PDF (needs a password)"),
    "scan.pdf": (drawing_only_pdf(), "scanned PDF: no text layer (image-only pages)"),
    "cut.docx": (briefing_docx()[: len(briefing_docx()) // 2], "damaged DOCX (not a valid Word file)"),
    "blank.eml": (email_bytes(plain=None), "empty e-mail (no text body)"),
}


@pytest.fixture(scope="module")
def documents(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("documents")
    (folder / "harbour.pdf").write_bytes(briefing_pdf())
    (folder / "grain.docx").write_bytes(briefing_docx())
    (folder / "doha.eml").write_bytes(email_bytes(attachments=[("tide-report.pdf", TIDE_PDF, "application/pdf")]))
    return folder


@pytest.fixture(scope="module")
def service(documents: Path, tmp_path_factory: pytest.TempPathFactory, model_cache: Path) -> BriefingService:
    settings = Settings(
        index=tmp_path_factory.mktemp("documents-index") / "index", model_cache=model_cache, corpus=documents
    )
    service = BriefingService(settings)
    report = service.ingest([documents])
    assert (report.added, report.skipped) == (4, [])  # three files, and the e-mail's attachment in its own right
    return service


@pytest.fixture(scope="module")
def base_url(service: BriefingService) -> Iterator[str]:
    with serving(service) as url:
        yield url


def ask(base_url: str, question: str, **bounds: str) -> dict[str, Any]:
    response = httpx.post(f"{base_url}/api/ask", json={"question": question, **bounds}, timeout=120)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def article(base_url: str, doc: str) -> dict[str, Any]:
    response = httpx.get(f"{base_url}/api/articles/{doc}", timeout=30)
    assert response.status_code == 200, response.text
    view: dict[str, Any] = response.json()
    return view


def first_citation_checked(base_url: str, answer: dict[str, Any], doc: str) -> dict[str, Any]:
    """The answer's first citation, from ``doc``, with its quote equal to the served text at its offsets."""
    assert not answer["abstained"], answer
    citation: dict[str, Any] = answer["citations"][0]
    assert citation["doc"] == doc
    for each in answer["citations"]:
        assert article(base_url, each["doc"])["text"][each["start"] : each["end"]] == each["quote"]
    return citation


@pytest.mark.parametrize(
    ("question", "doc", "gold", "page_number"),
    [
        ("When did the harbour authority reopen the northern quay?", "harbour.pdf", "Monday", 1),
        ("When will the authority meet union representatives to discuss the rota?", "harbour.pdf", "14 March", 2),
        ("How many signatures have residents of the old town collected?", "harbour.pdf", "3,000", 3),
        # the PDF's title is in its metadata only: its first sentence must not rank as a title would
        ("How much did the repair bill come to?", "harbour.pdf", "4.2 million euros", 1),
        ("Where did negotiators meet to restart talks on the grain corridor?", "grain.docx", "Istanbul", None),
        ("When is the next round planned?", "doha.eml", "Wednesday", None),
        ("What did engineers read the harbour tide gauge at on Saturday evening?", ATTACHMENT, "4.7 metres", 1),
    ],
)
def test_each_format_answers_with_a_quote_that_is_the_served_text(
    base_url: str, question: str, doc: str, gold: str, page_number: int | None
) -> None:
    answer = ask(base_url, question)
    citation = first_citation_checked(base_url, answer, doc)
    assert gold in answer["answer"]
    assert citation.get("page") == page_number
    if page_number is not None:  # the page named is the page whose range holds the quote
        start, end = article(base_url, doc)["pages"][page_number - 1]
        assert start <= citation["start"] < citation["end"] <= end


def test_a_served_article_is_what_eval_reads_from_the_file(base_url: str, documents: Path) -> None:
    for doc, parent in [("harbour.pdf", None), ("grain.docx", None), ("doha.eml", None), (ATTACHMENT, "doha.eml")]:
        served = article(base_url, doc)
        assert served["source"] == str((documents / (parent or doc)).resolve())
        assert served["parent"] == parent
        assert read_source(Path(served["source"]), doc, parent) == served["text"]


def test_articles_carry_the_titles_dates_and_pages_their_documents_state(base_url: str) -> None:
    docs = ("harbour.pdf", "grain.docx", "doha.eml", ATTACHMENT)
    pdf, word, mail, attached = (article(base_url, doc) for doc in docs)
    assert (pdf["title"], pdf["date"], len(pdf["pages"])) == (BRIEFING_TITLE, "2024-03-05", 3)
    assert [start for start, _ in pdf["pages"]] == sorted(start for start, _ in pdf["pages"])
    assert (word["title"], word["date"], word["pages"]) == (DOCX_HEADING, "2024-03-05", [])
    assert (mail["title"], mail["date"]) == (EMAIL_SUBJECT, "2024-03-03")  # the day in the sender's time zone
    assert (attached["title"], attached["date"]) == ("Tide report", "2024-03-05")  # its own creation date


def test_date_filters_use_the_dates_documents_state(base_url: str) -> None:
    question = "When is the next round planned?"
    inside = ask(base_url, question, since="2024-03-03", until="2024-03-03")
    assert {c["doc"] for c in inside["citations"]} == {"doha.eml"}
    assert "Wednesday" in inside["answer"]
    after = ask(base_url, question, since="2024-03-04")
    assert "doha.eml" not in {c["doc"] for c in after["citations"] + after.get("closest", [])}
    assert "Wednesday" not in after["answer"]


def test_the_original_file_is_offered_for_documents_but_not_attachments(base_url: str, documents: Path) -> None:
    original = httpx.get(f"{base_url}/api/originals/harbour.pdf", timeout=30)
    assert original.status_code == 200
    assert original.content == (documents / "harbour.pdf").read_bytes()
    assert article(base_url, "harbour.pdf")["original"] is True
    assert article(base_url, ATTACHMENT)["original"] is False
    assert httpx.get(f"{base_url}/api/originals/{ATTACHMENT}", timeout=30).status_code == 404
    missing = httpx.get(f"{base_url}/api/articles/nowhere.pdf", timeout=30)
    assert missing.status_code == 404 and "nowhere.pdf" in missing.json()["detail"]


def test_the_card_question_is_answered_from_a_pdf_of_the_seed_as_from_the_text(
    seed_service: BriefingService, make_settings: Any, tmp_path: Path
) -> None:
    folder = tmp_path / "pdf-corpus"
    folder.mkdir()
    (folder / "seed.pdf").write_bytes(seed_briefing_pdf())
    from_pdf = BriefingService(make_settings(corpus=folder))
    from_pdf.ingest([folder])
    text_answer, pdf_answer = seed_service.ask(CARD_QUESTION), from_pdf.ask(CARD_QUESTION)
    assert text_answer.answer == pdf_answer.answer == CARD_ANSWER
    text_quote, pdf_quote = text_answer.citations[0], pdf_answer.citations[0]
    assert pdf_quote.quote == text_quote.quote
    view = from_pdf.article("seed.pdf")
    assert view is not None and view.date == "2022-02-20"  # from the date line the text starts with
    assert view.text[pdf_quote.start : pdf_quote.end] == pdf_quote.quote
    assert pdf_quote.page == next(n for n, (_, end) in enumerate(view.pages, 1) if pdf_quote.start < end)


def test_bad_documents_are_skipped_with_their_reason_and_good_ones_index(make_settings: Any, tmp_path: Path) -> None:
    folder = tmp_path / "mixed"
    folder.mkdir()
    for name, (data, _) in BAD_FILES.items():
        (folder / name).write_bytes(data)
    (folder / "grain.docx").write_bytes(briefing_docx())
    report = BriefingService(make_settings(corpus=folder)).ingest([folder])
    assert report.added == 1
    reasons = {Path(rejected.source).name: rejected.reason for rejected in report.skipped}
    assert reasons == {name: reason for name, (_, reason) in BAD_FILES.items()}


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_a_bad_document_upload_is_refused_in_one_line_and_nothing_is_kept(
    make_settings: Any, tmp_path: Path, name: str
) -> None:
    folder = tmp_path / "uploads"
    folder.mkdir()
    shutil.copy(Path(__file__).resolve().parents[2] / "corpus" / "000_79c4bc1eae008fdb.txt", folder)
    service = BriefingService(make_settings(corpus=folder))
    service.ingest([folder])
    before = sorted(path.name for path in folder.iterdir())
    data, reason = BAD_FILES[name]
    with serving(service) as url:
        response = httpx.post(f"{url}/api/documents", files={"file": (name, data)}, timeout=120)
        status = httpx.get(f"{url}/api/status", timeout=30).json()
    assert response.status_code == 422
    assert response.json()["detail"] == f"{name} was not added: {reason}"
    assert sorted(path.name for path in folder.iterdir()) == before
    assert status["articles"] == 1


def test_a_pdf_upload_is_answerable_at_once(make_settings: Any, tmp_path: Path) -> None:
    folder = tmp_path / "uploads"
    folder.mkdir()
    (folder / "grain.docx").write_bytes(briefing_docx())
    service = BriefingService(make_settings(corpus=folder))
    service.ingest([folder])
    with serving(service) as url:
        added = httpx.post(f"{url}/api/documents", files={"file": ("Tide Report.pdf", TIDE_PDF)}, timeout=120)
        assert added.status_code == 200, added.text
        assert added.json()["doc"] == "Tide_Report.pdf"
        answer = ask(url, "What did engineers read the harbour tide gauge at on Saturday evening?")
        citation = first_citation_checked(url, answer, "Tide_Report.pdf")
    assert "4.7 metres" in answer["answer"] and citation["page"] == 1


def test_an_email_keeps_its_body_when_an_attachment_cannot_be_read(make_settings: Any, tmp_path: Path) -> None:
    folder = tmp_path / "mail"
    folder.mkdir()
    locked = encrypted_pdf(briefing_pdf())
    (folder / "doha.eml").write_bytes(email_bytes(attachments=[("locked.pdf", locked, "application/pdf")]))
    service = BriefingService(make_settings(corpus=folder))
    report = service.ingest([folder])
    assert report.added == 1
    where = f"{folder / 'doha.eml'} (doha.eml/locked.pdf)"  # the file as given, and the attachment inside it
    assert [(r.source, r.reason) for r in report.skipped] == [(where, "encrypted PDF (needs a password)")]
    assert "Wednesday" in service.ask("When is the next round planned?").answer


def test_a_new_extractor_version_re_extracts_documents_but_not_text_files(
    make_settings: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "mixed"
    folder.mkdir()
    (folder / "grain.docx").write_bytes(briefing_docx())
    (folder / "note.txt").write_text("date 2024-03-01\nThe ferry timetable changes on Friday.\n", encoding="utf-8")
    service = BriefingService(make_settings(corpus=folder))
    assert service.ingest([folder]).added == 2
    assert service.ingest([folder]).unchanged == 2
    monkeypatch.setattr("index.articles.EXTRACTION_VERSION", "next")
    again = service.ingest([folder])
    assert (again.updated, again.unchanged) == (1, 1)
