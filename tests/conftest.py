"""Shared fixtures: real Chroma in temporary folders, the real packaged embedder, isolated settings.

The embedder's ONNX export and the seed index are built once per session, because every test that asks a
question needs them and building them is the slow part.
"""

from __future__ import annotations

import functools
import inspect
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from assistant.service import BriefingService
from assistant.settings import Settings
from assistant.types import Answer, Citation

PROJECT = Path(__file__).resolve().parent.parent
SEED_CORPUS = PROJECT / "corpus"
SEED_DOC = "000_79c4bc1eae008fdb.txt"
NEWS = PROJECT.parent / "shared" / "corpora" / "news-2024q1"


@pytest.fixture(scope="session")
def user_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Stands in for ``~/.cache``, so no test writes into the developer's own model cache."""
    return tmp_path_factory.mktemp("user-cache")


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch, user_cache: Path) -> None:
    """No test sees the developer's BRIEFINGS_* or Slack settings or cache, and nothing may reach a model hub."""
    for name in list(os.environ):
        if name.startswith(("BRIEFINGS_", "SLACK_", "OPENAI_", "OLLAMA_")):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(user_cache))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture(scope="session")
def model_cache(user_cache: Path) -> Path:
    """One ONNX export for the whole session, in the folder that settings use by default."""
    folder = user_cache / "briefings" / "models"
    folder.mkdir(parents=True, exist_ok=True)  # a test with default settings may have made it first
    return folder


@pytest.fixture
def make_settings(tmp_path: Path, model_cache: Path):  # type: ignore[no-untyped-def]
    """Settings for a fresh index in this test's temporary folder."""

    def build(**overrides: object) -> Settings:
        values: dict[str, object] = {"index": tmp_path / "index", "model_cache": model_cache}
        values.update(overrides)
        return Settings(**values)  # type: ignore[arg-type]

    return build


@pytest.fixture(scope="session")
def seed_settings(tmp_path_factory: pytest.TempPathFactory, model_cache: Path) -> Settings:
    """An index of corpus/ (the seed briefing), built once."""
    settings = Settings(index=tmp_path_factory.mktemp("seed") / "index", model_cache=model_cache)
    BriefingService(settings).ingest([SEED_CORPUS])
    return settings


@pytest.fixture(scope="session")
def seed_service(seed_settings: Settings) -> BriefingService:
    service = BriefingService(seed_settings)
    service.warm_up()
    return service


@pytest.fixture
def corpus_dir(tmp_path: Path) -> Iterator[Path]:
    """A writable copy of the seed corpus (articles only) for tests that change files."""
    folder = tmp_path / "corpus"
    folder.mkdir()
    shutil.copy(SEED_CORPUS / SEED_DOC, folder / SEED_DOC)
    yield folder


def made_answer(question: str, text: str, citations: tuple[Citation, ...] = (), **fields: Any) -> Answer:
    """An extractive answer object built by hand, for tests of how adapters show one."""
    abstained = fields.pop("abstained", False)
    timings = {"retrieve": 1.0, "answer": 1.0, "total": 2.0}
    return Answer(question, text, abstained, citations, (), "extractive", timings, **fields)


def seed_text() -> str:
    return (SEED_CORPUS / SEED_DOC).read_text(encoding="utf-8")


def run_cli(*args: str, env: dict[str, str] | None = None, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """``briefings ARGS`` in a real subprocess, from the project folder, with extra environment."""
    return subprocess.run(
        [sys.executable, "-m", "assistant.adapters.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=PROJECT,
        env={**os.environ, **(env or {})},
    )


requires_news = pytest.mark.skipif(not NEWS.is_dir(), reason="../shared/corpora/news-2024q1 is not present")


PLAYWRIGHT_IMPORT = re.compile(r"^\s*(?:from|import)\s+playwright\b", re.MULTILINE)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--screenshot",
        metavar="PATH",
        type=Path,
        default=None,
        help="also save the browser test's screenshot of an answered question there (`make screenshot`)",
    )


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects by marker
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """A test that reaches Playwright, in its own body or through any fixture it uses, is a browser test.

    Marking it here rather than by hand means `-m "not browser"` can never start a browser by accident.
    """
    for item in items:
        if not item.get_closest_marker("browser") and _reaches_playwright(item):
            item.add_marker(pytest.mark.browser)


def _reaches_playwright(item: pytest.Item) -> bool:
    functions = [getattr(item, "function", None)]
    fixture_info = getattr(item, "_fixtureinfo", None)
    if fixture_info is not None:
        for definitions in fixture_info.name2fixturedefs.values():
            functions += [definition.func for definition in definitions]
    return any(_imports_playwright(function) for function in functions if function is not None)


@functools.cache
def _imports_playwright(function: Any) -> bool:
    try:
        return PLAYWRIGHT_IMPORT.search(inspect.getsource(function)) is not None
    except (OSError, TypeError):  # no readable source (a C function, a lambda built at run time)
        return False
