"""``briefings load``: a fixed number of concurrent askers against a running ``briefings serve``.

Each of ``concurrency`` workers posts a question to ``POST /api/ask``, waits for the answer and posts the next,
until the time is up; so at most ``concurrency`` requests are ever in flight (a bounded, closed-loop load, as
that many users asking one question after another would make). Questions cycle through the set; a repeated
question still runs retrieval and answering, only its query vector comes from the embedder's cache.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
import numpy as np

from assistant.errors import BriefingsError

HEALTH_TIMEOUT_SECONDS = 10.0
ERROR_PAUSE_SECONDS = 0.05


@dataclass(frozen=True)
class LoadPlan:
    """What to send, where, how hard and for how long."""

    url: str
    questions: Sequence[str]
    concurrency: int = 50
    seconds: float = 60.0
    timeout: float = 60.0
    token: str | None = None

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}


@dataclass
class Tally:
    """Outcomes as workers report them (one event loop, so no locking)."""

    latencies_ms: list[float]
    errors: Counter[str]
    examples: dict[str, str]

    def error(self, kind: str, detail: str) -> None:
        self.errors[kind] += 1
        self.examples.setdefault(kind, detail[:300])


def check_ready(plan: LoadPlan) -> None:
    """Fail before the run, with the server's own words, if it cannot answer (no index, wrong URL...)."""
    try:
        health = httpx.get(f"{plan.url}/healthz", timeout=HEALTH_TIMEOUT_SECONDS)
    except httpx.HTTPError as error:
        raise BriefingsError(
            f"No Briefings server answers at {plan.url} ({type(error).__name__}): start `briefings serve`"
        ) from None
    if health.status_code != 200:
        raise BriefingsError(f"The server at {plan.url} is not ready ({health.status_code}): {health.text[:200]}")


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


async def _run(plan: LoadPlan) -> tuple[Tally, float]:
    tally = Tally([], Counter(), {})
    limits = httpx.Limits(max_connections=plan.concurrency, max_keepalive_connections=plan.concurrency)
    async with httpx.AsyncClient(
        base_url=plan.url, timeout=plan.timeout, limits=limits, headers=plan.headers()
    ) as client:
        started = time.monotonic()
        deadline = started + plan.seconds
        turns = itertools.count()
        await asyncio.gather(*(_worker(client, plan, deadline, turns, tally) for _ in range(plan.concurrency)))
        return tally, time.monotonic() - started


def run_load(plan: LoadPlan) -> dict[str, Any]:
    """Run the load and report throughput (answers per second), latency percentiles and errors by kind."""
    check_ready(plan)
    tally, elapsed = asyncio.run(_run(plan))
    latencies = np.asarray(tally.latencies_ms, dtype=np.float64)
    p50, p95, p99 = np.percentile(latencies, [50, 95, 99]) if len(latencies) else (0.0, 0.0, 0.0)
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
            "p50": round(float(p50), 2),
            "p95": round(float(p95), 2),
            "p99": round(float(p99), 2),
            "max": round(float(latencies.max()), 2) if len(latencies) else 0.0,
            "mean": round(float(latencies.mean()), 2) if len(latencies) else 0.0,
        },
    }


def format_summary(report: dict[str, Any]) -> str:
    latency = report["latency_ms"]
    kinds = ", ".join(f"{kind}: {count}" for kind, count in report["error_kinds"].items())
    percentiles = "  ".join(f"{name} {latency[name]:.0f}" for name in ("p50", "p95", "p99", "max"))
    return (
        f"{report['ok']:,} answers in {report['elapsed_seconds']:.1f} s from {report['concurrency']} concurrent "
        f"askers: {report['throughput_rps']:.1f} answers/s\n"
        f"latency ms  {percentiles}\n"
        f"errors: {report['errors']}" + (f" ({kinds})" if kinds else "")
    )
