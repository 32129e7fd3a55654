"""The bench report's one summary picture: latency, our stages, ingest, first ingest, scale and the targets."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from assistant.measure.bench_suite import (
    FIRST_INGEST,
    P95_AT_MILLION_MS,
    SCALE,
    TOTALS,
    Report,
    dig,
    number,
    shown,
    status,
)
from assistant.measure.charts import pyplot, save


def not_measured(axis: Any, title: str) -> None:
    axis.text(0.5, 0.5, "not measured", ha="center", va="center", transform=axis.transAxes, color="grey")
    axis.set_xticks([])
    axis.set_yticks([])
    axis.set_title(title)


def bar_text(value: Any) -> str:
    figure = number(value)
    return "-" if figure is None else f"{figure:,.1f}"


def paired_bars(axis: Any, title: str, groups: Sequence[str], ours: list[Any], plain: list[Any]) -> None:
    """Ours beside plain for each group; the panel says "not measured" when no figure is there."""
    if all(number(value) is None for value in [*ours, *plain]):
        not_measured(axis, title)
        return
    places = range(len(groups))
    for shift, label, values in ((-0.2, "briefings", ours), (0.2, "plain LangChain", plain)):
        heights = [number(value) or 0.0 for value in values]
        drawn = axis.bar([place + shift for place in places], heights, width=0.4, label=label)
        axis.bar_label(drawn, labels=[bar_text(value) for value in values], fontsize=7)
    axis.set_xticks(list(places), list(groups))
    axis.set_title(title)
    axis.legend(fontsize=7)


def stage_bars(axis: Any, stages: Any) -> None:
    title = "our query p50 by stage (ms)"
    if not isinstance(stages, dict) or not stages:
        not_measured(axis, title)
        return
    names = [name for name in stages if name not in TOTALS] + [name for name in TOTALS if name in stages]
    values = [number(stages[name]) or 0.0 for name in names]
    colours = ["tab:grey" if name in TOTALS else "tab:blue" for name in names]
    drawn = axis.barh(names, values, color=colours)
    axis.bar_label(drawn, labels=[f"{value:.2f}" for value in values], fontsize=7)
    axis.invert_yaxis()
    axis.set_title(title)


def scale_panel(axis: Any, scale: Any) -> None:
    title = "scale: query p95 (ms) and recall@10"
    points = [point for point in dig(scale, "points") or [] if number(point.get("size")) is not None]
    if not points:
        not_measured(axis, title)
        return
    sizes = [point["size"] for point in points]

    def series(key: str) -> list[float]:
        return [float("nan") if number(point.get(key)) is None else point[key] for point in points]

    axis.plot(sizes, series("query_p95_ms"), "o-", label="warm p95")
    axis.plot(sizes, series("cold_query_p95_ms"), "v--", label="cold pass p95")
    axis.axhline(P95_AT_MILLION_MS, color="red", linestyle=":", label="target at 1M")
    axis.set_xscale("log")
    axis.set_yscale("log")
    axis.set_xlabel(f"chunks in the collection ({dig(scale, 'mode') or 'mode not recorded'})")
    axis.set_ylabel("query p95 (ms)")
    recall = axis.twinx()
    recall.plot(sizes, series("recall_at_10"), "s:", color="tab:green", label="recall@10 (right axis)")
    recall.set_ylim(0, 1.25)  # room above the curve, so it does not run along the top with the target line
    axis.legend(fontsize=7, loc="center left")
    recall.legend(fontsize=7, loc="center right")
    axis.set_title(title)


def targets_panel(axis: Any, suite: Any) -> None:
    axis.axis("off")
    axis.set_title("targets")
    rows = [
        f"{status(t['met']):>12}  {shown(t['value'], t['unit']):>9}  {t['name']}\n{'':25}{t['goal']}"
        for t in dig(suite, "targets") or []
    ]
    text = "\n".join(rows) or "not measured"
    axis.text(0, 1, text, va="top", family="monospace", fontsize=7, linespacing=1.4, transform=axis.transAxes)


def plot(report: Report, path: Path) -> None:
    """Every speed figure of the bench report and its suite in one PNG; a panel without data says so."""
    plt = pyplot()

    reports = dig(report, "suite", "reports") or {}
    first = reports.get(FIRST_INGEST)
    figure, ((latency, stages, ingest), (first_ingest, scale, goals)) = plt.subplots(2, 3, figsize=(17, 8.5))
    ours_latency = [report.get("query_p50_ms"), report.get("query_p95_ms")]
    plain_latency = [dig(report, "plain", "query_p50_ms"), dig(report, "plain", "query_p95_ms")]
    paired_bars(latency, "query latency, warm (ms)", ["p50", "p95"], ours_latency, plain_latency)
    stage_bars(stages, report.get("query_stages_p50_ms"))
    cps = ([report.get("chars_per_second")], [dig(report, "plain", "chars_per_second")])
    paired_bars(ingest, "ingest (characters per second)", ["bench corpus"], *cps)
    seconds = ([dig(first, "ours_seconds")], [dig(first, "plain_seconds")])
    paired_bars(
        first_ingest, "first ingest, whole process (s)", [f"{dig(first, 'articles') or '?'} articles"], *seconds
    )
    scale_panel(scale, reports.get(SCALE))
    targets_panel(goals, report.get("suite"))
    figure.suptitle(
        f"briefings bench: {report.get('corpus_docs', '?')} articles, {report.get('chunks', '?')} chunks, "
        f"{report.get('questions', '?')} questions; {dig(report, 'machine', 'cpus') or '?'} CPUs",
        fontsize=10,
    )
    save(figure, path)
