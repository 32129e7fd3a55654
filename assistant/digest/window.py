"""The time window of a digest: ``since``/``until`` as typed, or as said in a question ("this week", "since
March 3", "in February"), always relative to the newest briefing rather than the wall clock.

Briefings are read after the fact (an archive, a corpus from last quarter): "this week" means the week up to
the newest briefing, or a digest of an archive would always be empty. Owns parsing dates and window phrases
and the one-line errors for what cannot be read. Pure: must not open the index or build a digest.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

from assistant.errors import QuestionError

DEFAULT_DAYS = 7  # a digest asked for without a window covers the week up to the newest briefing


class DigestWindowError(QuestionError):
    """A digest's ``since``/``until`` is not a date, or ``since`` comes after ``until`` (one line for the user)."""


_MONTHS = {name.lower(): number for number, name in enumerate(calendar.month_name) if name}
_MONTHS.update({name.lower(): number for number, name in enumerate(calendar.month_abbr) if name})
_MONTHS["sept"] = 9
_WEEKDAYS = {name.lower(): number for number, name in enumerate(calendar.day_name)}
_MONTH = r"(?:" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\.?"
_WEEKDAY = r"(?:" + "|".join(_WEEKDAYS) + r")"
_NUMBER_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "ten": 10, "a": 1}
_UNIT_DAYS = {"day": 1, "week": 7, "month": 30}

# A date as people write it: 2024-03-03, March 3, 3 March, March 3rd, 2024; Monday; today; yesterday.
DATE_EXPRESSION = (
    r"(?:\d{4}-\d{2}-\d{2}"
    rf"|{_MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?(?:,?\s+\d{{4}})?"
    rf"|\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTH}(?:,?\s+\d{{4}})?"
    rf"|(?:last\s+)?{_WEEKDAY}|today|yesterday)"
)
_MONTH_ONLY = re.compile(rf"(?P<month>{_MONTH})(?:\s+(?P<year>\d{{4}}))?", re.IGNORECASE)
_PHRASES = [  # (pattern, kind); the first that matches a question wins, so longer phrases come first
    (rf"\b(?:between|from)\s+(?P<a>{DATE_EXPRESSION})\s+(?:and|to|until|till)\s+(?P<b>{DATE_EXPRESSION})", "range"),
    (rf"\bsince\s+(?P<a>{DATE_EXPRESSION})", "since"),
    (
        r"\b(?:in\s+the\s+)?(?:past|last)\s+(?P<n>\d+|one|two|three|four|five|six|seven|ten|a)\s+"
        r"(?P<unit>day|week|month)s?\b",
        "last_n",
    ),
    (r"\b(?:in\s+the\s+)?past\s+(?P<unit>day|week|month)\b", "past"),
    (r"\bthis\s+week(?:'s|’s)?|\bthe\s+week\b", "this_week"),
    (r"\blast\s+week(?:'s|’s)?", "last_week"),
    (r"\bthis\s+month(?:'s|’s)?", "this_month"),
    (r"\blast\s+month(?:'s|’s)?", "last_month"),
    (rf"\b(?:in|during|for|of)\s+(?P<m>{_MONTH}(?:\s+\d{{4}})?)(?![\w\s]*\d)", "month"),
    (r"\btoday(?:'s|’s)?\b", "today"),
    (r"\byesterday(?:'s|’s)?\b", "yesterday"),
    (rf"\bon\s+(?P<a>{DATE_EXPRESSION})", "on"),
]
_COMPILED = [(re.compile(pattern, re.IGNORECASE), kind) for pattern, kind in _PHRASES]


@dataclass(frozen=True)
class Window:
    """Inclusive first and last day of a digest."""

    since: date
    until: date

    @property
    def days(self) -> int:
        return (self.until - self.since).days + 1

    def previous(self) -> Window:
        """The window of the same length just before this one: what "new" is measured against."""
        return Window(self.since - timedelta(days=self.days), self.since - timedelta(days=1))

    def contains(self, day: str | None) -> bool:
        return day is not None and self.since.isoformat() <= day <= self.until.isoformat()


def parse_date(text: str, anchor: date, name: str = "since") -> date:
    """A date as typed (``2024-03-03``, ``March 3``, ``3 March 2024``, ``Monday``, ``yesterday``).

    A date without a year is the latest such day on or before ``anchor``; a weekday likewise. Anything else
    raises :class:`DigestWindowError` naming the flag, so the user sees one line.
    """
    value = " ".join(text.strip().lower().rstrip(".?!").split())
    try:
        found = _date_of(value, anchor)
    except ValueError:  # 2024-02-30, February 30
        found = None
    if found is None:
        raise DigestWindowError(
            f"--{name} must be a date (YYYY-MM-DD, 'March 3', 'Monday', 'yesterday'), not {text.strip()!r}"
        )
    return found


