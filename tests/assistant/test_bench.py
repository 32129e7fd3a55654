"""``briefings bench`` and ``briefings scale`` on tiny inputs: every report key is there, with the right type.

Benchmarks are measured, not asserted: these tests check the reports' shape, never how fast anything was.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest

from assistant.errors import ConfigurationError
from assistant.measure.questions import read_questions
from assistant.measure.stats import percentiles
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


def test_scale_reports_each_size_and_draws_the_curve(tmp_path: Path, model_cache: Path) -> None:
    out, picture = tmp_path / "scale.json", tmp_path / "scale.png"
    result = briefings(
        ["scale", "--sizes", "1000,2000", "--queries", "30", "--json", str(out), "--plot", str(picture)], model_cache
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(out.read_text())
    assert report["hnsw"] == {"space": "cosine", "ef_construction": 200, "max_neighbors": 32, "ef_search": 200}
    assert report["dimension"] == 384 and report["batch_size"] > 0
    assert [point["size"] for point in report["points"]] == [1000, 2000]
    for point in report["points"]:
        assert point["inserts_per_second"] > 0 and 0 < point["query_p50_ms"] <= point["query_p95_ms"]
        assert point["recall_at_10"] >= 0.9  # HNSW is all but exact this small: a low figure is a measuring bug
    assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_synthetic_chunks_are_reproducible_and_exact_search_is_exact() -> None:
    from assistant.measure.scale_bench import BLOCK, SyntheticChunks

    data = SyntheticChunks(seed=3)
    size = BLOCK + 500  # crosses a block boundary
    everything = data.vectors(0, size)
    assert np.array_equal(data.vectors(BLOCK - 10, BLOCK + 10), everything[BLOCK - 10 : BLOCK + 10])
    assert np.allclose(np.linalg.norm(everything, axis=1), 1.0, atol=1e-5)
    queries = data.queries(size, 12)
    expected = np.argsort(-(queries @ everything.T), axis=1)[:, :10]
    assert np.array_equal(data.exact_neighbours(queries, size, 10), expected)


def test_bench_latencies_interpolate_between_samples() -> None:
    assert percentiles([40.0, 10.0, 30.0, 20.0], (50, 95)) == pytest.approx((25.0, 38.5))
    assert percentiles([12.5], (50, 95, 99)) == (12.5, 12.5, 12.5)
    assert percentiles([], (50, 95)) is None


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
