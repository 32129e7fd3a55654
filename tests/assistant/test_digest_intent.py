"""Which chat messages ask for a digest, what topic and window they name, and follow-ups on a digest shown."""

from __future__ import annotations

from datetime import date

import pytest

from assistant.digest.build import DigestRequest
from assistant.digest.intent import FOLLOW_UP_LIMIT, digest_request_in

NEWEST = date(2024, 3, 29)


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("What happened this week in the Red Sea?", DigestRequest("Red Sea", "2024-03-23", "2024-03-29")),
        ("What changed on Ukraine since Monday?", DigestRequest("Ukraine", "2024-03-25", "2024-03-29")),
        ("summarise this week's briefings", DigestRequest("", "2024-03-23", "2024-03-29")),
        (
            "Give me a recap of February news about Taylor Swift",
            DigestRequest("Taylor Swift", "2024-02-01", "2024-02-29"),
        ),
        ("what's new?", DigestRequest("")),
        ("Catch me up on the Haneda collision", DigestRequest("Haneda collision", story=True)),
    ],
)
def test_overview_messages_become_digest_requests(message: str, expected: DigestRequest) -> None:
    assert digest_request_in(message, [], NEWEST) == expected


@pytest.mark.parametrize(
    "question",
    ["What happened to the plane?", "How long was the call?", "Which state was sued this week over a law?"],
)
def test_questions_stay_questions(question: str) -> None:
    assert digest_request_in(question, [], NEWEST) is None


TIMELINE = "\n".join(
    [
        "Digest on Red Sea, 2024-03-01 to 2024-03-07 (3 briefings)",
        "2024-03-06",
        "1. Houthi rebels fired two missiles at a cargo ship.",
        "2024-03-07",
        "2. Insurers raised premiums for vessels crossing the strait.",
    ]
)


@pytest.mark.parametrize(
    ("follow_up", "topic"),
    [
        ("tell me more about the second one", "Insurers raised premiums for vessels crossing the strait."),
        ("more on number 1", "Houthi rebels fired two missiles at a cargo ship."),
        ("expand on the last one please", "Insurers raised premiums for vessels crossing the strait."),
    ],
)
def test_follow_ups_name_an_item_of_the_digest_just_shown(follow_up: str, topic: str) -> None:
    history = [{"role": "user", "content": "catch me up on the Red Sea"}, {"role": "assistant", "content": TIMELINE}]
    expected = DigestRequest(topic, "2024-03-01", "2024-03-07", FOLLOW_UP_LIMIT)
    assert digest_request_in(follow_up, history, NEWEST) == expected


def test_a_follow_up_without_a_digest_before_it_is_a_question() -> None:
    history = [{"role": "assistant", "content": "an hour and 45 minutes"}]
    assert digest_request_in("tell me more about the second one", history, NEWEST) is None
    assert digest_request_in("more on number 7", [{"role": "assistant", "content": TIMELINE}], NEWEST) is None
