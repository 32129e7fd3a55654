"""``briefings load``: a fixed number of concurrent askers against a running ``briefings serve``.

Each of ``concurrency`` workers posts a question to ``POST /api/ask``, waits for the answer and posts the next,
until the time is up; so at most ``concurrency`` requests are ever in flight (a bounded, closed-loop load, as
that many users asking one question after another would make). Questions cycle through the set; a repeated
question still runs retrieval and answering, only its query vector comes from the embedder's cache.

Two optional companions make it a safety test as well as a speed test: an uploader that posts the given
briefings to ``POST /api/documents`` one after another while the askers run (an index that changes under
load must not fail a question), and a sampler of the server's resident memory (``/proc/<pid>/status``), so
the report shows whether memory stays bounded rather than only how fast answers come.

Owns: the askers, the uploader and the memory sampler, and the load report and its summary.

Must not: send to any address but the plan's URL (the CLI allows only this machine's servers unless told
otherwise), run unbounded (every loop stops at the deadline, and at most ``concurrency`` requests are in
flight), or import the service: it measures a server as its clients meet it, over HTTP.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from assistant.errors import BriefingsError
from assistant.measure.stats import percentiles

HEALTH_TIMEOUT_SECONDS = 10.0
ERROR_PAUSE_SECONDS = 0.05
RSS_SAMPLE_SECONDS = 0.5


@dataclass(frozen=True)
class LoadPlan:
    """What to send, where, how hard and for how long."""

    url: str
    questions: Sequence[str]
    concurrency: int = 50
    seconds: float = 60.0
    timeout: float = 60.0
    token: str | None = None
    uploads: Sequence[Path] = ()
    server_pid: int | None = None

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}


@dataclass
class Tally:
    """Outcomes as workers report them (one event loop, so no locking)."""

    latencies_ms: list[float]
    errors: Counter[str]
    examples: dict[str, str]
    upload_ms: list[float] = field(default_factory=list)
    upload_errors: dict[str, str] = field(default_factory=dict)
    rss_mb: list[float] = field(default_factory=list)

    def error(self, kind: str, detail: str) -> None:
        self.errors[kind] += 1
        self.examples.setdefault(kind, detail[:300])


def upload_files(paths: Sequence[Path]) -> list[Path]:
    """The files to upload, folders expanded in name order; a missing path is an error before the run."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(item for item in path.iterdir() if item.is_file() and not item.name.startswith(".")))
        elif path.is_file():
            files.append(path)
        else:
            raise BriefingsError(f"No file or folder at {path} to upload")
    return files


def check_ready(plan: LoadPlan) -> None:
    """Fail before the run, with the server's own words, if it cannot answer (no index, wrong URL...)."""
    try:
        health = httpx.get(f"{plan.url}/healthz", timeout=HEALTH_TIMEOUT_SECONDS)
    except httpx.HTTPError as error:
        raise BriefingsError(
            f"No Briefings server answers at {plan.url} ({type(error).__name__}): start `briefings serve`"
        ) from None
    if health.status_code != 200:
        raise BriefingsError(f"The server at {plan.url} is not ready ({health.status_code}): {_why_not_ready(plan)}")


def _why_not_ready(plan: LoadPlan) -> str:
    """The server's own reason, from ``/api/status`` (``/healthz`` says only ok or not, to anyone)."""
    try:
        status = httpx.get(f"{plan.url}/api/status", headers=plan.headers(), timeout=HEALTH_TIMEOUT_SECONDS)
        return str(status.json().get("detail") or status.text)[:200]
    except (httpx.HTTPError, ValueError, AttributeError):
        return "see GET /api/status"


async def _worker(
    client: httpx.AsyncClient, plan: LoadPlan, deadline: float, turns: Iterator[int], tally: Tally
) -> None:
    while time.monotonic() < deadline:
        question = plan.questions[next(turns) % len(plan.questions)]
        began = time.perf_counter()
        try:
            response = await client.post("/api/ask", json={"question": question})
        except httpx.HTTPError as error:
            tally.error(type(error).__name__, repr(error.__cause__ or error))
            await asyncio.sleep(ERROR_PAUSE_SECONDS)  # a refused connection must not become a busy loop
            continue
        if response.status_code == 200:
            tally.latencies_ms.append((time.perf_counter() - began) * 1000)
        else:
            tally.error(f"HTTP {response.status_code}", response.text)


async def _uploader(client: httpx.AsyncClient, plan: LoadPlan, deadline: float, tally: Tally) -> None:
    """Post each briefing in turn while the askers run; the server indexes it and answers go on meanwhile."""
    for path in plan.uploads:
        if time.monotonic() >= deadline:
            return
        began = time.perf_counter()
        try:
            files = {"file": (path.name, path.read_bytes(), "text/plain")}
            response = await client.post("/api/documents", files=files)
        except httpx.HTTPError as error:
            tally.upload_errors[path.name] = f"{type(error).__name__}: {error!r}"[:300]
            continue
        if response.status_code == 200:
            tally.upload_ms.append((time.perf_counter() - began) * 1000)
        else:
            tally.upload_errors[path.name] = f"HTTP {response.status_code}: {response.text[:300]}"


