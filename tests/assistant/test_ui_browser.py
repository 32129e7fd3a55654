"""The chat UI: a real Chromium (Debian's, driven by Playwright) against a real server, plus the upload path.

Gradio keeps connections open, so the browser tests wait for elements, never for network idleness: every
step waits (Playwright's auto-retrying ``expect``) for the page state its action leads to before the next
one. Every request the page makes is checked to stay on the loopback server. Screenshots go to the test's
temporary folder; ``--screenshot PATH`` (``make screenshot``) also saves the answered page there.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from assistant.adapters.ui import ChatAdapter
from assistant.adapters.ui_render import answer_markdown, highlighted_context
from assistant.errors import DocumentRejected
from assistant.service import BriefingService, upload_file_name
from tests.assistant.test_api import CARD_ANSWER, CARD_QUESTION, serving
from tests.assistant.test_page_display import QUOTE, SIGNATURES
from tests.conftest import PROJECT, SEED_DOC, seed_text
from tests.index.format_files import briefing_pdf

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run"]  # fmt: skip
WRITTEN_BEFORE = (PROJECT / "docs" / "screenshot.png", PROJECT / "test-artifacts")  # tests once wrote these
HARBOUR = "date 2024-03-01\nHarbour report\nThe harbour in Port Elin reopened after 19 days of repairs.\n"
WAIT_MS = 60_000  # two shared cores: answers normally take well under a second, but leave room


@pytest.fixture(autouse=True)
def _repository_untouched(request: pytest.FixtureRequest) -> Iterator[None]:
    """Tests write into temporary folders only; the README's screenshot changes only when asked for."""
    asked_for = request.config.getoption("screenshot", None)
    watched = [path for path in WRITTEN_BEFORE if asked_for is None or path != asked_for.resolve()]
    before = _footprint(watched)
    yield
    assert _footprint(watched) == before, "a test wrote into the repository"


def _footprint(paths: list[Path]) -> dict[str, int]:
    """Every file and folder under ``paths`` with its modification time."""
    found = [entry for path in paths if path.exists() for entry in (path, *path.rglob("*"))]
    return {str(entry): entry.stat().st_mtime_ns for entry in found}


@pytest.fixture
def screenshot_path(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    """Where the answered page is saved: this test's temporary folder, or ``--screenshot PATH`` when given."""
    asked_for: Path | None = request.config.getoption("screenshot")
    if asked_for is None:
        return tmp_path / "answer.png"
    asked_for.resolve().parent.mkdir(parents=True, exist_ok=True)
    return asked_for.resolve()


@pytest.fixture
def fresh_service(make_settings, corpus_dir: Path) -> BriefingService:  # type: ignore[no-untyped-def]
    """A writable index of a copy of the seed corpus; uploads land in that copy."""
    service = BriefingService(make_settings(corpus=corpus_dir))
    service.ingest([corpus_dir])
    service.warm_up()
    return service


# ------------------------------------------------------------------------------ upload, without a browser
@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("photo.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00" * 20, "binary"),
        ("empty.md", b"", "empty"),
        ("blank.txt", b"  \n\n\t ", "empty"),
        ("report.pdf", b"%PDF-1.7 a real report", "damaged PDF"),
        ("slides.pptx", b"PK\x03\x04 slides", "not a briefing format"),
        ("notes", b"plain words", "not a briefing format"),
    ],
)
def test_upload_that_is_not_a_briefing_touches_nothing(
    fresh_service: BriefingService, corpus_dir: Path, name: str, content: bytes, reason: str
) -> None:
    files_before = sorted(corpus_dir.iterdir())
    generation_before, counts_before = fresh_service.store.generation, fresh_service.store.counts()
    with pytest.raises(DocumentRejected, match=reason):
        fresh_service.add_document(name, content)
    assert sorted(corpus_dir.iterdir()) == files_before
    assert (fresh_service.store.generation, fresh_service.store.counts()) == (generation_before, counts_before)


