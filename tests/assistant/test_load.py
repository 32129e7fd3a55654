"""``briefings load`` against a real uvicorn server on a loopback port serving the seed index."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from assistant.cli import app
from assistant.service import BriefingService
from tests.assistant.test_api import serving
from tests.conftest import SEED_CORPUS


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
