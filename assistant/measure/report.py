"""The Markdown report of ``briefings eval --report``: summary, figures by question type, a chart, every question.

The chart is a PNG next to the Markdown file (``<name>.png``), drawn with matplotlib's non-interactive Agg
backend so it works on servers and in CI.

Owns: the Markdown layout of an eval report and its chart.

Must not: compute or re-round a metric (it prints what :mod:`assistant.measure.evaluation` built, through the
same :func:`~assistant.measure.evaluation.format_metric`), nor ask the service anything.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from assistant.measure.charts import pyplot, save
from assistant.measure.evaluation import SECONDARY_METRICS, format_metric

# What the reader takes away comes first; answer_in_citation also credits quotes, so it is labelled secondary.
SUMMARY_ROWS = (
    ("answer", "answer_correct"),
    ("answer", "short_answer_rate"),
    ("answer", "short_answer_precision"),
    ("answer", "wrong_answer_rate"),
    ("answer", "exact_match"),
    ("answer", "f1"),
    ("answer", "answer_in_citation"),
    ("retrieval", "hit@1"),
    ("retrieval", "hit@5"),
    ("retrieval", "hit@10"),
    ("retrieval", "mrr@10"),
    ("citations", "doc_accuracy"),
    ("citations", "quote_verified"),
    ("abstention", "correct_abstain_rate"),
    ("abstention", "false_abstain_rate"),
)


def write_markdown(report: dict[str, Any], path: Path, title: str) -> Path:
    """Write the report to ``path`` and its chart beside it; returns the chart's path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    chart = path.with_suffix(".png")
    draw_chart(report, chart)
    lines = [f"# {title}", "", _counts(report), "", "## Summary", "", "| metric | value |", "|---|---|"]
    lines += [f"| {_label(group, name)} | {format_metric(report[group][name])} |" for group, name in SUMMARY_ROWS]
    latency = report["latency_ms"]
    lines += [f"| latency p50 / p95 (ms) | {format_metric(latency['p50'])} / {format_metric(latency['p95'])} |", ""]
    lines += [f"![Correct answers by question type]({chart.name})", "", "## By question type", ""]
    lines += ["| type | questions | correct |", "|---|---|---|"]
    lines += [
        f"| {name} | {row['questions']} | {format_metric(row['correct'])} |" for name, row in report["by_type"].items()
    ]
    lines += [
        "",
        "## Every question",
        "",
        "| id | type | question | answer | gold | correct | in citation | cited |",
        "|---|---|---|---|---|---|---|---|",
    ]
    lines += [_question_row(row) for row in report["per_question"]]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return chart


def draw_chart(report: dict[str, Any], path: Path) -> None:
    plt = pyplot()

    names = list(report["by_type"])
    values = [report["by_type"][name]["correct"] or 0.0 for name in names]
    figure, axis = plt.subplots(figsize=(max(5.0, 0.9 * len(names) + 2), 3.6))
    bars = axis.bar(names, values, color="#3b6ea5")
    axis.set_ylim(0, 1.12)
    axis.set_ylabel("share correct")
    axis.set_title("Correct answers by question type")
    axis.bar_label(bars, labels=[f"{v:.2f}" for v in values], padding=2, fontsize=8)
    axis.tick_params(axis="x", labelrotation=30, labelsize=8)
    save(figure, path)


def _label(group: str, name: str) -> str:
    return f"{group} {name} (secondary)" if name in SECONDARY_METRICS else f"{group} {name}"


def _yes_no(flag: object) -> str:
    """``in_citation`` is only scored for answerable questions; an empty cell says it does not apply."""
    return "" if flag is None else "yes" if flag else "no"


def _counts(report: dict[str, Any]) -> str:
    return f"{report['questions']} questions: {report['answerable']} answerable, {report['unanswerable']} unanswerable."


def _question_row(row: dict[str, Any]) -> str:
    cells = [
        row["id"],
        row.get("type", ""),
        row.get("question", ""),
        row["answer"],
        "; ".join(row.get("gold", [])) or "(unanswerable)",
        "yes" if row["correct"] else "no",
        _yes_no(row.get("in_citation")),
        ", ".join(row["cited_docs"]),
    ]
    return "| " + " | ".join(_cell(cell) for cell in cells) + " |"


def _cell(value: object) -> str:
    text = " ".join(str(value).split()).replace("|", "\\|")
    return text if len(text) <= 140 else text[:139] + "…"
