"""``briefings first-ingest``: whole processes indexing the same articles, ours beside the plain pipeline."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistant.measure.format_bench import pick_articles
from index.embedding import load_embedder
from tests.conftest import SEED_CORPUS, SEED_DOC, run_cli


def test_articles_are_picked_evenly_through_the_sorted_files(tmp_path: Path) -> None:
    for number in range(10):
        (tmp_path / f"{number:02d}.txt").write_text(f"Article {number} says something.\n")
    (tmp_path / "questions.jsonl").write_text("{}\n")
    picked = [source.path.name for source, _ in pick_articles(tmp_path, 5, spread=True)]
    assert picked == ["00.txt", "02.txt", "04.txt", "06.txt", "08.txt"]
    assert len(pick_articles(tmp_path, 50, spread=True)) == 10


@pytest.mark.slow
def test_first_ingest_times_whole_processes_on_both_sides(tmp_path: Path, model_cache: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / SEED_DOC).write_bytes((SEED_CORPUS / SEED_DOC).read_bytes())
    (corpus / "harbour.txt").write_text("date 2024-02-02\nHarbour reopens\nThe harbour reopened on Monday.\n")
    load_embedder(None, "onnx-int8", model_cache)  # the shared export exists, as on a machine that ran us before
    out = tmp_path / "first.json"
    args = ["first-ingest", "--corpus", str(corpus), "--articles", "2", "--repeat", "1", "--json", str(out)]
    finished = run_cli(*args, env={"BRIEFINGS_MODEL_CACHE": str(model_cache)})
    assert finished.returncode == 0, finished.stderr
    report = json.loads(out.read_text())
    assert (report["articles"], report["repeat"], report["command"]) == (2, 1, f"briefings {' '.join(args)}")
    assert len(report["ours_runs_seconds"]) == len(report["plain_runs_seconds"]) == 1
    assert report["ours_seconds"] > 0 and report["plain_seconds"] > 0
    # an empty model cache exports the model first: that run must cost more than one with the shared export
    assert report["ours_empty_model_cache_seconds"] > report["ours_seconds"]
    assert "as fast" in finished.stdout
