"""``briefings load`` against a real uvicorn server on a loopback port serving the seed index."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from assistant.adapters.cli import app
from assistant.service import BriefingService
from tests.assistant.test_api import serving
from tests.conftest import SEED_CORPUS, SEED_DOC


@pytest.fixture(scope="module")
def server_url(seed_service: BriefingService) -> Iterator[str]:
    with serving(seed_service) as url:
        yield url


def test_load_reports_throughput_latency_and_no_errors(server_url: str, tmp_path: Path) -> None:
    out = tmp_path / "load.json"
    result = CliRunner().invoke(
        app,
        [
            "load",
            "--url",
            server_url,
            "--concurrency",
            "4",
            "--seconds",
            "2",
            "--questions",
            str(SEED_CORPUS / "questions.jsonl"),
            "--json",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    assert report["errors"] == 0 and report["error_kinds"] == {}
    assert report["ok"] > 0 and report["requests"] == report["ok"]
    assert report["throughput_rps"] > 0 and report["concurrency"] == 4
    latency = report["latency_ms"]
    assert 0 < latency["p50"] <= latency["p95"] <= latency["p99"] <= latency["max"]
    assert "answers/s" in result.output and "errors: 0" in result.output


def test_load_refuses_another_machine_unless_allowed() -> None:
    result = CliRunner().invoke(app, ["load", "--url", "http://192.0.2.7:7860", "--seconds", "1"])
    assert result.exit_code == 1
    assert "only this machine" in result.output


def test_load_says_when_no_server_answers(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        ["load", "--url", "http://127.0.0.1:9", "--seconds", "1", "--questions", str(SEED_CORPUS / "questions.jsonl")],
    )
    assert result.exit_code == 1
    assert "No Briefings server answers" in result.output


def test_load_with_uploads_answers_everything_indexes_them_and_samples_memory(
    make_settings, corpus_dir: Path, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    """Askers keep getting answers while the index changes under them, and the report shows the server's memory."""
    service = BriefingService(make_settings(corpus=corpus_dir))
    service.ingest([corpus_dir])
    uploads = tmp_path / "uploads"
    uploads.mkdir()
    memos = {
        "memo-1.txt": "Harbour memo\n\nThe harbour authority of Tallinn reopened pier 41 after storm repairs.\n",
        "memo-2.txt": "Rail memo\n\nThe night train from Vilnius to Warsaw was cancelled for three weeks in March.\n",
    }
    for name, text in memos.items():
        (uploads / name).write_text(text, encoding="utf-8")
    out = tmp_path / "load.json"
    with serving(service) as url:
        result = CliRunner().invoke(
            app,
            ["load", "--url", url, "--concurrency", "4", "--seconds", "4", "--questions",
             str(SEED_CORPUS / "questions.jsonl"), "--upload", str(uploads), "--server-pid", str(os.getpid()),
             "--json", str(out)],
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        answer = service.ask("Which pier did the harbour authority of Tallinn reopen?")
    report = json.loads(out.read_text())
    assert report["errors"] == 0 and report["ok"] > 0
    assert report["uploads"]["files"] == 2 and report["uploads"]["ok"] == 2, report["uploads"]
    assert sorted(path.name for path in corpus_dir.iterdir()) == sorted(["memo-1.txt", "memo-2.txt", SEED_DOC])
    assert "41" in answer.answer and answer.citations[0].doc == "memo-1.txt"
    memory = report["server_rss_mb"]
    assert memory["samples"] >= 2 and 0 < memory["first"] <= memory["max"]
    assert "uploads: 2 of 2 indexed" in result.output


def test_load_refuses_a_missing_upload_before_asking(server_url: str, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["load", "--url", server_url, "--seconds", "1", "--upload", str(tmp_path / "nope")]
    )
    assert result.exit_code == 1
    assert "No file or folder" in result.output


def test_load_against_a_server_without_an_index_gives_the_servers_reason(make_settings) -> None:  # type: ignore[no-untyped-def]
    with serving(BriefingService(make_settings())) as url:
        result = CliRunner().invoke(
            app, ["load", "--url", url, "--seconds", "1", "--questions", str(SEED_CORPUS / "questions.jsonl")]
        )
    assert result.exit_code == 1
    assert "not ready (503)" in result.output and "briefings ingest" in result.output
