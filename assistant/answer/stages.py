"""Where a question's time goes: named stages timed inside one answer, for ``briefings ask --timings``.

A stage is timed with ``with stage("dense"):`` anywhere on the answer path; the time is added to the
recorder of the answer being built in this thread or task (a context variable), and costs nothing when no
answer is recording (calibration, benchmarks of single steps). The stages are reported in the answer's
``timings_ms`` beside ``retrieve``, ``answer`` and ``total``, so the API and ``--json`` show them too.
A stage run on another thread for the same answer (BM25, beside query embedding and dense search) is
recorded by running it in a copy of this context; such stages overlap, so stage times may add up to more
than ``retrieve``.
Owns timing only: must not change what any stage computes.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_RECORDER: ContextVar[dict[str, float] | None] = ContextVar("briefings_stage_recorder", default=None)


@contextmanager
def recording() -> Iterator[dict[str, float]]:
    """Collect the stages timed inside this block, in milliseconds, into the dict it yields."""
    found: dict[str, float] = {}
    token = _RECORDER.set(found)
    try:
        yield found
    finally:
        _RECORDER.reset(token)


@contextmanager
def stage(name: str) -> Iterator[None]:
    """Time the block as ``name`` (added up when the stage runs more than once for one answer)."""
    found = _RECORDER.get()
    if found is None:
        yield
        return
    started = time.perf_counter()
    try:
        yield
    finally:
        found[name] = found.get(name, 0.0) + (time.perf_counter() - started) * 1000
