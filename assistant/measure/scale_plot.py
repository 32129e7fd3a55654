"""The chart of a ``briefings scale`` report: rates, latency, quality and memory against collection size."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from assistant.measure.charts import pyplot, save
from assistant.measure.scale_bench import RECALL_K


def plot(report: dict[str, Any], path: Path) -> None:
    """Rates, latency, recall and hit rate, and memory against collection size (log-scaled sizes)."""
    plt = pyplot()

    points = report["points"]
    sizes = [point["size"] for point in points]

    def series(get: Callable[[dict[str, Any]], Any]) -> list[float]:
        return [float("nan") if get(point) is None else get(point) for point in points]

    figure, (rates, latency, quality, memory) = plt.subplots(1, 4, figsize=(17, 4))
    rates.plot(sizes, series(lambda p: p["inserts_per_second"]), "o-", label="insert")
    rates.plot(sizes, series(lambda p: p["embedding"]["rows_per_second"]), "s--", label="embed (new rows)")
    rates.set_title("rows per second")
    latency.plot(sizes, series(lambda p: p["query_p50_ms"]), "o-", label="warm p50")
    latency.plot(sizes, series(lambda p: p["query_p95_ms"]), "s--", label="warm p95")
    latency.plot(sizes, series(lambda p: p["cold"]["query_p50_ms"]), "^-", label="cold pass p50")
    latency.plot(sizes, series(lambda p: p["cold"]["first_query_ms"]), "v:", label="cold first query")
    latency.set_yscale("log")
    latency.set_title(f"dense query, k={report['candidates_k']} (ms)")
    hits = f"hit_at_{RECALL_K}"
    quality.plot(sizes, series(lambda p: p[f"recall_at_{RECALL_K}"]), "o-", label=f"recall@{RECALL_K} vs exact")
    fixed = series(lambda p: (p.get("fixed_width") or {}).get(f"recall_at_{RECALL_K}", p[f"recall_at_{RECALL_K}"]))
    quality.plot(sizes, fixed, "o:", label=f"recall@{RECALL_K}, ef_search 200")
    for kind, search, style in (
        ("planted", "hnsw", "s-"),
        ("planted", "exact", "s:"),
        ("news", "hnsw", "^-"),
        ("news", "exact", "^:"),
    ):
        rates_of = [point[hits][search][kind] for point in points]
        quality.plot(sizes, [float("nan") if r is None else r for r in rates_of], style, label=f"{kind} hit, {search}")
    quality.set_ylim(0, 1.02)
    quality.set_title(f"recall and hit@{RECALL_K}")
    memory.plot(
        sizes, series(lambda p: (p["server_after_inserts"] or {}).get("peak_rss_mb")), "o-", label="server peak"
    )
    memory.plot(sizes, series(lambda p: (p["cold"]["server"] or {}).get("rss_mb")), "v-", label="fresh server")
    memory.plot(sizes, series(lambda p: p["cold"]["client"]["peak_rss_mb"]), "s--", label="cold client peak")
    memory.plot(sizes, series(lambda p: p["disk_mb"]), "^:", label="on disk")
    memory.set_title("MB")
    for axis in (rates, latency, quality, memory):
        axis.set_xscale("log")
        axis.set_xlabel("chunks in the collection")
        axis.grid(True, alpha=0.3)
        axis.legend(fontsize=7)
    hnsw = report["hnsw"]
    figure.suptitle(
        f"Chroma {report['chromadb']} ({report['chroma']}), HNSW M={hnsw['max_neighbors']} ef_construction="
        f"{hnsw['ef_construction']} ef_search="
        + ", ".join(str(p.get("ef_search", hnsw["ef_search"])) for p in points)
        + f"; {report['embedder']['model']}",
        fontsize=9,
    )
    save(figure, path)
