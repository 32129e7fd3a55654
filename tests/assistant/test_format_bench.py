"""``briefings formats-bench`` on three small articles: the report has every figure, and the figures are sane.

Like the other benchmarks, the test checks the report's shape and bounds, never how fast anything was.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistant.measure.format_bench import missing_sentences, pick_articles
from tests.conftest import run_cli

ARTICLES = {
    "a_harbour.txt": "date 2024-02-02\nHarbour reopens\nThe harbour reopened on Monday after three weeks of repairs.\n"
    "Officials said the storm had damaged two cranes. Ships had used the southern terminal.\n",
    "b_budget.txt": "date 2024-02-05\nCouncil budget\nThe council’s budget rose by 4.2 per cent — its largest rise "
    "in a decade.\n“We had no choice,” the treasurer said on Tuesday.\n",
    "nested/c_rail.txt": "date 2024-02-09\nRail strike ends\nDrivers returned to work on Friday morning.\n"
    + "The union accepted a pay offer of 5 per cent over two years, with a review in the spring. " * 80
    + "\n",
}
TOP_KEYS = {"command", "selection", "corpus", "articles", "source_chars", "pdf", "extraction", "ingest", "ratios"}
TOP_KEYS |= {"fidelity", "settings", "machine"}
INGEST_KEYS = {"seconds", "runs_seconds", "chars_per_second", "articles_per_second", "chunks", "indexed_chars"}


@pytest.fixture
def three_articles(tmp_path: Path) -> Path:
    corpus = tmp_path / "corpus"
    for name, text in ARTICLES.items():
        (corpus / name).parent.mkdir(parents=True, exist_ok=True)
        (corpus / name).write_text(text, encoding="utf-8")
    (corpus / "questions.jsonl").write_text('{"id": "q1", "question": "When did the harbour reopen?"}\n')
    return corpus


def test_formats_bench_reports_speed_pages_and_fidelity(
    three_articles: Path, tmp_path: Path, model_cache: Path
) -> None:
    out = tmp_path / "out" / "formats.json"
    args = ["formats-bench", "--corpus", str(three_articles), "--articles", "3", "--repeat", "2", "--json", str(out)]
    result = run_cli(*args, env={"BRIEFINGS_MODEL_CACHE": str(model_cache)})
    assert result.returncode == 0, result.stderr
    assert "ingest .pdf" in result.stdout and "extract .pdf only" in result.stdout

    report = json.loads(out.read_text())
    assert set(report) >= TOP_KEYS
    assert report["articles"] == 3 and report["command"].startswith("briefings formats-bench")
    assert report["pdf"]["pages"] >= 3 and report["pdf"]["pages_per_pdf"]["max"] >= 2  # the rail article is long
    assert report["pdf"]["characters_replaced"] >= 0 and report["pdf"]["font"]
    assert report["extraction"]["seconds"] > 0 and report["extraction"]["pages_per_second"] > 0
    for kind in ("txt", "pdf"):
        figures = report["ingest"][kind]
        assert set(figures) >= INGEST_KEYS
        assert figures["seconds"] > 0 and figures["chars_per_second"] > 0 and len(figures["runs_seconds"]) == 2
    assert report["ingest"]["pdf"]["pages_per_second"] > 0
    assert report["ratios"]["pdf_over_text_ingest_seconds"] > 0

    fidelity = report["fidelity"]
    assert 0 <= fidelity["articles_with_every_sentence"] <= fidelity["articles"] == 3
    assert 0 <= fidelity["sentences_found"] <= fidelity["sentences"]
    assert fidelity["titles_matching"] <= 3 and fidelity["dates_matching"] <= 3
    assert {"cpus", "python", "pypdfium2"} <= set(report["machine"])


def test_articles_are_the_first_text_files_by_name_or_spread_through_them(tmp_path: Path) -> None:
    for number in range(10):
        (tmp_path / f"{number:02d}.txt").write_text(f"Article {number}\nBody of article {number}.\n")
    (tmp_path / "notes.html").write_text("<p>not a text article</p>")
    assert [source.doc_id for source, _ in pick_articles(tmp_path, 3)] == ["00.txt", "01.txt", "02.txt"]
    assert [source.doc_id for source, _ in pick_articles(tmp_path, 3, spread=True)] == ["00.txt", "03.txt", "06.txt"]


def test_a_sentence_counts_when_only_whitespace_differs() -> None:
    source = "Title line\nThe quay reopened on Monday. Two cranes were damaged.\nA third sentence."
    extracted = "Title line\n\nThe quay reopened\non Monday. Two  cranes were damaged."
    missing, total = missing_sentences(source, extracted)
    assert missing == ["A third sentence."] and total == 4
