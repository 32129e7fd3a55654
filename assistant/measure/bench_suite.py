"""The bench report's ``suite``: every speed report in one folder, its headline figures and the speed targets.

Each measure command writes its own report (``first_ingest.json``, ``scale.json``, ``load.json``,
``load-no-uploads.json``, ``formats_bench.json``, usually in ``docs/``). The bench gathers the ones found
beside it, so one JSON and one picture show every speed figure and which targets they meet. Rebuilding the
suite reads files only, so it can be redone on an existing bench report without measuring again.

Owns: which reports are read and which of their figures are headlines, the speed targets (goal, threshold and
where each figure comes from) and the targets table for the terminal (the summary plot is
:mod:`assistant.measure.bench_plot`).

Must not: measure anything, or make a figure up. A report not found is listed under ``missing``, a key a report
lacks (older reports have fewer) is ``null``, and a target without a figure is neither met nor failed
(``met: null``). The bench's own measured keys are never changed here.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from assistant.errors import ConfigurationError

Report = dict[str, Any]

FIRST_INGEST, SCALE, FORMATS = "first_ingest.json", "scale.json", "formats_bench.json"
LOADS = ("load.json", "load-no-uploads.json")
SIBLINGS = (FIRST_INGEST, SCALE, *LOADS, FORMATS)
THIS = "this report"
ONE_MILLION = 1_000_000
P95_AT_MILLION_MS = 150.0
UPLOAD_INDEX_CHUNKS, UPLOAD_LIMIT_SECONDS = 25_000, 2.0  # one upload into an index this big
PEAK_RSS_LIMIT_MB = 1536.0  # 1.5 GB in the units of every report's "_mb" figures (MiB, from KiB / 1024)
BENCH_KEYS = tuple(  # the measured keys the table and the targets read
    "corpus_docs corpus_chars chunks ingest_seconds chars_per_second reingest_unchanged_seconds query_p50_ms "
    "query_p95_ms cold_start_seconds peak_rss_mb plain ratios questions".split()
)
TOTALS = ("retrieve", "answer", "total")


# ----------------------------------------------------------------------------------------- reading
def dig(found: Any, *keys: str) -> Any:
    """``found[k1][k2]...``, or ``None`` as soon as a level is missing or not an object."""
    for key in keys:
        if not isinstance(found, dict):
            return None
        found = found.get(key)
    return found


def number(value: Any) -> float | None:
    """A figure as a float; anything else (absent, text, a flag) is no figure."""
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def read_json(path: Path) -> Report:
    """One report file as an object; a file that is not one is a configuration error naming it."""
    try:
        loaded = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ConfigurationError(f"Cannot read {path} as a JSON report: {error}") from error
    if not isinstance(loaded, dict):
        raise ConfigurationError(f"{path} is not a JSON report (an object at the top)")
    return loaded


def read_bench_report(path: Path) -> Report:
    """A bench report written earlier, checked to hold the measured keys the table and targets read."""
    report = read_json(path)
    absent = [key for key in BENCH_KEYS if key not in report]
    if absent:
        raise ConfigurationError(f"{path} is not a bench report: it has no {', '.join(absent)}")
    return report


def read_siblings(folder: Path | None) -> tuple[dict[str, Report], list[str], dict[str, str]]:
    """The reports found in ``folder``, the names not found, and those found but unreadable (with why)."""
    found: dict[str, Report] = {}
    missing: list[str] = []
    unreadable: dict[str, str] = {}
    for name in SIBLINGS:
        path = folder / name if folder is not None else None
        if path is None or not path.is_file():
            missing.append(name)
            continue
        try:
            found[name] = read_json(path)
        except ConfigurationError as error:  # kept in the report: a bad sibling must not lose a measured bench
            unreadable[name] = str(error)
    return found, missing, unreadable


# --------------------------------------------------------------------------------------- headlines
def scale_mode(report: Report) -> str | None:
    """``client/server`` or ``embedded``, from how the scale report describes where Chroma ran."""
    where = str(report.get("chroma") or "")
    return "client/server" if "client/server" in where else "embedded" if where.startswith("embedded") else None


def scale_point(point: Report) -> Report:
    peaks = [
        number(dig(point, "server_after_inserts", "peak_rss_mb")),
        number(dig(point, "cold", "server", "peak_rss_mb")),
    ]
    measured = [peak for peak in peaks if peak is not None]
    return {
        "size": point.get("size"),
        "ef_search": point.get("ef_search"),
        "recall_at_10": point.get("recall_at_10"),
        "query_p50_ms": point.get("query_p50_ms"),
        "query_p95_ms": point.get("query_p95_ms"),
        "cold_query_p95_ms": dig(point, "cold", "query_p95_ms"),
        "disk_mb": point.get("disk_mb"),
        "server_peak_rss_mb": max(measured) if measured else None,
    }


def scale_headline(report: Report) -> Report:
    points = [point for point in report.get("points") or [] if isinstance(point, dict)]
    return {"mode": scale_mode(report), "chroma": report.get("chroma"), "points": [scale_point(p) for p in points]}


# Each headline figure of a report and the path of keys it is read from.
FIRST_INGEST_FIGURES = {key: (key,) for key in ("articles", "ours_seconds", "plain_seconds", "speed_ratio")}
LOAD_FIGURES = {
    "concurrency": ("concurrency",),
    "throughput_rps": ("throughput_rps",),
    "latency_p50_ms": ("latency_ms", "p50"),
    "latency_p95_ms": ("latency_ms", "p95"),
    "errors": ("errors",),
    "uploads_ok": ("uploads", "ok"),
    "uploads_attempted": ("uploads", "files"),
    "server_peak_rss_mb": ("server_rss_mb", "max"),
}
FORMATS_FIGURES = {
    "articles": ("articles",),
    "pdf_pages": ("pdf", "pages"),
    "pdf_extraction_pages_per_second": ("extraction", "pages_per_second"),
    "pdf_ingest_pages_per_second": ("ingest", "pdf", "pages_per_second"),
    "pdf_over_text_ingest_seconds": ("ratios", "pdf_over_text_ingest_seconds"),
}


def figures(paths: Mapping[str, tuple[str, ...]]) -> Callable[[Report], Report]:
    return lambda report: {name: dig(report, *path) for name, path in paths.items()}


HEADLINES: dict[str, Callable[[Report], Report]] = {
    FIRST_INGEST: figures(FIRST_INGEST_FIGURES),
    SCALE: scale_headline,
    **{name: figures(LOAD_FIGURES) for name in LOADS},
    FORMATS: figures(FORMATS_FIGURES),
}


# ----------------------------------------------------------------------------------------- targets
def target(name: str, goal: str, value: float | None, unit: str, source: str, met: bool | None) -> Report:
    note = None if value is not None else f"not measured: {source}"
    return {"name": name, "goal": goal, "value": value, "unit": unit, "source": source, "met": met, "note": note}


def at_most(value: float | None, limit: float) -> bool | None:
    return None if value is None else value <= limit


def at_least(value: float | None, limit: float) -> bool | None:
    return None if value is None else value >= limit


def first_ingest_target(found: dict[str, Report]) -> Report:
    value = number(dig(found.get(FIRST_INGEST), "speed_ratio"))
    source = f"{FIRST_INGEST}: speed_ratio" if FIRST_INGEST in found else f"no {FIRST_INGEST}"
    goal = "first ingest at least 2x as fast as the plain pipeline"
    return target("first_ingest_speed", goal, value, "x", source, at_least(value, 2.0))


def query_p50_target(bench: Report) -> Report:
    value = number(dig(bench, "ratios", "query_p50"))
    goal = "query p50 at most 0.5x the plain pipeline's"
    return target("query_p50_vs_plain", goal, value, "x", f"{THIS}: ratios.query_p50", at_most(value, 0.5))


def million_target(found: dict[str, Report]) -> Report:
    scale = found.get(SCALE)
    points = [point for point in (dig(scale, "points") or []) if isinstance(point, dict)]
    point = next((point for point in points if point.get("size") == ONE_MILLION), None)
    value = number(dig(point, "query_p95_ms"))
    if scale is None:
        source = f"no {SCALE}"
    elif point is None:
        sizes = ", ".join(f"{p.get('size'):,}" for p in points if isinstance(p.get("size"), int)) or "none"
        source = f"{SCALE} has no {ONE_MILLION:,}-chunk point (sizes: {sizes})"
    elif scale_mode(scale) != "client/server":
        value, source = None, f"{SCALE} measured {scale_mode(scale) or 'an unknown mode'}, not client/server"
    else:
        source = f"{SCALE}: points[size={ONE_MILLION}].query_p95_ms (warm)"
    goal = f"warm query p95 at most {P95_AT_MILLION_MS:.0f} ms at 1,000,000 chunks, client/server"
    return target("query_p95_at_1m_chunks", goal, value, "ms", source, at_most(value, P95_AT_MILLION_MS))


def reingest_target(bench: Report) -> Report:
    again, full = number(bench.get("reingest_unchanged_seconds")), number(bench.get("ingest_seconds"))
    value = round(again / full, 5) if again is not None and full else None
    source = f"{THIS}: reingest_unchanged_seconds / ingest_seconds"
    goal = "re-ingest of an unchanged corpus at most 2% of a full ingest"
    return target("reingest_unchanged_share", goal, value, "share", source, at_most(value, 0.02))


def upload_target(bench: Report) -> Report:
    value, chunks = number(dig(bench, "upload", "seconds_max")), number(bench.get("chunks")) or 0.0
    source = f"{THIS}: upload.seconds_max (the slowest), into {chunks:,.0f} chunks"
    if value is not None and chunks < UPLOAD_INDEX_CHUNKS:
        value, source = None, f"{THIS}: the index held {chunks:,.0f} chunks, fewer than {UPLOAD_INDEX_CHUNKS:,}"
    goal = f"one upload into a {UPLOAD_INDEX_CHUNKS:,}-chunk index within {UPLOAD_LIMIT_SECONDS:.0f} s"
    return target("upload_seconds", goal, value, "s", source, at_most(value, UPLOAD_LIMIT_SECONDS))


def recall_target(found: dict[str, Report]) -> Report:
    points = dig(found.get(SCALE), "points") or []
    recalls = [number(dig(point, "recall_at_10")) for point in points]
    measured = [recall for recall in recalls if recall is not None]
    value = min(measured) if measured else None
    source = f"{SCALE}: lowest points[].recall_at_10 of {len(measured)} sizes"
    if not measured:
        source = f"no recall_at_10 in {SCALE}" if SCALE in found else f"no {SCALE}"
    goal = "scale recall@10 at least 0.95 at every measured size"
    return target("scale_recall_at_10", goal, value, "", source, at_least(value, 0.95))


def peak_rss_target(bench: Report, found: dict[str, Report]) -> Report:
    peaks = {THIS: number(bench.get("peak_rss_mb"))}
    peaks |= {name: number(dig(found.get(name), "server_rss_mb", "max")) for name in LOADS}
    measured = {where: peak for where, peak in peaks.items() if peak is not None}
    value = max(measured.values()) if measured else None
    source = "highest of " + ", ".join(f"{where} ({peak:,.0f} MB)" for where, peak in measured.items())
    goal = f"peak RSS serving at most 1.5 GB ({PEAK_RSS_LIMIT_MB:,.0f} MB)"
    chosen = source if measured else "no peak_rss_mb here, no server_rss_mb.max in a load report"
    return target("peak_rss_serving", goal, value, "MB", chosen, at_most(value, PEAK_RSS_LIMIT_MB))


def targets(bench: Report, found: dict[str, Report]) -> list[Report]:
    return [
        first_ingest_target(found),
        query_p50_target(bench),
        million_target(found),
        reingest_target(bench),
        upload_target(bench),
        recall_target(found),
        peak_rss_target(bench, found),
    ]


# ------------------------------------------------------------------------------------------- suite
def build_suite(bench: Report, folder: Path | None) -> Report:
    """The headline figures of the reports in ``folder``, what was not found, and every target checked."""
    found, missing, unreadable = read_siblings(folder)
    reports = {
        name: {"file": name, "command": report.get("command"), **HEADLINES[name](report)}
        for name, report in found.items()
    }
    return {
        "folder": str(folder) if folder is not None else None,
        "reports": reports,
        "missing": missing,
        "unreadable": unreadable,
        "targets": targets(bench, found),
    }


def with_suite(bench: Report, folder: Path | None) -> Report:
    """``bench`` with a fresh ``suite`` from ``folder``; every measured key is kept exactly as it was."""
    measured = {key: value for key, value in bench.items() if key != "suite"}
    return {**measured, "suite": build_suite(measured, folder)}


def shown(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    units = {
        "x": f"{value:.2f}x",
        "ms": f"{value:,.1f} ms",
        "s": f"{value:.2f} s",
        "share": f"{value:.2%}",
        "MB": f"{value:,.0f} MB",
    }
    return units.get(unit, f"{value:.3f}")


def status(met: bool | None) -> str:
    return "not measured" if met is None else "met" if met else "not met"


def format_targets(suite: Report) -> str:
    """The targets as a small table: status, measured figure, goal and where the figure came from."""
    rows = [(status(t["met"]), shown(t["value"], t["unit"]), t["goal"], t["source"]) for t in suite["targets"]]
    widths = [max(len(row[i]) for row in rows) for i in range(2)]
    lines = [f"targets ({suite['folder'] or 'no folder of other reports'}):"]
    lines += [f"  {a.ljust(widths[0])}  {b.rjust(widths[1])}  {goal}  [{source}]" for a, b, goal, source in rows]
    if suite["missing"]:
        lines.append(f"  not found: {', '.join(suite['missing'])}")
    lines += [f"  unreadable: {name}: {why}" for name, why in suite.get("unreadable", {}).items()]
    return "\n".join(lines)
