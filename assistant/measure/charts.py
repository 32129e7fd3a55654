"""Charts of the measure reports, drawn without a display.

Every report's chart is drawn with matplotlib's non-interactive Agg backend, so it works on servers and in CI,
and saved the same way (tight layout, 110 dpi, the folder made, the figure closed so a long run does not hold
them all).

Owns: the backend and saving a figure. Must not: decide what any chart shows.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def pyplot() -> Any:
    """``matplotlib.pyplot`` on the Agg backend (imported late: only commands that draw pay for it)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save(figure: Any, path: Path) -> None:
    """Write ``figure`` to ``path`` as a PNG and let go of it."""
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    pyplot().close(figure)
