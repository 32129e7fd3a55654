"""How the command line shows answers, ingest summaries, eval tables and progress."""

from __future__ import annotations

import sys
import textwrap
from typing import Any

import typer

from assistant.answering import Answer
from assistant.evaluation import format_metric
from index.ingest import IngestReport, Progress

MAX_LISTED = 8


class _TqdmProgress(Progress):
    def __init__(self, total: int, label: str) -> None:
        from tqdm import tqdm

        self._bar = tqdm(total=total, desc=label, unit="chunk", file=sys.stderr, disable=total == 0, dynamic_ncols=True)

    def update(self, amount: int) -> None:
        self._bar.update(amount)

    def close(self) -> None:
        self._bar.close()


def tqdm_progress(total: int, label: str) -> Progress:
    return _TqdmProgress(total, label)


def print_ingest_report(report: IngestReport, where: str) -> None:
    if report.skipped:
        listed = ", ".join(f"{item.source} ({item.reason})" for item in report.skipped[:MAX_LISTED])
        more = f" and {len(report.skipped) - MAX_LISTED} more" if len(report.skipped) > MAX_LISTED else ""
        typer.echo(f"warning: skipped {len(report.skipped)} file(s): {listed}{more}", err=True)
    if report.lossy:
        listed = ", ".join(report.lossy[:MAX_LISTED])
        typer.echo(f"warning: not valid UTF-8, decoded with replacement characters: {listed}", err=True)
    typer.echo(
        f"Indexed {where}: {report.added} added, {report.updated} updated, {report.unchanged} unchanged, "
        f"{report.removed} removed; {report.chunks} chunks written in {report.seconds:.1f} s"
    )


def print_answer(answer: Answer) -> None:
    typer.echo(answer.answer)
    if answer.citations:
        typer.echo("")
    for citation in answer.citations:
        dated = f" · {citation.date}" if citation.date else ""
        typer.echo(f"[{citation.id}] {citation.title} — {citation.doc}{dated} [{citation.start}:{citation.end}]")
        typer.echo(textwrap.indent(textwrap.fill(f"“{citation.quote}”", width=96), "    "))
    if answer.abstained and answer.passages:
        typer.echo("\nNearest passages:")
        for passage in answer.passages[:3]:
            chunk = passage.chunk
            snippet = " ".join(chunk.text.split())[:160]
            typer.echo(f"  - {chunk.title} — {chunk.doc} [{chunk.start}:{chunk.end}]: {snippet}…")


def print_eval_summary(report: dict[str, Any]) -> None:
    rows = [
        ("questions", report["questions"]),
        ("answerable / unanswerable", f"{report['answerable']} / {report['unanswerable']}"),
        *[(f"retrieval {name}", format_metric(value)) for name, value in report["retrieval"].items()],
        *[(f"answer {name}", format_metric(value)) for name, value in report["answer"].items()],
        *[(f"citations {name}", format_metric(value)) for name, value in report["citations"].items()],
        *[(f"abstention {name}", format_metric(value)) for name, value in report["abstention"].items()],
        (
            "latency p50 / p95 (ms)",
            f"{format_metric(report['latency_ms']['p50'])} / {format_metric(report['latency_ms']['p95'])}",
        ),
    ]
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        typer.echo(f"{name:<{width}}  {value}")
