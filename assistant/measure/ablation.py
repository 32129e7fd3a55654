"""The ablation table: the hand-written rules against the reader, set by set, from eval report files.

``make ablation`` writes one ``briefings eval --json`` report per answerer and question set into one folder
(``<answerer>-<set>.json``); this module only reads them back into one table, so every figure in it can be
traced to a report and the command that made it. Reports run with ``--casual`` add a row for the same
questions typed casually. The reader's cross-validated development figures come from ``tune-reader``'s
report, since its thresholds were fitted on those questions.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

ANSWERERS = ("rules", "reader")
SETS = {
    "seed": "seed briefing, written questions",
    "seed-casual": "seed briefing, hand-written casual wordings",
    "seed-conversations": "seed conversations",
    "robustness-conversations": "seed follow-up conversations (robustness set)",
    "seed-among-news": "seed questions among the 2,757 news articles",
    "news-dev": "news dev questions",
}
COLUMNS = (
    ("answer_correct", ("answer", "answer_correct")),
    ("short precision", ("answer", "short_answer_precision")),
    ("short rate", ("answer", "short_answer_rate")),
    ("wrong", ("answer", "wrong_answer_rate")),
    ("refused answerable", ("abstention", "false_abstain_rate")),
    ("refused unanswerable", ("abstention", "correct_abstain_rate")),
    ("hit@10", ("retrieval", "hit@10")),
    ("mrr@10", ("retrieval", "mrr@10")),
    ("p50 ms", ("latency_ms", "p50")),
)


def collect(folder: Path, tuned: Path | None = None) -> list[dict[str, Any]]:
    """One row per (set, form, answerer) found in ``folder``; a missing report is simply not a row."""
    rows = []
    for name, label in SETS.items():
        for answerer in ANSWERERS:
            path = folder / f"{answerer}-{name}.json"
            if not path.is_file():
                continue
            report = json.loads(path.read_text(encoding="utf-8"))
            rows.append(_row(label, answerer, report))
            if "casual" in report:
                rows.append(_row(f"{label} — typed casually", answerer, report["casual"]))
    if tuned is not None and tuned.is_file():
        cross = json.loads(tuned.read_text(encoding="utf-8"))["cross_validated"]
        label = f"news dev questions, {cross['folds']}-fold cross-validated thresholds"
        forms = (
            [(label, cross["written"]), (f"{label} — typed casually", cross["casual"])] if "written" in cross else []
        )
        for form_label, figures in forms or [(label, cross)]:
            rows.append(_row(form_label, "reader", {"answer": figures, "abstention": figures}))
    return rows


def _row(label: str, answerer: str, report: dict[str, Any]) -> dict[str, Any]:
    row: dict[str, Any] = {"set": label, "answerer": answerer}
    for column, (part, key) in COLUMNS:
        row[column] = (report.get(part) or {}).get(key)
    return row


def markdown(rows: list[dict[str, Any]]) -> str:
    header = ["set", "answerer", *(column for column, _ in COLUMNS)]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        lines.append("| " + " | ".join(_cell(row[column]) for column in header) + " |")
    return "\n".join(lines) + "\n"


def _cell(value: object) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.1f}" if value > 1.5 else f"{value:.3f}"
    return str(value)
