"""The bench report's ``suite``: headline figures from the other reports, the targets, the plot, ``--from-report``.

Every report here is a small file written in ``tmp_path`` with known figures, so each check reads a figure the
test chose; nothing is measured and no model is loaded.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from assistant.adapters.cli import app
from assistant.measure.bench_plot import plot
from assistant.measure.bench_suite import build_suite, format_targets, with_suite

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
SERVER = "a temporary `chroma run` on 127.0.0.1 (client/server)"
EMBEDDED = "embedded (PersistentClient in a temporary folder, in the measuring process)"


def bench_report() -> dict[str, Any]:
    """A bench report as ``briefings bench --json`` writes it, with round figures."""
    return {
        "corpus_docs": 10,
        "corpus_chars": 50_000,
        "chunks": 80,
        "ingest_seconds": 100.0,
        "chars_per_second": 500.0,
        "reingest_unchanged_seconds": 0.5,
        "query_p50_ms": 8.0,
        "query_p95_ms": 12.0,
        "cold_start_seconds": 4.0,
        "peak_rss_mb": 1200.0,
        "plain": {
            "ingest_seconds": 300.0,
            "chars_per_second": 166.7,
            "query_p50_ms": 20.0,
            "query_p95_ms": 30.0,
            "chunks": 60,
        },
        "ratios": {"ingest_speed": 3.0, "query_p50": 0.4},
        "questions": 5,
        "query_stages_p50_ms": {"embed_query": 3.0, "dense": 2.0, "lexical": 1.0, "retrieve": 6.5, "total": 7.9},
        "machine": {"cpus": 2},
    }


def scale_point(size: int, recall: float, p95: float) -> dict[str, Any]:
    return {
        "size": size,
        "ef_search": 200 if size <= 100_000 else 1000,
        "recall_at_10": recall,
        "query_p50_ms": p95 / 2,
        "query_p95_ms": p95,
        "disk_mb": size / 1000,
        "server_after_inserts": {"rss_mb": 300.0, "peak_rss_mb": 310.0},
        "cold": {"query_p95_ms": p95 * 2, "server": {"rss_mb": 200.0, "peak_rss_mb": 420.0}},
    }


def write(folder: Path, name: str, report: dict[str, Any]) -> None:
    (folder / name).write_text(json.dumps(report))


@pytest.fixture
def reports(tmp_path: Path) -> Path:
    """First ingest, scale (client/server, no 1,000,000 point) and one load report; no formats or second load."""
    write(
        tmp_path,
        "first_ingest.json",
        {
            "articles": 200,
            "ours_seconds": 30.0,
            "plain_seconds": 45.0,
            "speed_ratio": 1.5,
            "command": "briefings first-ingest --articles 200",
        },
    )
    points = [scale_point(10_000, 0.99, 5.0), scale_point(100_000, 0.94, 9.0)]
    write(tmp_path, "scale.json", {"chroma": SERVER, "points": points})
    write(
        tmp_path,
        "load.json",
        {
            "concurrency": 50,
            "throughput_rps": 28.4,
            "latency_ms": {"p50": 900.0, "p95": 3500.0},
            "errors": 0,
            "uploads": {"files": 10, "ok": 9},
            "server_rss_mb": {"max": 1600.0},
        },
    )
    return tmp_path


def by_name(suite: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {target["name"]: target for target in suite["targets"]}


def test_the_suite_takes_the_headline_figures_of_each_report_found(reports: Path) -> None:
    suite = build_suite(bench_report(), reports)
    found = suite["reports"]
    assert sorted(found) == ["first_ingest.json", "load.json", "scale.json"]
    first = found["first_ingest.json"]
    assert first["command"] == "briefings first-ingest --articles 200"
    assert (first["ours_seconds"], first["plain_seconds"], first["speed_ratio"]) == (30.0, 45.0, 1.5)
    scale = found["scale.json"]
    assert scale["mode"] == "client/server" and scale["command"] is None  # not recorded: null, not made up
    assert scale["points"][1] == {
        "size": 100_000,
        "ef_search": 200,
        "recall_at_10": 0.94,
        "query_p50_ms": 4.5,
        "query_p95_ms": 9.0,
        "cold_query_p95_ms": 18.0,
        "disk_mb": 100.0,
        "server_peak_rss_mb": 420.0,  # the higher of the server's peaks after inserts and when cold
    }
    load = found["load.json"]
    assert (load["throughput_rps"], load["latency_p95_ms"], load["server_peak_rss_mb"]) == (28.4, 3500.0, 1600.0)
    assert (load["uploads_ok"], load["uploads_attempted"]) == (9, 10)
    assert suite["missing"] == ["load-no-uploads.json", "formats_bench.json"]
    assert suite["folder"] == str(reports) and suite["unreadable"] == {}


def test_each_target_is_met_not_met_or_not_measured(reports: Path) -> None:
    targets = by_name(build_suite(bench_report(), reports))
    assert targets["first_ingest_speed"]["value"] == 1.5 and targets["first_ingest_speed"]["met"] is False
    assert targets["query_p50_vs_plain"]["value"] == 0.4 and targets["query_p50_vs_plain"]["met"] is True
    million = targets["query_p95_at_1m_chunks"]
    assert million["value"] is None and million["met"] is None and "no 1,000,000-chunk point" in million["note"]
    assert targets["reingest_unchanged_share"]["value"] == 0.005 and targets["reingest_unchanged_share"]["met"] is True
    assert targets["scale_recall_at_10"]["value"] == 0.94 and targets["scale_recall_at_10"]["met"] is False
    rss = targets["peak_rss_serving"]
    assert rss["value"] == 1600.0 and rss["met"] is False and "load.json" in rss["source"]
    table = format_targets(build_suite(bench_report(), reports))
    assert "not met" in table and "not measured" in table and "not found: load-no-uploads.json" in table


def test_the_million_chunk_target_counts_only_a_client_server_measurement(tmp_path: Path) -> None:
    points = [scale_point(1_000_000, 0.97, 120.0)]
    write(tmp_path, "scale.json", {"chroma": SERVER, "points": points})
    million = by_name(build_suite(bench_report(), tmp_path))["query_p95_at_1m_chunks"]
    assert million["value"] == 120.0 and million["met"] is True
    write(tmp_path, "scale.json", {"chroma": EMBEDDED, "points": points})
    million = by_name(build_suite(bench_report(), tmp_path))["query_p95_at_1m_chunks"]
    assert million["value"] is None and million["met"] is None and "embedded" in million["note"]


def test_the_upload_target_counts_the_slowest_upload_into_an_index_of_25000_chunks(tmp_path: Path) -> None:
    def upload_target(chunks: int, seconds: list[float]) -> dict[str, Any]:
        upload = {"seconds_each": seconds, "seconds_max": max(seconds)} if seconds else None
        return by_name(build_suite(bench_report() | {"chunks": chunks, "upload": upload}, tmp_path))["upload_seconds"]

    assert upload_target(30_000, [0.8, 1.9])["met"] is True
    slow = upload_target(30_000, [0.8, 2.4])
    assert slow["value"] == 2.4 and slow["met"] is False and "30,000 chunks" in slow["source"]
    small = upload_target(24_999, [0.8])
    assert small["value"] is None and small["met"] is None and "fewer than 25,000" in small["note"]
    assert upload_target(30_000, [])["met"] is None  # an older report without uploads


def test_absent_reports_and_keys_give_null_figures_never_invented_ones(tmp_path: Path) -> None:
    write(tmp_path, "first_ingest.json", {"articles": 200})  # an older report without speed_ratio
    write(tmp_path, "load.json", {"throughput_rps": 10.0})  # without latency, uploads or server memory
    (tmp_path / "formats_bench.json").write_text("{not json")
    suite = build_suite(bench_report(), tmp_path)
    assert suite["reports"]["load.json"]["latency_p95_ms"] is None
    assert suite["reports"]["load.json"]["server_peak_rss_mb"] is None
    assert suite["missing"] == ["scale.json", "load-no-uploads.json"]
    assert list(suite["unreadable"]) == ["formats_bench.json"]
    targets = by_name(suite)
    for name in ("first_ingest_speed", "query_p95_at_1m_chunks", "scale_recall_at_10"):
        assert targets[name]["value"] is None and targets[name]["met"] is None, name
    assert targets["peak_rss_serving"]["value"] == 1200.0  # the bench's own figure still counts
    nothing = build_suite(bench_report(), None)
    assert nothing["reports"] == {} and len(nothing["missing"]) == 5 and nothing["folder"] is None


def test_a_rebuilt_suite_keeps_every_measured_key_as_it_was(reports: Path) -> None:
    measured = bench_report()
    stale = {**measured, "suite": {"reports": {}, "missing": ["everything"], "targets": []}}
    rebuilt = with_suite(stale, reports)
    assert {key: value for key, value in rebuilt.items() if key != "suite"} == measured
    assert rebuilt["suite"]["missing"] == ["load-no-uploads.json", "formats_bench.json"]


def test_the_plot_draws_every_panel_or_says_not_measured(reports: Path, tmp_path: Path) -> None:
    full = tmp_path / "out" / "full.png"
    plot(with_suite(bench_report(), reports), full)
    assert full.read_bytes()[:8] == PNG_SIGNATURE and full.stat().st_size > 10_000
    sparse = {key: value for key, value in bench_report().items() if key != "query_stages_p50_ms"}
    empty = tmp_path / "out" / "empty.png"
    plot(with_suite(sparse, None), empty)  # no stages, no other reports: panels say so instead of failing
    assert empty.read_bytes()[:8] == PNG_SIGNATURE


def test_bench_from_report_rebuilds_the_suite_and_plot_without_measuring(reports: Path, tmp_path: Path) -> None:
    earlier = reports / "bench.json"
    write(reports, "bench.json", bench_report())
    out = tmp_path / "rebuilt" / "bench.json"
    result = CliRunner().invoke(app, ["bench", "--from-report", str(earlier), "--json", str(out)])
    assert result.exit_code == 0, result.output
    rebuilt = json.loads(out.read_text())
    assert {key: value for key, value in rebuilt.items() if key != "suite"} == bench_report()
    assert rebuilt["suite"]["folder"] == str(reports)  # the earlier report's neighbours, by default
    assert by_name(rebuilt["suite"])["first_ingest_speed"]["met"] is False
    assert out.with_suffix(".png").read_bytes()[:8] == PNG_SIGNATURE
    assert "query p50 (ms)" in result.output and "targets (" in result.output and "not measured" in result.output


def test_bench_from_report_refuses_measuring_flags_and_other_reports(reports: Path) -> None:
    write(reports, "bench.json", bench_report())
    mixed = CliRunner().invoke(app, ["bench", "--from-report", str(reports / "bench.json"), "--corpus", str(reports)])
    assert mixed.exit_code == 1 and "--corpus" in mixed.output
    not_bench = CliRunner().invoke(app, ["bench", "--from-report", str(reports / "scale.json")])
    assert not_bench.exit_code == 1 and "is not a bench report" in not_bench.output
