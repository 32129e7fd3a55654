"""First ingest as a user meets it: a new process indexes N articles into a new index, beside the plain pipeline.

``briefings bench`` times ingest inside one warm process, with the model loaded beforehand on both sides; that
says what each pipeline costs per character, not what someone waits for the first time they index a folder.
This measures the wall time of whole processes, from interpreter start to exit: ``briefings ingest FOLDER``
into a new index, and the plain LangChain tutorial pipeline (:mod:`assistant.measure.bench_plain`) run as a
script on the same files. Runs alternate between the two sides, so a machine that gets busier mid-run slows
both, and the figures are medians.

Our side is measured twice over: once with an empty model cache (the exported ONNX model is built first, as on
a machine that has never run Briefings), then with the cache warm (every later index on the machine: the
export is shared, so a second new index pays none).

Owns: running and timing the processes (articles are picked as ``formats-bench --spread`` picks them) and
the ``first_ingest`` report. Must not: time anything inside a process, or share an index or a Chroma folder
between runs.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from assistant.errors import BriefingsError, ConfigurationError
from assistant.measure.format_bench import pick_articles
from assistant.measure.stats import percentiles

Say = Callable[[str], None]
TIMEOUT_SECONDS = 3600


def measure_first_ingest(
    corpus: Path, count: int, repeat: int, environment: dict[str, str], say: Say = lambda _: None
) -> dict[str, Any]:
    """Whole-process wall times of our first ingest (cold and warm model cache) and of the plain pipeline's."""
    articles = [source.path for source, _ in pick_articles(corpus, count, spread=True)]
    with tempfile.TemporaryDirectory(prefix="briefings-first-ingest-") as scratch:
        folder = Path(scratch) / "articles"
        folder.mkdir()
        for path in articles:
            shutil.copy(path, folder / path.name)
        chars = sum(len(path.read_text(encoding="utf-8")) for path in articles)
        cold_cache = Path(scratch) / "empty-model-cache"
        say(f"first ingest: {len(articles)} articles, ours with an empty model cache")
        emptied = {**environment, "BRIEFINGS_MODEL_CACHE": str(cold_cache)}
        cold = _timed(_ours(folder, Path(scratch) / "cold-index"), emptied)
        ours: list[float] = []
        plain: list[float] = []
        for run in range(1, repeat + 1):
            say(f"first ingest: run {run}/{repeat}, ours then plain")
            ours.append(_timed(_ours(folder, Path(scratch) / f"ours-{run}"), environment))
            plain.append(_timed(_plain(folder, Path(scratch) / f"plain-{run}"), environment))
    ours_median, plain_median = _median(ours), _median(plain)
    return {
        "articles": len(articles),
        "chars": chars,
        "repeat": repeat,
        "ours_seconds": round(ours_median, 2),
        "ours_runs_seconds": [round(seconds, 2) for seconds in ours],
        "ours_empty_model_cache_seconds": round(cold, 2),
        "plain_seconds": round(plain_median, 2),
        "plain_runs_seconds": [round(seconds, 2) for seconds in plain],
        "speed_ratio": round(plain_median / ours_median, 2),
        "what": "wall time of a new process from start to exit, indexing the articles into a new index; "
        "ours = `briefings ingest FOLDER` with the shared model cache warm (the empty-cache run exports the "
        "model first); plain = the LangChain tutorial pipeline as a script; speed_ratio = plain / ours (medians)",
    }


def _median(samples: list[float]) -> float:
    found = percentiles(samples, (50,))
    if found is None:
        raise ConfigurationError("first ingest: --repeat must be at least 1")
    return found[0]


def _ours(folder: Path, index: Path) -> list[str]:
    return [sys.executable, "-m", "assistant.adapters.cli", "ingest", str(folder), "--index", str(index)]


def _plain(folder: Path, target: Path) -> list[str]:
    return [sys.executable, "-m", "assistant.measure.bench_plain", str(folder), str(target)]


def _timed(command: Sequence[str], environment: dict[str, str]) -> float:
    started = time.perf_counter()
    finished = subprocess.run(list(command), env=environment, capture_output=True, text=True, timeout=TIMEOUT_SECONDS)
    elapsed = time.perf_counter() - started
    if finished.returncode != 0:
        lines = (finished.stderr or finished.stdout).strip().splitlines()
        raise BriefingsError(f"first ingest: {command[2]} failed: {lines[-1] if lines else 'no output'}")
    return elapsed