def _date_of(value: str, anchor: date) -> date | None:
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        return date.fromisoformat(value)
    if value in ("today", "now"):
        return anchor
    if value == "yesterday":
        return anchor - timedelta(days=1)
    weekday = value.removeprefix("last ").strip()
    if weekday in _WEEKDAYS:
        back = (anchor.weekday() - _WEEKDAYS[weekday]) % 7
        return anchor - timedelta(days=back or (7 if value.startswith("last ") else 0))
    match = re.fullmatch(
        rf"(?:(?P<m1>{_MONTH})\s+(?P<d1>\d{{1,2}})(?:st|nd|rd|th)?"
        rf"|(?P<d2>\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?(?P<m2>{_MONTH}))(?:,?\s+(?P<y>\d{{4}}))?",
        value,
    )
    if match is None:
        return None
    month = _MONTHS[(match["m1"] or match["m2"]).rstrip(".")]
    day = int(match["d1"] or match["d2"])
    if match["y"]:
        return date(int(match["y"]), month, day)
    found = date(anchor.year, month, day)
    return found if found <= anchor else date(anchor.year - 1, month, day)


def window_of(since: str | None, until: str | None, anchor: date) -> Window:
    """The window for typed bounds: both, one (the other from the default week), or none (the week up to
    ``anchor``, the newest briefing). Dates in the wrong order raise with both dates in the message."""
    since, until = (since or "").strip() or None, (until or "").strip() or None
    last = parse_date(until, anchor, "until") if until else None
    first = parse_date(since, last or anchor, "since") if since else None
    if first is None:
        end = last or anchor
        return Window(end - timedelta(days=DEFAULT_DAYS - 1), end)
    window = Window(first, last or max(anchor, first))
    if window.since > window.until:
        raise DigestWindowError(
            f"--since {window.since.isoformat()} is after --until {window.until.isoformat()}: swap them"
        )
    return window


@dataclass(frozen=True)
class SaidWindow:
    """A window read from a question, and where in the question it was said (so it can be cut from the topic)."""

    window: Window
    start: int
    end: int


def window_in(question: str, anchor: date) -> SaidWindow | None:
    """The first window phrase in ``question``, or ``None`` when it names no time."""
    for pattern, kind in _COMPILED:
        match = pattern.search(question)
        if match is None:
            continue
        window = _window_for(kind, match, anchor)
        if window is not None:
            return SaidWindow(window, match.start(), match.end())
    return None


def _window_for(kind: str, match: re.Match[str], anchor: date) -> Window | None:
    try:
        return _WINDOWS[kind](match, anchor)
    except (ValueError, DigestWindowError):  # "since March 40": not a window after all
        return None


def _range(match: re.Match[str], anchor: date) -> Window:
    first, last = parse_date(match["a"], anchor), parse_date(match["b"], anchor)
    return Window(min(first, last), max(first, last))


def _last_n(match: re.Match[str], anchor: date) -> Window:
    count = match["n"].lower()
    days = (int(count) if count.isdigit() else _NUMBER_WORDS[count]) * _UNIT_DAYS[match["unit"].lower()]
    return Window(anchor - timedelta(days=max(days, 1) - 1), anchor)


def _month(match: re.Match[str], anchor: date) -> Window:
    found = _MONTH_ONLY.fullmatch(match["m"].strip())
    if found is None:
        raise ValueError(match["m"])
    month = _MONTHS[found["month"].lower().rstrip(".")]
    year = int(found["year"]) if found["year"] else anchor.year - (month > anchor.month)
    return _whole_month(year, month)


def _whole_month(year: int, month: int) -> Window:
    return Window(date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1]))


def _previous_month(anchor: date) -> Window:
    first = anchor.replace(day=1) - timedelta(days=1)
    return _whole_month(first.year, first.month)


_WINDOWS: dict[str, Callable[[re.Match[str], date], Window]] = {
    "range": _range,
    "since": lambda match, anchor: Window(parse_date(match["a"], anchor), anchor),
    "last_n": _last_n,
    "past": lambda match, anchor: Window(anchor - timedelta(days=_UNIT_DAYS[match["unit"].lower()] - 1), anchor),
    "this_week": lambda match, anchor: Window(anchor - timedelta(days=DEFAULT_DAYS - 1), anchor),
    "last_week": lambda match, anchor: Window(anchor - timedelta(days=13), anchor - timedelta(days=7)),
    "this_month": lambda match, anchor: Window(anchor.replace(day=1), anchor),
    "last_month": lambda match, anchor: _previous_month(anchor),
    "month": _month,
    "today": lambda match, anchor: Window(anchor, anchor),
    "yesterday": lambda match, anchor: Window(anchor - timedelta(days=1), anchor - timedelta(days=1)),
    "on": lambda match, anchor: Window(parse_date(match["a"], anchor), parse_date(match["a"], anchor)),
}
