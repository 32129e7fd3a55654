"""Date filters for retrieval: the ``--since``/``--until`` bounds a question may carry, checked before searching.

It owns turning what a caller typed into bounds the retriever can apply (``None`` or ``YYYY-MM-DD``), and
the one-line error when a bound is not a date. Pure: must not search, open the store or read files.
"""

from __future__ import annotations

from assistant.errors import QuestionError
from assistant.text.dates import is_iso_date


def date_bounds(since: str | None, until: str | None) -> tuple[str | None, str | None]:
    """Both bounds checked; empty means unbounded, anything but ``YYYY-MM-DD`` raises :class:`QuestionError`."""
    return valid_date(since, "since"), valid_date(until, "until")


def valid_date(value: str | None, name: str) -> str | None:
    if value is None or value == "":
        return None
    if not is_iso_date(value):
        raise QuestionError(f"--{name} must be a date as YYYY-MM-DD, not {value!r}")
    return value
