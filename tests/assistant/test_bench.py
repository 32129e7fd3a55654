"""``briefings bench`` and ``briefings scale`` on tiny inputs: every report key is there, with the right type.

Benchmarks are measured, not asserted: these tests check the reports' shape, never how fast anything was.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from unittest.mock import patch

import numpy as np
import pytest

from assistant.errors import ConfigurationError
from assistant.measure.bench import stage_p50s
from assistant.measure.questions import read_questions
from assistant.measure.stats import percentiles
from assistant.service import BriefingService
from assistant.settings import Settings
from tests.conftest import SEED_CORPUS, SEED_DOC, run_cli

Number = (int, float)
TOP_KEYS = (
    "corpus_docs",
    "corpus_chars",
    "chunks",
    "ingest_seconds",
    "chars_per_second",
    "reingest_unchanged_seconds",
    "query_p50_ms",
    "query_p95_ms",
    "cold_start_seconds",
    "peak_rss_mb",
)
PLAIN_KEYS = ("ingest_seconds", "chars_per_second", "query_p50_ms", "query_p95_ms")
RATIO_KEYS = ("ingest_speed", "query_p50")


def briefings(args: list[str], model_cache: Path) -> subprocess.CompletedProcess[str]:
    return run_cli(*args, env={"BRIEFINGS_MODEL_CACHE": str(model_cache)})


@pytest.fixture
def tiny_corpus(tmp_path: Path) -> tuple[Path, Path]:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / SEED_DOC).write_bytes((SEED_CORPUS / SEED_DOC).read_bytes())
    (corpus / "harbour.txt").write_text(
        "date 2024-02-02\nHarbour reopens\nThe Zanzibar harbour reopened after 3 weeks of repairs to the quay.\n"
    )
    (corpus / "memo.md").write_text("# Budget memo\nThe Quetzal project budget is 40 million dollars.\n")
    questions = tmp_path / "questions.jsonl"
    questions.write_text(
        '{"id": "q1", "question": "How long was the call?"}\n{"id": "q2", "question": "When did the harbour reopen?"}\n'
    )
    return corpus, questions


def test_bench_reports_every_key_for_both_pipelines(
    tiny_corpus: tuple[Path, Path], tmp_path: Path, model_cache: Path
) -> None:
    corpus, questions = tiny_corpus
    out = tmp_path / "bench.json"
    index = tmp_path / "bench-index"
    result = briefings(
        ["bench", "--corpus", str(corpus), "--questions", str(questions), "--json", str(out), "--index", str(index)],
        model_cache,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(out.read_text())
    for key in TOP_KEYS:
        assert isinstance(report[key], Number) and report[key] >= 0, key
    for key in PLAIN_KEYS:
        assert isinstance(report["plain"][key], Number) and report["plain"][key] > 0, key
    for key in RATIO_KEYS:
        assert isinstance(report["ratios"][key], Number) and report["ratios"][key] > 0, key
    assert report["corpus_docs"] == 3 and report["questions"] == 2
    assert report["corpus_chars"] == sum(len(p.read_text(encoding="utf-8")) for p in corpus.iterdir())
    assert report["chunks"] > 0 and report["plain"]["chunks"] > 0
    assert (index / "chroma.sqlite3").is_file()  # --index keeps the bench's index
    assert "query p50 (ms)" in result.stdout and "plain LangChain" in result.stdout
    stages = report["query_stages_p50_ms"]
    assert {"retrieve", "answer", "total", "dense"} <= set(stages) and all(v >= 0 for v in stages.values())
    assert report["suite"]["folder"] == str(tmp_path) and "first_ingest.json" in report["suite"]["missing"]
    upload = report["upload"]  # no article here is long: each of the three is uploaded again as a new one
    assert upload["files"] == 3 and len(upload["seconds_each"]) == 3 and min(upload["seconds_each"]) > 0
    assert upload["seconds_max"] == max(upload["seconds_each"]) and min(upload["chunks_each"]) >= 1
    assert "one upload, slowest (s)" in result.stdout
    uploaded = BriefingService(Settings(index=index)).store.article_records()
    assert any(doc.endswith("bench-upload-1.txt") for doc in uploaded)
    targets = {target["name"]: target for target in report["suite"]["targets"]}
    assert len(targets) == 7 and "targets (" in result.stdout
    assert targets["upload_seconds"]["met"] is None  # a 3-article index is no 25,000-chunk one
    assert "fewer than 25,000" in targets["upload_seconds"]["source"]
    assert out.with_suffix(".png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"  # --plot defaults beside --json


def test_bench_refuses_an_index_folder_in_use(
    tiny_corpus: tuple[Path, Path], tmp_path: Path, model_cache: Path
) -> None:
    corpus, questions = tiny_corpus
    used = tmp_path / "used"
    used.mkdir()
    (used / "chroma.sqlite3").write_text("")
    result = briefings(
        ["bench", "--corpus", str(corpus), "--questions", str(questions), "--index", str(used)], model_cache
    )
    assert result.returncode == 1 and "not empty" in result.stderr and "Traceback" not in result.stderr


@pytest.fixture
def tiny_news(tmp_path: Path) -> tuple[Path, Path]:
    """Three articles and a question set naming one of them as evidence (and one unanswerable question)."""
    articles = tmp_path / "news" / "articles"
    articles.mkdir(parents=True)
    (articles / "ev_1.txt").write_text("date 2024-01-05\nQuiz note\nThe highest state minimum wage is Washington's.\n")
    (articles / "harbour.txt").write_text("date 2024-02-02\nHarbour\n" + "The harbour reopened after repairs. " * 40)
    (articles / "budget.md").write_text("# Budget memo\nThe Quetzal project budget is 40 million dollars.\n")
    questions = tmp_path / "news" / "questions-dev.jsonl"
    lines = [
        {"question": "Which state has the highest minimum wage?", "answerable": True,
         "evidence": [{"doc": "ev_1.txt", "quote": "The highest state minimum wage is Washington's."}]},
        {"question": "Who won the 2030 final?", "answerable": False, "evidence": []},
    ]  # fmt: skip
    questions.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    return articles, questions


def scale_args(news: tuple[Path, Path], folder: Path, *more: str) -> list[str]:
    """``briefings scale`` on the tiny corpus, keeping vectors in ``folder`` and leaving the page cache alone."""
    articles, questions = news
    common = ["--queries", "12", "--corpus", str(articles), "--questions", str(questions), "--no-drop-caches"]
    return ["scale", *common, "--cache", str(folder / "vectors"), "--json", str(folder / "scale.json"), *more]


def test_scale_on_a_server_reports_cold_and_warm_queries_and_draws_the_curve(
    tiny_news: tuple[Path, Path], tmp_path: Path, model_cache: Path
) -> None:
    picture = tmp_path / "scale.png"
    result = briefings(scale_args(tiny_news, tmp_path, "--sizes", "100", "--plot", str(picture)), model_cache)
    assert result.returncode == 0, result.stderr
    report = json.loads((tmp_path / "scale.json").read_text())
    assert report["hnsw"] == {"space": "cosine", "ef_construction": 200, "max_neighbors": 32, "ef_search": 200}
    assert report["dimension"] == 384 and "chroma run" in report["chroma"]
    assert report["questions"] == {"file": str(tiny_news[1]), "news": 2, "news_answerable": 1, "planted": 12}
    (point,) = report["points"]
    assert point["size"] == 100 and point["embedding"]["rows_embedded"] == 100
    assert point["inserts_per_second"] > 0 and 0 < point["query_p50_ms"] <= point["query_p95_ms"]
    assert point["recall_at_10"] >= 0.9  # HNSW is all but exact this small: a low figure is a measuring bug
    assert point["hit_at_10"]["exact"]["planted"] >= 0.5 and point["hit_at_10"]["exact"]["news"] == 1.0
    assert point["cold"]["drop_caches"] == "not asked" and point["cold"]["first_query_ms"] > 0
    assert point["server_after_inserts"]["peak_rss_mb"] > 0 and point["cold"]["server"]["peak_rss_mb"] > 0
    assert point["disk_mb"] > 0
    assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_scale_embedded_grows_size_by_size_and_reads_earlier_vectors_back(
    tiny_news: tuple[Path, Path], tmp_path: Path, model_cache: Path
) -> None:
    embedded = []
    for sizes, width in (("60,150", []), ("150", ["--ef-search", "400"])):
        result = briefings(scale_args(tiny_news, tmp_path, "--sizes", sizes, "--embedded", *width), model_cache)
        assert result.returncode == 0, result.stderr
        report = json.loads((tmp_path / "scale.json").read_text())
        assert report["hnsw"]["ef_search"] == 200  # as created
        assert result.stdout.split()[:3] == ["chunks", "inserts/s", "ef_search"]
        points = report["points"]
        for point in points:
            assert point["ef_search"] == (400 if width else 200)  # as read back from the collection
            if width:  # a width other than ours is compared with ours, in a pass of its own
                assert point["fixed_width"]["ef_search"] == 200 and point["fixed_width"]["recall_at_10"] >= 0.9
            else:
                assert point["fixed_width"] is None
            assert point["recall_at_10"] >= 0.9 and point["cold"]["client"]["peak_rss_mb"] > 0
            assert point["server_after_inserts"] is None and point["disk_mb"] > 0
        embedded.append([point["embedding"]["rows_embedded"] for point in points])
    assert embedded == [[60, 90], [0]]


def test_scale_rows_are_distinct_reproducible_and_exact_search_is_exact(tmp_path: Path) -> None:
    from assistant.measure.scale_data import VectorCache, planted

    facts = [planted(3, number) for number in range(2000)]
    assert len({fact.text for fact in facts}) == len({fact.question for fact in facts}) == 2000
    assert planted(3, 1234) == facts[1234] and planted(4, 1234) != facts[1234]
    assert all(fact.answer in fact.text for fact in facts)
    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((700, 384)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    cache = VectorCache(tmp_path, {"test": 1}, 384)
    cache.path.write_bytes(vectors.tobytes() + b"\0" * 5)  # a torn last row is dropped on open
    cache = VectorCache(tmp_path, {"test": 1}, 384)
    assert cache.rows == 700 and np.array_equal(cache.read(100, 110), vectors[100:110])
    queries = vectors[:12] + 0.5 * rng.standard_normal((12, 384)).astype(np.float32)
    expected = np.argsort(-(queries @ vectors[:650].T), axis=1)[:, :10]
    with patch("assistant.measure.scale_data.EXACT_BLOCK", 256):  # several blocks, the last one partial
        assert np.array_equal(cache.exact_top(queries, 650, 10), expected)


def test_bench_latencies_interpolate_between_samples() -> None:
    assert percentiles([40.0, 10.0, 30.0, 20.0], (50, 95)) == pytest.approx((25.0, 38.5))
    assert percentiles([12.5], (50, 95, 99)) == (12.5, 12.5, 12.5)
    assert percentiles([], (50, 95)) is None


def test_bench_stage_medians_count_a_stage_an_answer_skipped_as_zero() -> None:
    timings = [{"dense": 2.0, "total": 10.0}, {"dense": 4.0, "lexical": 3.0, "total": 20.0}, {"total": 30.0}]
    assert stage_p50s(timings) == {"dense": 2.0, "total": 20.0, "lexical": 0.0}
    assert stage_p50s([]) == {}


def test_bench_times_the_single_questions_of_a_set(tmp_path: Path) -> None:
    questions = tmp_path / "questions.jsonl"
    conversation = {"id": "c1", "turns": [{"user": "Who called?"}, {"user": "For how long?"}]}
    lines = [{"question": " How long was the call? "}, conversation, {"question": ""}, {"question": "Who called?"}]
    questions.write_text("\n".join(json.dumps(line) for line in lines) + "\n", encoding="utf-8")
    assert read_questions([questions]) == ["How long was the call?", "Who called?"]
    only_conversations = tmp_path / "conversations.jsonl"
    only_conversations.write_text(json.dumps(conversation) + "\n", encoding="utf-8")
    with pytest.raises(ConfigurationError, match="No questions to time"):
        read_questions([only_conversations])
