"""Digest windows: typed bounds and phrases in questions, read relative to the newest briefing; bad input is
one clear error, never a traceback."""

from __future__ import annotations

from datetime import date

import pytest

from assistant.digest.window import DigestWindowError, Window, parse_date, window_in, window_of
from assistant.errors import QuestionError

NEWEST = date(2024, 3, 29)  # a Friday


def test_no_bounds_is_the_week_up_to_the_newest_briefing() -> None:
    assert window_of(None, None, NEWEST) == Window(date(2024, 3, 23), NEWEST)
    assert window_of("", "  ", NEWEST) == Window(date(2024, 3, 23), NEWEST)


def test_one_bound_takes_the_other_from_the_default_week() -> None:
    assert window_of("2024-03-01", None, NEWEST) == Window(date(2024, 3, 1), NEWEST)
    assert window_of(None, "2024-02-07", NEWEST) == Window(date(2024, 2, 1), date(2024, 2, 7))


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("2024-03-03", date(2024, 3, 3)),
        ("March 3", date(2024, 3, 3)),
        ("3 March", date(2024, 3, 3)),
        ("Mar 3rd, 2023", date(2023, 3, 3)),
        ("December 24", date(2023, 12, 24)),  # no year: the latest such day on or before the newest briefing
        ("Monday", date(2024, 3, 25)),
        ("friday", NEWEST),
        ("last monday", date(2024, 3, 25)),
        ("last friday", date(2024, 3, 22)),  # "last": never the newest briefing's own day
        ("yesterday", date(2024, 3, 28)),
    ],
)
def test_dates_as_people_type_them(typed: str, expected: date) -> None:
    assert parse_date(typed, NEWEST) == expected


@pytest.mark.parametrize("typed", ["blah", "2024-02-30", "March 40", "13/03/2024", "next week"])
def test_unreadable_dates_are_one_line_errors(typed: str) -> None:
    with pytest.raises(DigestWindowError, match=r"^--since must be a date .*not") as raised:
        window_of(typed, None, NEWEST)
    assert isinstance(raised.value, QuestionError)  # adapters already turn these into one line / a 422
    assert "\n" not in str(raised.value)


def test_dates_in_the_wrong_order_say_so() -> None:
    with pytest.raises(DigestWindowError, match="2024-03-10 is after --until 2024-03-01"):
        window_of("2024-03-10", "2024-03-01", NEWEST)


@pytest.mark.parametrize(
    ("question", "since", "until"),
    [
        ("What happened this week in the Red Sea?", "2024-03-23", "2024-03-29"),
        ("Catch me up on Ukraine since March 3", "2024-03-03", "2024-03-29"),
        ("What changed on Ukraine since Monday?", "2024-03-25", "2024-03-29"),
        ("Summarise the briefings in February", "2024-02-01", "2024-02-29"),
        ("what's new in the last 3 days", "2024-03-27", "2024-03-29"),
        ("recap last week's news", "2024-03-16", "2024-03-22"),
        ("what happened between March 1 and March 5?", "2024-03-01", "2024-03-05"),
        ("anything new today?", "2024-03-29", "2024-03-29"),
    ],
)
def test_windows_said_in_questions(question: str, since: str, until: str) -> None:
    said = window_in(question, NEWEST)
    assert said is not None
    assert (said.window.since.isoformat(), said.window.until.isoformat()) == (since, until)
    assert question[said.start : said.end].strip()  # where it was said, so the topic can leave it out


def test_a_question_without_a_time_has_no_window() -> None:
    assert window_in("Catch me up on the Haneda collision", NEWEST) is None


def test_the_window_before_is_as_long() -> None:
    window = Window(date(2024, 3, 1), date(2024, 3, 7))
    assert window.previous() == Window(date(2024, 2, 23), date(2024, 2, 29))
    assert window.contains("2024-03-07") and not window.contains("2024-03-08") and not window.contains(None)
