"""Where a PDF quote is: every adapter names its page, and the UI's article pane marks pages and links the file.

The rendering is checked on hand-made citations and views; the article pane, the cards and the UI's
``/originals/{doc}`` route also run against a real index holding a real PDF (built by fpdf2), served by the
real app under uvicorn.
"""

from __future__ import annotations

import html
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import httpx
import pytest

from assistant.adapters.console import closest_line, print_answer
from assistant.adapters.slack.blocks import answer_messages
from assistant.adapters.ui import UPLOAD_TYPES, ChatAdapter
from assistant.adapters.ui_article import article_html, marked_text, original_link
from assistant.adapters.ui_render import answer_markdown, citation_card, closest_markdown
from assistant.service import ArticleView, BriefingService
from assistant.settings import Settings
from assistant.types import Citation
from tests.assistant.test_api import serving
from tests.conftest import SEED_CORPUS, SEED_DOC, made_answer
from tests.index.format_files import briefing_pdf

QUOTE = "Residents of the old town have collected more than 3,000 signatures in support of the plan."
SIGNATURES = "How many signatures have residents collected?"
PAGED = Citation(1, "harbour.pdf", "Harbour reopens", "2024-03-05", 900, 992, 0.9, QUOTE, page=3)
UNPAGED = Citation(2, "notes.txt", "Notes", "2024-03-01", 0, 10, 0.5, "Notes here", page=None)
TAG = re.compile(r"<[^>]*>")


def shown_text(fragment: str) -> str:
    """The characters a reader sees in an HTML fragment (tags dropped, entities decoded)."""
    return html.unescape(TAG.sub("", fragment))


# ------------------------------------------------------------------------------- each adapter names the page
def test_source_card_and_chat_bubble_name_the_page() -> None:
    card = citation_card(PAGED, None)
    assert '<div class="b-meta">harbour.pdf · 2024-03-05 · p. 3</div>' in card
    assert '<div class="b-meta">notes.txt · 2024-03-01</div>' in citation_card(UNPAGED, None)
    bubble = answer_markdown(made_answer("How many?", "3,000 signatures", (PAGED, UNPAGED)))
    assert "[1] *Harbour reopens* — harbour.pdf, 2024-03-05, p. 3" in bubble
    assert bubble.rstrip().endswith("[2] *Notes* — notes.txt, 2024-03-01")


def test_the_chat_bubble_lists_every_page_an_article_is_cited_on() -> None:
    first = Citation(1, "harbour.pdf", "Harbour", None, 0, 10, 0.9, "The quay.", page=1)
    bubble = answer_markdown(made_answer("Why?", "The quay.", (first, replace(PAGED, id=2), replace(first, id=3))))
    assert "[1] [2] [3] *Harbour* — harbour.pdf, pp. 1, 3" in bubble


def test_closest_sentences_under_a_refusal_name_their_page() -> None:
    refusal = made_answer("Who?", "The briefings don't say.", abstained=True, closest=(PAGED, UNPAGED))
    assert "— *Harbour reopens* (2024-03-05, p. 3)" in closest_markdown(refusal)
    assert "— *Notes* (2024-03-01)" in closest_markdown(refusal)
    assert closest_line(PAGED).endswith("— Harbour reopens (2024-03-05, p. 3)")
    assert closest_line(UNPAGED).endswith("— Notes (2024-03-01)")


