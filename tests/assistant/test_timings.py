"""Where a question's time goes: the answer's ``timings_ms`` names its stages, and ``ask --timings`` prints them."""

from __future__ import annotations

from assistant.service import BriefingService
from assistant.settings import Settings
from tests.conftest import run_cli

STAGES = ("embed_query", "dense", "lexical", "fuse", "evidence", "decide")


def test_an_answer_reports_each_stage_inside_its_total(seed_service: BriefingService) -> None:
    timings = seed_service.ask("How long was the call?").timings_ms
    assert all(timings[name] >= 0 for name in STAGES)
    in_turn = sum(timings[name] for name in ("embed_query", "dense", "fuse"))
    assert in_turn <= timings["retrieve"] + 0.01  # the retrieval stages happen inside retrieval
    assert timings["lexical"] <= timings["retrieve"] + 0.01  # BM25 runs beside them, inside retrieval too
    assert sum(timings[name] for name in STAGES if name != "lexical") <= timings["total"] + 0.01


def test_ask_timings_prints_the_stages_after_the_answer(seed_settings: Settings) -> None:
    env = {"BRIEFINGS_INDEX": str(seed_settings.index), "BRIEFINGS_MODEL_CACHE": str(seed_settings.model_dir)}
    finished = run_cli("ask", "How long was the call?", "--timings", env=env)
    assert finished.returncode == 0, finished.stderr
    assert "an hour and 45 minutes" in finished.stdout
    line = next(line for line in finished.stderr.splitlines() if line.startswith("timings (ms):"))
    assert all(f"{name} " in line for name in (*STAGES, "total"))
