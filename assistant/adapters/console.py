"""How the command line shows answers, ingest summaries, eval tables and progress.

Owns the terminal's wording and layout of what the service and :mod:`assistant.measure` return; must not
compute answers, touch the index or decide what a command does (that is :mod:`assistant.adapters.cli`).
"""

from __future__ import annotations

import sys
import textwrap
from typing import Any

import typer

from assistant.measure.evaluation import SECONDARY_METRICS, format_metric
from assistant.types import CLOSEST_I_FOUND, Answer, Citation, IngestReport, Progress, alternatives_line

MAX_LISTED = 8
CLOSEST_CHARS = 240  # of each closest quote: enough to judge it, short enough not to read as an answer


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
    if answer.alternatives and not answer.abstained:  # right under the answer, before the quotes that back it
        typer.echo(alternatives_line(answer.alternatives))
    if answer.closest and answer.abstained:  # under the refusal, so what came close is seen as not an answer
        typer.echo(f"\n{CLOSEST_I_FOUND}")
        for citation in answer.closest:
            typer.echo(textwrap.fill(closest_line(citation), width=96, subsequent_indent="  "))
    if answer.citations:
        typer.echo("")
    for citation in answer.citations:
        typer.echo(f"[{citation.id}] {citation.title} — {citation.where} [{citation.start}:{citation.end}]")
        typer.echo(textwrap.indent(textwrap.fill(f"“{citation.quote}”", width=96), "    "))
    if answer.abstained and answer.passages:
        typer.echo("\nNearest passages:")
        for passage in answer.passages[:3]:
            chunk = passage.chunk
            snippet = " ".join(chunk.text.split())[:160]
            typer.echo(f"  - {chunk.title} — {chunk.doc} [{chunk.start}:{chunk.end}]: {snippet}…")


def print_timings(timings_ms: dict[str, float]) -> None:
    """The answer's time by stage, on stderr (so ``--json`` output stays one object): the stages first, in the
    order they ran, then retrieval, answering and the total."""
    totals = ("retrieve", "answer", "total")
    stages = [(name, value) for name, value in timings_ms.items() if name not in totals]
    rows = [*stages, *((name, timings_ms[name]) for name in totals if name in timings_ms)]
    typer.echo("timings (ms): " + ", ".join(f"{name} {value:.1f}" for name, value in rows), err=True)


def closest_line(citation: Citation) -> str:
    """``> quote — Title (date, p. N)``: the words first, then where to find them; the title falls back to the doc."""
    quote = " ".join(citation.quote.split())
    if len(quote) > CLOSEST_CHARS:
        quote = quote[: quote.rfind(" ", 0, CLOSEST_CHARS) + 1 or CLOSEST_CHARS].rstrip() + "…"
    known = [part for part in (citation.date, f"p. {citation.page}" if citation.page else None) if part]
    where = f" ({', '.join(known)})" if known else ""
    return f"> {quote} — {citation.title or citation.doc}{where}"


def print_eval_summary(report: dict[str, Any]) -> None:
    rows = [
        ("questions", report["questions"]),
        ("answerable / unanswerable", f"{report['answerable']} / {report['unanswerable']}"),
        *[(_answer_label(name), format_metric(value)) for name, value in report["answer"].items()],
        *[(f"retrieval {name}", format_metric(value)) for name, value in report["retrieval"].items()],
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


def _answer_label(name: str) -> str:
    """Answer figures lead the summary; one that also credits the quotes is marked, so it is not read alone."""
    return f"answer {name} (secondary)" if name in SECONDARY_METRICS else f"answer {name}"
