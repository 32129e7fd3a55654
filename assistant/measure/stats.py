"""Percentiles of measured samples, computed one way for every report in ``assistant.measure``.

Owns: how a percentile is taken from a list of samples (latencies, mostly). Two rules are in use and both are
kept, because each report's figures must stay comparable with the ones it published before:

- ``linear`` interpolates between the two samples around the rank (numpy's default): ``bench``, ``scale`` and
  ``load`` report it;
- ``nearest`` takes the sample at the closest rank, a tie going to the even rank as Python's ``round`` does: the
  eval report's ``latency_ms`` (DESIGN.md) is that, so every ``p50``/``p95`` it printed is an actual latency.

Must not: round for display or decide what an empty run reports. Callers round as their report does, and an
empty sample is ``None`` here because the eval report says ``null`` where the bench report says 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np

Method = Literal["linear", "nearest"]


def percentiles(
    samples: Sequence[float], points: Sequence[float], method: Method = "linear"
) -> tuple[float, ...] | None:
    """The ``points`` percentiles (0 to 100) of ``samples``, in the order asked; ``None`` for no samples."""
    if not samples:
        return None
    values = np.percentile(np.asarray(samples, dtype=np.float64), list(points), method=method)
    return tuple(float(value) for value in values)
