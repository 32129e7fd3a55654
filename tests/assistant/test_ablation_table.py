"""The ablation table is read back from the eval and tune-reader reports, one row per set, form and answerer."""

from __future__ import annotations

import json
from pathlib import Path

from assistant.measure.ablation import collect, markdown


def _report(correct: float) -> dict[str, object]:
    return {"answer": {"answer_correct": correct}, "abstention": {"false_abstain_rate": 0.1}, "latency_ms": {}}


def test_rows_come_from_the_reports_and_the_tuned_written_and_casual_forms_each_get_one(tmp_path: Path) -> None:
    (tmp_path / "rules-seed.json").write_text(json.dumps({**_report(0.8), "casual": _report(0.7)}), encoding="utf-8")
    (tmp_path / "reader-seed.json").write_text(json.dumps(_report(0.6)), encoding="utf-8")
    tuned = tmp_path / "tune.json"
    cross = {"folds": 5, "answer_correct": 0.4, "written": _report(0.45)["answer"], "casual": {"answer_correct": 0.35}}
    tuned.write_text(json.dumps({"cross_validated": cross}), encoding="utf-8")
    rows = collect(tmp_path, tuned)
    assert [(row["answerer"], row["answer_correct"]) for row in rows] == [
        ("rules", 0.8),
        ("rules", 0.7),
        ("reader", 0.6),
        ("reader", 0.45),
        ("reader", 0.35),
    ]
    assert rows[-1]["set"].endswith("typed casually")
    assert "| 0.450 |" in markdown(rows) and "| — |" in markdown(rows)
