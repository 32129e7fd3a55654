"""The digest eval as Markdown: each kind of digest against the lead baseline and the issue's targets.

Writes only what :func:`assistant.measure.digest_eval.evaluate_digests` measured; nothing is computed here
but the ratio to the lead baseline and whether each target is met.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from assistant.measure.evaluation import format_metric

# (what, kind, key, comparison, target): the targets a digest is held to
TARGETS = (
    ("fact recall@20, a week, no topic", "week", "fact_recall@20", ">=", 0.5),
    ("fact recall@10, topic digests", "topic", "fact_recall@10", ">=", 0.7),
    ("fact recall@20 ÷ lead baseline's, a week", "week", "lead_ratio@20", ">=", 1.5),
    ("fact recall@10 ÷ lead baseline's, topic digests", "topic", "lead_ratio@10", ">=", 1.5),
    ("redundancy", "all", "redundancy", "<=", 0.05),
    ("window precision", "all", "window_precision", ">=", 1.0),
    ("quotes verified against the files", "all", "quote_verified", ">=", 1.0),
    ("p50 latency, a week (ms)", "week", "p50", "<=", 300.0),
    ("p50 latency, a month (ms)", "month", "p50", "<=", 1000.0),
)


def write_digest_markdown(result: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(digest_markdown(result)) + "\n", encoding="utf-8")


def digest_markdown(result: dict[str, Any]) -> list[str]:
    lines = [
        f"# Digest evaluation of {result.get('set', 'a digest set')}",
        "",
        f"Index: {result.get('index', 'n/a')}; {result['digests']} digests.",
        "",
        "| digests | n | recall@10 | lead@10 | × lead | recall@20 | lead@20 | × lead | redundancy | window | quotes "
        "| p50 ms | p95 ms |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    parts = [("all", result["digests"], result["digest"], result["lead"])]
    parts += [(kind, part["digests"], part, part["lead"]) for kind, part in result["by_kind"].items()]
    for name, count, ours, lead in parts:
        cells = [name, str(count)]
        for limit in (10, 20):
            key = f"fact_recall@{limit}"
            cells += [format_metric(ours[key]), format_metric(lead[key]), _ratio(ours[key], lead[key])]
        cells += [format_metric(ours[key]) for key in ("redundancy", "window_precision", "quote_verified")]
        cells += [_milliseconds(ours["latency_ms"]["p50"]), _milliseconds(ours["latency_ms"]["p95"])]
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "| target | measured | met |", "|---|---|---|"]
    for what, kind, key, comparison, target in TARGETS:
        source = result["digest"] if kind == "all" else result["by_kind"].get(kind)
        value = None if source is None else _value(source, key)
        met = "n/a" if value is None else "yes" if _meets(value, comparison, target) else "no"
        shown = _milliseconds(value) if key in ("p50", "p95") else format_metric(value)
        lines.append(f"| {what} {comparison} {target:g} | {shown} | {met} |")
    return lines


def _value(source: dict[str, Any], key: str) -> float | None:
    if key in ("p50", "p95"):
        found: float | None = source["latency_ms"][key]
        return found
    if key.startswith("lead_ratio@"):
        recall = f"fact_recall@{key.split('@')[1]}"
        ours, lead = source[recall], source["lead"][recall]
        return ours / lead if ours is not None and lead else None
    found = source[key]
    return found


def _milliseconds(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0f}"


def _ratio(ours: float | None, lead: float | None) -> str:
    if ours is None or lead is None:
        return "n/a"
    return f"{ours / lead:.2f}×" if lead else "∞"


def _meets(value: float, comparison: str, target: float) -> bool:
    return value >= target if comparison == ">=" else value <= target
