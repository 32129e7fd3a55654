"""The command line as users run it: real subprocesses, real index, exit codes and one-line errors."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from assistant.settings import Settings
from tests.conftest import SEED_CORPUS, SEED_DOC, run_cli, seed_text


def briefings(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return run_cli(*args, env=env, timeout=300)


def assert_one_line_error(result: subprocess.CompletedProcess[str], fragment: str) -> None:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and fragment in errors[0], result.stderr


@pytest.fixture
def seed_env(seed_settings: Settings) -> dict[str, str]:
    return {"BRIEFINGS_INDEX": str(seed_settings.index), "BRIEFINGS_MODEL_CACHE": str(seed_settings.model_cache)}


def test_ask_json_prints_the_answer_object_with_verified_citations(seed_env: dict[str, str]) -> None:
    result = briefings("ask", "How long was the call?", "--json", env=seed_env)
    assert result.returncode == 0, result.stderr
    body = json.loads(result.stdout)
    assert body["answer"] == "an hour and 45 minutes" and body["abstained"] is False
    text = seed_text()
    for citation in body["citations"]:
        assert citation["doc"] == SEED_DOC
        assert text[citation["start"] : citation["end"]] == citation["quote"]
    assert set(body["timings_ms"]) >= {"retrieve", "answer", "total"}


def test_ask_human_output_numbers_citations(seed_env: dict[str, str]) -> None:
    result = briefings("ask", "How long was the call?", env=seed_env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("an hour and 45 minutes")
    assert "[1] " in result.stdout and SEED_DOC in result.stdout and "2022-02-20" in result.stdout


@pytest.mark.parametrize(
    ("question", "fragment"),
    [("   ", "question is empty"), ("why? " * 500, "limit is 2000"), ("w" * 100_000, "100000 characters long")],
)
def test_bad_questions_are_one_line_errors(seed_env: dict[str, str], question: str, fragment: str) -> None:
    assert_one_line_error(briefings("ask", question, env=seed_env), fragment)


def test_no_index_says_run_ingest_and_leaves_nothing_behind(tmp_path: Path) -> None:
    result = briefings("ask", "How long was the call?", "--index", str(tmp_path / "none"))
    assert_one_line_error(result, "run `briefings ingest` first")
    assert not (tmp_path / "none").exists()  # a mistyped --index creates no folder and exports no model


@pytest.mark.parametrize("question", ["", "how long? " * 10_000, "How long was the call?"])  # empty, 100 kB, fine
def test_asking_a_damaged_index_leaves_it_byte_for_byte_as_it_was(
    tmp_path: Path, model_cache: Path, question: str
) -> None:
    index = tmp_path / "index"
    index.mkdir()
    damaged = b"this is not a database" * 100
    (index / "chroma.sqlite3").write_bytes(damaged)
    result = briefings("ask", question, "--index", str(index), env={"BRIEFINGS_MODEL_CACHE": str(model_cache)})
    assert result.returncode == 1 and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert sorted(path.name for path in index.iterdir()) == ["chroma.sqlite3"]
    assert (index / "chroma.sqlite3").read_bytes() == damaged


def test_damaged_index_is_a_one_line_error(tmp_path: Path, model_cache: Path) -> None:
    index = tmp_path / "index"
    index.mkdir()
    (index / "chroma.sqlite3").write_bytes(b"this is not a database" * 100)
    result = briefings(
        "ask", "How long was the call?", "--index", str(index), env={"BRIEFINGS_MODEL_CACHE": str(model_cache)}
    )
    assert_one_line_error(result, "rebuild")


def test_ingest_errors_for_missing_and_empty_corpus(tmp_path: Path, model_cache: Path) -> None:
    env = {"BRIEFINGS_MODEL_CACHE": str(model_cache), "BRIEFINGS_INDEX": str(tmp_path / "index")}
    assert_one_line_error(briefings("ingest", str(tmp_path / "missing"), env=env), "not found")
    (tmp_path / "empty").mkdir()
    assert_one_line_error(briefings("ingest", str(tmp_path / "empty"), env=env), "No loadable articles")


def test_ingest_prints_a_summary_and_warns_about_bad_files(tmp_path: Path, model_cache: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / SEED_DOC).write_text((SEED_CORPUS / SEED_DOC).read_text(encoding="utf-8"), encoding="utf-8")
    (corpus / "blank.txt").write_text("")
    env = {"BRIEFINGS_MODEL_CACHE": str(model_cache), "BRIEFINGS_INDEX": str(tmp_path / "index")}
    first = briefings("ingest", str(corpus), env=env)
    assert first.returncode == 0, first.stderr
    assert "1 added, 0 updated, 0 unchanged, 0 removed" in first.stdout
    assert "warning: skipped 1 file(s)" in first.stderr and "blank.txt (empty)" in first.stderr
    assert "DEBUG" not in first.stderr  # library chatter stays out of what a user reads
    second = briefings("ingest", str(corpus), env=env)
    assert "0 added, 0 updated, 1 unchanged" in second.stdout


def test_eval_writes_report_json_markdown_and_chart(seed_env: dict[str, str], tmp_path: Path) -> None:
    out, report = tmp_path / "report.json", tmp_path / "report.md"
    result = briefings("eval", "corpus/questions.jsonl", "--json", str(out), "--report", str(report), env=seed_env)
    assert result.returncode == 0, result.stderr
    body = json.loads(out.read_text())
    assert set(body) >= {
        "questions",
        "answerable",
        "unanswerable",
        "retrieval",
        "answer",
        "citations",
        "abstention",
        "latency_ms",
        "per_question",
    }
    assert set(body["retrieval"]) == {"hit@1", "hit@5", "hit@10", "mrr@10"}
    assert set(body["answer"]) == {
        "answer_correct",
        "short_answer_rate",
        "short_answer_precision",
        "wrong_answer_rate",
        "exact_match",
        "f1",
        "answer_in_citation",
    }
    assert set(body["citations"]) == {"doc_accuracy", "quote_verified"}
    assert set(body["abstention"]) == {"correct_abstain_rate", "false_abstain_rate"}
    assert report.read_text().startswith("# Evaluation") and report.with_suffix(".png").stat().st_size > 1000
    assert "answer_in_citation" in result.stdout