def test_upload_is_answerable_at_once_under_its_file_name(fresh_service: BriefingService, corpus_dir: Path) -> None:
    added = fresh_service.add_document("Harbour report.txt", HARBOUR.encode())
    assert (added.doc, added.path) == ("Harbour_report.txt", corpus_dir / "Harbour_report.txt")
    assert added.report.added == 1
    answer = fresh_service.ask("How long was the harbour closed?")
    assert "19 days" in answer.answer
    assert answer.citations[0].doc == "Harbour_report.txt"
    later = fresh_service.ingest([corpus_dir])  # what `briefings ingest corpus/` would do next
    assert (later.added, later.updated, later.unchanged) == (0, 0, 2)


def test_upload_never_overwrites_a_different_file(fresh_service: BriefingService, corpus_dir: Path) -> None:
    first = fresh_service.add_document("harbour.txt", HARBOUR.encode())
    again = fresh_service.add_document("harbour.txt", HARBOUR.encode())
    other = fresh_service.add_document("harbour.txt", HARBOUR.replace("19", "23").encode())
    assert first.doc == again.doc == "harbour.txt" and again.report.unchanged == 1
    assert other.doc == "harbour-2.txt" and other.report.added == 1
    assert (corpus_dir / "harbour.txt").read_text() == HARBOUR


@pytest.mark.parametrize(
    ("given", "saved"),
    [
        ("../../etc/cron.d/evil.txt", "evil.txt"),
        ("C:\\Users\\ann\\brief.MD", "brief.md"),
        (".hidden.html", "hidden.html"),
        ("Zürich update (final).txt", "Zürich_update_final.txt"),
        ("....txt", "briefing.txt"),
    ],
)
def test_upload_names_are_made_safe(given: str, saved: str) -> None:
    assert upload_file_name(given) == saved


def test_ui_upload_handler_explains_a_refusal(fresh_service: BriefingService, tmp_path: Path) -> None:
    binary = tmp_path / "scan.txt"
    binary.write_bytes(b"\x00\x01\x02\x03" * 100)
    with pytest.warns(UserWarning):  # gr.Warning outside a request is an ordinary warning
        message, cleared, header = ChatAdapter(fresh_service).add_briefing(str(binary))
    assert message.startswith("**Not added.**") and "binary" in message
    assert cleared is None and "1 briefing indexed" in header


def test_quote_is_marked_inside_its_escaped_passage() -> None:
    text = "Intro.\n\nBefore <b>bold</b> words. The quote & more. After words.\n\nNext paragraph."
    start = text.index("The quote")
    end = text.index("After") - 1
    shown = highlighted_context(text, start, end)
    assert "<mark>The quote &amp; more.</mark>" in shown
    assert "&lt;b&gt;bold&lt;/b&gt;" in shown and "Intro" not in shown and "Next paragraph" not in shown


def test_chat_bubble_numbers_its_citations(seed_service: BriefingService) -> None:
    shown = answer_markdown(seed_service.ask(CARD_QUESTION))
    assert shown.startswith(f"{CARD_ANSWER} [1]")
    assert "000\\_79c4bc1eae008fdb.txt" in shown  # Markdown-escaped, shown literally