async def _sample_rss(pid: int, deadline: float, tally: Tally) -> None:
    while time.monotonic() < deadline:
        rss = resident_mb(pid)
        if rss is not None:
            tally.rss_mb.append(rss)
        await asyncio.sleep(RSS_SAMPLE_SECONDS)


def resident_mb(pid: int) -> float | None:
    """A process's resident memory in MB (Linux ``/proc``); ``None`` where it cannot be read."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


async def _run(plan: LoadPlan) -> tuple[Tally, float]:
    tally = Tally([], Counter(), {})
    # One connection more than there are askers: the uploader's own, or askers that re-ask the moment they
    # are answered would keep every pooled connection and the upload would wait for the run to end.
    connections = plan.concurrency + (1 if plan.uploads else 0)
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    async with httpx.AsyncClient(
        base_url=plan.url, timeout=plan.timeout, limits=limits, headers=plan.headers()
    ) as client:
        started = time.monotonic()
        deadline = started + plan.seconds
        turns = itertools.count()
        tasks = [_worker(client, plan, deadline, turns, tally) for _ in range(plan.concurrency)]
        if plan.uploads:
            tasks.append(_uploader(client, plan, deadline, tally))
        if plan.server_pid is not None:
            tasks.append(_sample_rss(plan.server_pid, deadline, tally))
        await asyncio.gather(*tasks)
        return tally, time.monotonic() - started


def run_load(plan: LoadPlan) -> dict[str, Any]:
    """Run the load and report throughput (answers per second), latency percentiles and errors by kind."""
    check_ready(plan)
    tally, elapsed = asyncio.run(_run(plan))
    latencies = np.asarray(tally.latencies_ms, dtype=np.float64)
    p50, p95, p99 = percentiles(tally.latencies_ms, (50, 95, 99)) or (0.0, 0.0, 0.0)
    errors = sum(tally.errors.values())
    return {
        "url": plan.url,
        "concurrency": plan.concurrency,
        "seconds": plan.seconds,
        "elapsed_seconds": round(elapsed, 3),
        "questions": len(plan.questions),
        "requests": len(latencies) + errors,
        "ok": len(latencies),
        "errors": errors,
        "error_kinds": dict(tally.errors),
        "error_examples": tally.examples,
        "throughput_rps": round(len(latencies) / elapsed, 2) if elapsed > 0 else 0.0,
        "latency_ms": {
            "p50": round(p50, 2),
            "p95": round(p95, 2),
            "p99": round(p99, 2),
            "max": round(float(latencies.max()), 2) if len(latencies) else 0.0,
            "mean": round(float(latencies.mean()), 2) if len(latencies) else 0.0,
        },
        "uploads": {
            "files": len(plan.uploads),
            "ok": len(tally.upload_ms),
            "errors": tally.upload_errors,
            "seconds_each": [round(ms / 1000, 2) for ms in tally.upload_ms],
        },
        "server_rss_mb": _rss_summary(plan.server_pid, tally.rss_mb),
    }


def _rss_summary(pid: int | None, samples: list[float]) -> dict[str, Any] | None:
    """First, largest and last resident memory of the server: bounded means the last is near the first."""
    if pid is None:
        return None
    if not samples:
        return {"pid": pid, "samples": 0}
    return {
        "pid": pid,
        "samples": len(samples),
        "first": round(samples[0], 1),
        "max": round(max(samples), 1),
        "last": round(samples[-1], 1),
    }


def format_summary(report: dict[str, Any]) -> str:
    latency = report["latency_ms"]
    kinds = ", ".join(f"{kind}: {count}" for kind, count in report["error_kinds"].items())
    percentiles = "  ".join(f"{name} {latency[name]:.0f}" for name in ("p50", "p95", "p99", "max"))
    return (
        f"{report['ok']:,} answers in {report['elapsed_seconds']:.1f} s from {report['concurrency']} concurrent "
        f"askers: {report['throughput_rps']:.1f} answers/s\n"
        f"latency ms  {percentiles}\n"
        f"errors: {report['errors']}" + (f" ({kinds})" if kinds else "") + _extras(report)
    )


def _extras(report: dict[str, Any]) -> str:
    lines = []
    uploads = report.get("uploads") or {}
    if uploads.get("files"):
        lines.append(f"uploads: {uploads['ok']} of {uploads['files']} indexed, {len(uploads['errors'])} failed")
    rss = report.get("server_rss_mb")
    if rss and rss.get("samples"):
        lines.append(f"server memory MB: first {rss['first']:.0f}, max {rss['max']:.0f}, last {rss['last']:.0f}")
    return "".join(f"\n{line}" for line in lines)