def test_slack_names_the_page_in_the_quote_header_and_the_sources_line() -> None:
    odd = Citation(1, "a<b>&c.pdf", "R&D <plan>", "2024-03-05", 900, 992, 0.9, QUOTE, page=3)
    [message] = answer_messages(made_answer("How many?", "3,000 signatures", (odd, UNPAGED)))
    sections = [block["text"]["text"] for block in message["blocks"] if block["type"] == "section"]
    assert sections[1].startswith("*[1]* R&amp;D &lt;plan&gt; · 2024-03-05 · p. 3\n> Residents")
    assert sections[2].startswith("*[2]* Notes · 2024-03-01\n>")
    sources = [element["text"] for element in message["blocks"][-1]["elements"]]
    assert sources == [
        "*Sources*",
        "[1] `a&lt;b&gt;&amp;c.pdf` · 2024-03-05 · p. 3 · chars 900–992",
        "[2] `notes.txt` · 2024-03-01 · chars 0–10",
    ]
    refusal = made_answer("Who?", "The briefings don't say.", abstained=True, closest=(odd,))
    closest = [block["text"]["text"] for block in answer_messages(refusal)[0]["blocks"] if block["type"] == "section"]
    assert closest[-1].endswith("— R&amp;D &lt;plan&gt; (2024-03-05, p. 3)")


def test_the_console_names_the_page(capsys: pytest.CaptureFixture[str]) -> None:
    print_answer(made_answer("How many?", "3,000 signatures", (PAGED, UNPAGED)))
    lines = capsys.readouterr().out.splitlines()
    assert "[1] Harbour reopens — harbour.pdf · 2024-03-05 · p. 3 [900:992]" in lines
    assert "[2] Notes — notes.txt · 2024-03-01 [0:10]" in lines


# ---------------------------------------------------------------------------------------- the article pane
TEXT = "Page one <b>&</b> text.\n\nPage two starts. The quote.\n\nPage three."
PAGES = ((0, 23), (25, 52), (54, 65))


def view_of(text: str = TEXT, pages: tuple[tuple[int, int], ...] = PAGES, original: Path | None = None) -> ArticleView:
    return ArticleView("doc <1>.pdf", "A <title>", "2024-03-05", text, "/corpus/doc.pdf", pages, None, original)


@pytest.mark.parametrize(
    ("start", "end"),
    [(TEXT.index("The quote"), TEXT.index("\n\nPage three")), (25, 41), (10, 30), (0, 0), (len(TEXT), len(TEXT))],
    ids=["inside-a-page", "at-a-page-start", "across-pages", "empty-at-start", "empty-at-end"],
)
def test_pages_are_marked_without_changing_the_text_and_the_quote_stays_whole(start: int, end: int) -> None:
    shown = marked_text(TEXT, start, end, PAGES)
    assert shown_text(shown) == TEXT
    assert re.findall(r'data-page="(\d+)"', shown) == ["1", "2", "3"]
    [marked] = re.findall(r"<mark>(.*?)</mark>", shown, re.DOTALL)
    assert shown_text(marked) == TEXT[start:end]
    assert "<b>" not in shown and "</b>" not in shown  # the article's own markup is shown, never applied


def test_a_marker_at_the_quote_start_stays_outside_the_mark() -> None:
    shown = marked_text(TEXT, 25, 41, PAGES)
    assert '<span class="b-page" data-page="2" aria-label="page 2"></span><mark>Page two starts.</mark>' in shown


def test_the_pane_says_which_page_the_quote_is_on() -> None:
    pane = article_html(view_of(), TEXT.index("The quote"), TEXT.index("The quote") + 10)
    assert '<div class="b-meta">doc &lt;1&gt;.pdf · 2024-03-05 · quote on p. 2 of 3</div>' in pane
    assert "<h3>A &lt;title&gt;</h3>" in pane
    assert [view_of().page_of(offset) for offset in (0, 23, 24, 25, 64)] == [1, 1, 1, 2, 3]
    plain = article_html(view_of(text="Just text.", pages=()), 0, 4)
    assert "quote on" not in plain and "b-page" not in plain and "<mark>Just</mark> text." in plain


def test_the_original_is_linked_only_when_the_index_keeps_one(tmp_path: Path) -> None:
    assert original_link(view_of()) == "" and "b-original" not in article_html(view_of(), 0, 4)
    link = original_link(view_of(original=tmp_path / 'a "b".pdf'))
    assert link == (
        '<p class="b-original"><a href="originals/doc%20%3C1%3E.pdf" target="_blank" rel="noopener noreferrer">'
        "Download the original (a &quot;b&quot;.pdf)</a></p>"
    )
    assert link in article_html(view_of(original=tmp_path / 'a "b".pdf'), 0, 4)