# ------------------------------------------------------------------------------------- the real browser
@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright  # here, so the tests above run without it

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make browser-deps` installs Debian's chromium")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser, monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:  # type: ignore[no-untyped-def]
    """A page that may only talk to the loopback server; anything else is aborted and fails the test."""
    monkeypatch.setenv("GRADIO_ANALYTICS_ENABLED", "False")
    context = browser.new_context(viewport={"width": 1280, "height": 860}, device_scale_factor=1)
    context.set_default_timeout(WAIT_MS)
    outside: list[str] = []

    def only_loopback(route) -> None:  # type: ignore[no-untyped-def]
        url = route.request.url
        if url.startswith(("http://127.0.0.1:", "data:", "blob:")):
            route.continue_()
        else:
            outside.append(url)
            route.abort()

    context.route("**/*", only_loopback)
    from playwright.sync_api import expect

    expect.set_options(timeout=WAIT_MS)
    opened = context.new_page()
    yield opened
    context.close()
    assert outside == [], f"the page tried to reach {outside}"


def submit(page, question: str) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    box = page.locator("#b-question textarea")
    box.fill(question)
    expect(box).to_have_value(question)
    page.locator("#b-ask").click()


def bubbles(page):  # type: ignore[no-untyped-def]
    """The chat's message rows, one per user question and one per answer."""
    return page.locator("#b-chat .message-row")


def await_turn(page, question: str, shown_before: int) -> None:  # type: ignore[no-untyped-def]
    """Wait until this question and its finished answer are the chat's last two bubbles."""
    from playwright.sync_api import expect

    expect(bubbles(page)).to_have_count(shown_before + 2)
    expect(bubbles(page).nth(shown_before)).to_contain_text(question)
    expect(bubbles(page).last).not_to_contain_text("Searching the briefings")
    expect(page.locator("#b-question textarea")).to_have_value("")


def ask(page, question: str) -> None:  # type: ignore[no-untyped-def]
    """Submit and wait until the turn is over: the placeholder bubble is replaced by the answer."""
    shown_before = bubbles(page).count()  # the page is settled: every earlier step waited for its result
    submit(page, question)
    await_turn(page, question, shown_before)


def clear_chat(page) -> None:  # type: ignore[no-untyped-def]
    """Press "Clear chat" and wait until the chat, the sources and the article pane are empty again."""
    from playwright.sync_api import expect

    page.locator("#b-clear").click()
    expect(bubbles(page)).to_have_count(0)
    expect(page.locator("#b-sources")).to_contain_text("Sources of the latest answer appear here")
    expect(page.locator("#b-article")).to_contain_text("Click a source to read the whole article")


def upload_harbour(page, folder: Path) -> None:  # type: ignore[no-untyped-def]
    """Add the harbour briefing through the UI's upload and wait for it to be indexed."""
    from playwright.sync_api import expect

    page.locator("#b-add").get_by_text("Add a briefing").click()
    expect(page.locator("#b-upload")).to_be_visible()
    harbour = folder / "harbour.txt"
    harbour.write_text(HARBOUR, encoding="utf-8")
    page.locator("#b-upload input[type=file]").set_input_files(str(harbour))
    expect(page.locator("#b-upload-status")).to_contain_text("Added harbour.txt")


@pytest.mark.browser
def test_chat_answers_cites_follows_up_opens_articles_and_takes_uploads(
    page, fresh_service: BriefingService, corpus_dir: Path, tmp_path: Path, screenshot_path: Path
) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    with serving(fresh_service) as url:
        page.goto(url)
        expect(page.locator("#b-header")).to_contain_text("1 briefing indexed, dated 2022-02-20")

        # First load offers example questions; clicking one asks it.
        page.locator("#b-chat").get_by_text(CARD_QUESTION).click()
        await_turn(page, CARD_QUESTION, 0)
        chat, sources, article = page.locator("#b-chat"), page.locator("#b-sources"), page.locator("#b-article")
        expect(chat).to_contain_text(CARD_ANSWER)
        expect(chat).to_contain_text("[1]")
        expect(chat).to_contain_text(SEED_DOC)
        expect(sources.locator(".b-source").first).to_contain_text(SEED_DOC)
        expect(sources.locator(".b-source mark").first).to_contain_text(CARD_ANSWER)

        # A citation opens the whole article with the quote highlighted and scrolled into view.
        card = sources.locator(".b-source").first
        start, end = int(card.get_attribute("data-start")), int(card.get_attribute("data-end"))
        card.click()
        expect(article.locator("mark")).to_have_text(seed_text()[start:end])
        expect(article.locator(".b-article-text")).to_contain_text("Russian President Vladimir Putin")
        page.wait_for_function(  # the pane scrolls to the quote once it is drawn
            "() => { const m = document.querySelector('#b-article mark'); if (!m) return false;"
            " const box = m.closest('.b-article-text').getBoundingClientRect();"
            " const r = m.getBoundingClientRect(); return r.top >= box.top && r.top < box.bottom; }"
        )
        page.screenshot(path=str(screenshot_path), full_page=True)
        assert screenshot_path.stat().st_size > 0

        # A follow-up is resolved from the earlier turn.
        ask(page, "Who started it?")
        expect(chat).to_contain_text("French side")

        # An empty question gets a gentle message and changes nothing.
        shown = bubbles(page).count()
        submit(page, "   ")
        expect(page.get_by_text("The question is empty")).to_be_visible()
        expect(bubbles(page)).to_have_count(shown)
        expect(bubbles(page).last).to_contain_text("French side")

        # An uploaded briefing is answerable at once.
        upload_harbour(page, tmp_path)
        expect(page.locator("#b-header")).to_contain_text("2 briefings indexed, dated 2022-02-20 to 2024-03-01")
        ask(page, "How long was the harbour closed?")
        expect(chat).to_contain_text("19 days")
        expect(sources).to_contain_text("harbour.txt")

        # A binary file is refused with the reason, and the index and corpus stay as they were.
        counts = fresh_service.store.counts()
        scan = tmp_path / "scan.txt"
        scan.write_bytes(b"\x00\x01\x02\xff" * 256)
        page.locator("#b-upload input[type=file]").set_input_files(str(scan))
        expect(page.locator("#b-upload-status")).to_contain_text("Not added")
        expect(page.locator("#b-upload-status")).to_contain_text("binary")
        assert fresh_service.store.counts() == counts
        assert sorted(path.name for path in corpus_dir.iterdir()) == [SEED_DOC, "harbour.txt"]

        # Clearing the chat forgets the conversation, so the next question stands alone.
        clear_chat(page)
        expect(chat).not_to_contain_text(CARD_ANSWER)

        # An unrelated question is refused plainly, with the nearest passages still shown.
        ask(page, "What is the capital of Australia?")
        expect(chat).to_contain_text("The briefings don't say.")
        expect(sources).to_contain_text("Nearest passages")

        # The date filter is applied: nothing is dated after 2030, so nothing answers.
        clear_chat(page)
        since = page.locator("#b-since input")
        since.fill("2030-01-01")
        since.press("Enter")
        expect(since).to_have_value("2030-01-01")
        ask(page, "How long was the harbour closed?")
        expect(chat).to_contain_text("The briefings don't say.")
        expect(chat).not_to_contain_text("19 days")


@pytest.mark.browser
def test_without_an_index_the_ui_explains_and_a_first_upload_starts_one(page, make_settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    service = BriefingService(make_settings(index=tmp_path / "not-yet", corpus=tmp_path / "corpus"))
    with serving(service) as url:
        page.goto(url)
        expect(page.locator("#b-header")).to_contain_text("No briefings are indexed yet")
        expect(page.locator("#b-header")).to_contain_text("briefings ingest corpus/")
        ask(page, CARD_QUESTION)
        expect(page.locator("#b-chat")).to_contain_text("No briefings are indexed yet")

        upload_harbour(page, tmp_path)
        expect(page.locator("#b-header")).to_contain_text("1 briefing indexed, dated 2024-03-01")
        ask(page, "How long was the harbour closed?")
        expect(page.locator("#b-chat")).to_contain_text("19 days")


@pytest.mark.browser
def test_an_uploaded_pdf_is_cited_by_page_and_opens_on_its_quote(
    page, fresh_service: BriefingService, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    pdf = tmp_path / "harbour.pdf"
    pdf.write_bytes(briefing_pdf())
    with serving(fresh_service) as url:
        page.goto(url)
        page.locator("#b-add").get_by_text("Add a briefing").click()
        page.locator("#b-upload input[type=file]").set_input_files(str(pdf))
        expect(page.locator("#b-upload-status")).to_contain_text("Added harbour.pdf")

        ask(page, SIGNATURES)
        card = page.locator('#b-sources .b-source[data-doc="harbour.pdf"]').first
        expect(card.locator(".b-meta")).to_have_text("harbour.pdf · 2024-03-05 · p. 3")
        start, end = int(card.get_attribute("data-start")), int(card.get_attribute("data-end"))
        quote = fresh_service.article("harbour.pdf").text[start:end]  # type: ignore[union-attr]
        assert quote == QUOTE

        card.click()
        article = page.locator("#b-article")
        expect(article.locator("mark")).to_have_text(quote)
        expect(article.locator(".b-meta")).to_contain_text("quote on p. 3 of 3")
        expect(article.locator(".b-page")).to_have_count(3)
        download = article.get_by_role("link", name="Download the original (harbour.pdf)")
        expect(download).to_have_attribute("target", "_blank")
        href = download.get_attribute("href")
        assert httpx.get(f"{url}/{href}", timeout=60).content == pdf.read_bytes()
        page.goto("about:blank")  # closes Gradio's open connections, so the server stops at once


@pytest.mark.browser
def test_the_briefings_panel_lists_searches_opens_uploads_and_removes_after_asking(
    page, fresh_service: BriefingService, corpus_dir: Path, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    with serving(fresh_service, ui_auth=("ann", "pw")) as url:
        page.goto(url)
        expect(page.locator("#b-library")).to_have_count(0)  # behind the UI's login, like the chat
        assert page.request.post(f"{url}/login", form={"username": "ann", "password": "pw"}).ok
        page.goto(url)
        page.locator("#b-library").get_by_text("Briefings").first.click()
        table = page.locator("#b-lib-table")
        expect(table).to_contain_text(SEED_DOC)
        expect(table).to_contain_text("2022-02-20")

        harbour = tmp_path / "harbour.txt"
        harbour.write_text(HARBOUR, encoding="utf-8")
        with page.expect_file_chooser() as chooser:
            page.locator("#b-lib-upload").click()
        chooser.value.set_files(str(harbour))
        expect(page.locator("#b-lib-status")).to_contain_text("Added harbour.txt")
        expect(table).to_contain_text("harbour.txt")
        expect(page.locator("#b-header")).to_contain_text("2 briefings indexed")

        page.locator("#b-lib-search input, #b-lib-search textarea").first.fill("harbour")
        expect(table).not_to_contain_text(SEED_DOC)
        table.get_by_text("harbour.txt", exact=True).locator("visible=true").first.click()
        expect(page.locator("#b-lib-doc input")).to_have_value("2024-03-01 · Harbour report (harbour.txt)")
        page.locator("#b-lib-open").click()
        expect(page.locator("#b-article")).to_contain_text("Port Elin reopened after 19 days")

        page.locator("#b-lib-remove").click()
        expect(page.locator("#b-lib-confirm")).to_have_text("Yes, remove harbour.txt")
        page.locator("#b-lib-cancel").click()
        expect(page.locator("#b-lib-status")).to_contain_text("Nothing was removed")
        expect(page.locator("#b-lib-confirm")).to_be_hidden()
        assert (corpus_dir / "harbour.txt").is_file()

        page.locator("#b-lib-remove").click()
        page.locator("#b-lib-confirm").click()
        expect(page.locator("#b-lib-status")).to_contain_text("Removed harbour.txt")
        expect(table).not_to_contain_text("harbour.txt")
        expect(page.locator("#b-header")).to_contain_text("1 briefing indexed")
        assert not (corpus_dir / "harbour.txt").exists()
        ask(page, "How long was the harbour closed?")
        expect(page.locator("#b-chat")).not_to_contain_text("19 days")
        page.goto("about:blank")  # closes Gradio's open connections, so the server stops at once
