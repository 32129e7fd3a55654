"""``briefings doctor`` and ``--version``: one line per check, a fix for each failure, and nothing changed."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from assistant.service import BriefingService
from assistant.settings import Settings
from index.lexical import database_path, lexical_folder


def doctor(settings: Settings, **env: str) -> Any:
    values = {"BRIEFINGS_INDEX": str(settings.index), "BRIEFINGS_MODEL_CACHE": str(settings.model_cache), **env}
    from assistant.adapters.cli import app

    return CliRunner().invoke(app, ["doctor"], env=values)


def lines_of(result: Any) -> dict[str, str]:
    """``{check name: its line}`` from the report."""
    found = {}
    for line in result.stdout.splitlines():
        match = re.match(r"^(ok|warn|FAIL)\s+([a-z ]+):", line)
        if match:
            found[match.group(2)] = line
    return found


def test_version_prints_the_installed_version() -> None:
    from assistant.adapters.cli import app

    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0 and re.fullmatch(r"briefings \d+\.\d+\.\d+\n", result.stdout)


def test_a_ready_index_passes_every_check(make_settings, corpus_dir: Path) -> None:  # type: ignore[no-untyped-def]
    settings = make_settings()
    BriefingService(settings).ingest([corpus_dir])
    result = doctor(settings)
    assert result.exit_code == 0, result.output
    checks = lines_of(result)
    assert {"python", "embedding model", "answer model", "index", "lexical index", "chromium", "slack"} <= set(checks)
    assert all(line.startswith("ok") for name, line in checks.items() if name in ("python", "index", "slack"))
    assert checks["index"].startswith("ok") and "1 articles" in checks["index"]
    assert checks["lexical index"].startswith("ok") and "in step with Chroma" in checks["lexical index"]
    assert checks["slack"].startswith("ok") and "not configured" in checks["slack"]
    database_path(lexical_folder(settings.index)).unlink()
    behind = lines_of(doctor(settings))["lexical index"]
    assert behind.startswith("warn") and "->" in behind
    assert not database_path(lexical_folder(settings.index)).exists(), "the doctor only looks"


def test_no_index_and_half_a_slack_set_up_fail_with_what_to_do(make_settings) -> None:  # type: ignore[no-untyped-def]
    settings = make_settings()
    result = doctor(settings, SLACK_SIGNING_SECRET="secret")
    assert result.exit_code == 1 and "Traceback" not in result.output
    checks = lines_of(result)
    assert checks["index"].startswith("FAIL") and "run `briefings ingest` first" in checks["index"]
    assert (
        checks["slack"] == "FAIL  slack: SLACK_BOT_TOKEN is not set, so Slack stays off -> set SLACK_BOT_TOKEN as well"
    )
    assert checks["lexical index"].startswith("warn") and "not checked" in checks["lexical index"]
    assert "2 check(s) failed: index, slack" in result.output
    assert not settings.index.exists(), "the doctor creates no index"