def test_the_upload_widget_takes_the_new_formats() -> None:
    assert UPLOAD_TYPES == [".txt", ".md", ".html", ".pdf", ".docx", ".eml"]


# ------------------------------------------------------------------------ a real PDF through the UI's pieces
@pytest.fixture(scope="module")
def pdf_service(tmp_path_factory: pytest.TempPathFactory, model_cache: Path) -> BriefingService:
    """An index of the seed briefing (text) and the three-page harbour briefing uploaded as a PDF."""
    folder = tmp_path_factory.mktemp("pdf-corpus")
    corpus = folder / "corpus"
    corpus.mkdir()
    shutil.copy(SEED_CORPUS / SEED_DOC, corpus / SEED_DOC)
    service = BriefingService(Settings(index=folder / "index", corpus=corpus, model_cache=model_cache))
    service.ingest([corpus])
    assert service.add_document("harbour.pdf", briefing_pdf()).doc == "harbour.pdf"
    service.warm_up()
    return service


@dataclass
class Clicked:
    """What Gradio hands ``open_citation`` when a source card is clicked: the card's data attributes."""

    _data: dict[str, Any] = field(default_factory=dict)


def test_a_pdf_answer_names_its_page_and_opens_on_it(pdf_service: BriefingService) -> None:
    answer = pdf_service.ask(SIGNATURES)
    [citation] = [c for c in answer.citations if c.quote == QUOTE]
    assert (citation.doc, citation.page) == ("harbour.pdf", 3)
    adapter = ChatAdapter(pdf_service)
    assert "harbour.pdf · 2024-03-05 · p. 3" in adapter.sources_html(answer)
    pane = adapter.open_citation(Clicked({"doc": "harbour.pdf", "start": citation.start, "end": citation.end}))
    assert re.findall(r"<mark>(.*?)</mark>", pane) == [html.escape(QUOTE)]
    assert "quote on p. 3 of 3" in pane and re.findall(r'data-page="(\d+)"', pane) == ["1", "2", "3"]
    text = shown_text(re.search(r'<div class="b-article-text">(.*)</div></div>$', pane, re.DOTALL)[1])  # type: ignore[index]
    assert text == pdf_service.article("harbour.pdf").text  # type: ignore[union-attr]
    assert 'href="originals/harbour.pdf" target="_blank"' in pane
    seed = adapter.open_citation(Clicked({"doc": SEED_DOC, "start": 0, "end": 4}))
    assert "b-original" not in seed and "b-page" not in seed


@pytest.fixture(scope="module")
def ui_url(pdf_service: BriefingService) -> Iterator[str]:
    with serving(pdf_service) as url:
        yield url


def test_the_ui_serves_the_original_file_and_refuses_what_it_does_not_keep(
    ui_url: str, pdf_service: BriefingService
) -> None:
    with httpx.Client(base_url=ui_url, timeout=60) as http:
        served = http.get("/originals/harbour.pdf")
        assert served.status_code == 200, served.text
        assert served.content == briefing_pdf()
        assert served.headers["content-type"] == "application/pdf"
        assert 'filename="harbour.pdf"' in served.headers["content-disposition"]
        for doc in (SEED_DOC, "nothing.pdf"):
            refused = http.get(f"/originals/{doc}")
            assert refused.status_code == 404
            assert refused.text == f"No original file is kept for {doc}."


def test_the_original_is_behind_the_ui_login(pdf_service: BriefingService) -> None:
    with serving(pdf_service, ui_auth=("ann", "pw")) as url, httpx.Client(base_url=url, timeout=60) as http:
        assert http.get("/originals/harbour.pdf").status_code == 401
        assert http.post("/login", data={"username": "ann", "password": "pw"}).status_code == 200
        served = http.get("/originals/harbour.pdf")
        assert served.status_code == 200 and served.content == briefing_pdf()
