"""A digest in the real chat UI: Debian's Chromium, driven by Playwright, against a real server over the digest
test corpus. ``--screenshot PATH`` also saves the page with its timeline (the README's digest screenshot)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant.service import BriefingService
from assistant.settings import Settings
from tests.assistant.test_api import serving
from tests.assistant.test_digest import ARTICLES
from tests.assistant.test_ui_browser import ask, browser, page  # noqa: F401  (fixtures and steps shared)


@pytest.fixture
def digest_service(tmp_path: Path, model_cache: Path) -> BriefingService:
    folder = tmp_path / "corpus"
    folder.mkdir()
    for name, text in ARTICLES.items():
        (folder / name).write_text(text, encoding="utf-8")
    service = BriefingService(Settings(index=tmp_path / "index", model_cache=model_cache, corpus=folder))
    service.ingest([folder])
    service.warm_up()
    return service


@pytest.fixture
def digest_screenshot(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Path]:
    asked_for: Path | None = request.config.getoption("screenshot")
    yield asked_for.resolve() if asked_for is not None else tmp_path / "digest.png"


@pytest.mark.browser
def test_catch_me_up_shows_a_timeline_whose_sources_open_the_article_at_the_quote(
    page,  # noqa: F811
    digest_service: BriefingService,
    digest_screenshot: Path,
) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    with serving(digest_service) as url:
        page.goto(url)
        ask(page, "What's new on the Red Sea this week?")
        chat, sources, article = page.locator("#b-chat"), page.locator("#b-sources"), page.locator("#b-article")
        expect(chat).to_contain_text("Digest on Red Sea, 2024-03-01 to 2024-03-07")
        expect(chat).to_contain_text("2024-03-06")
        expect(chat).to_contain_text("Houthi rebels fired two missiles")
        expect(chat).to_contain_text("(2 briefings)")
        first = sources.locator(".b-source").first
        expect(first).to_contain_text("red1.txt")
        first.click()
        expect(article.locator("mark")).to_contain_text("Houthi rebels fired two missiles at a Greek-owned cargo ship")
        digest_screenshot.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(digest_screenshot), full_page=True)

        ask(page, "tell me more about the first one")
        expect(chat).to_contain_text("Digest on Houthi rebels fired two missiles")
