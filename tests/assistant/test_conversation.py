"""What the reader is asked in a conversation: a follow-up carries its conversation's subject."""

from __future__ import annotations

from assistant.answer.conversation import Turn, reading_question


def test_an_elliptical_follow_up_is_read_with_the_earlier_question_s_subject() -> None:
    history = [Turn("user", "What did the two presidents agree on?"), Turn("assistant", "step up diplomacy")]
    asked = reading_question("through who", history)
    assert asked.startswith("through who")
    assert "presidents agree" in asked
    assert "what" not in asked.lower().split() and "?" not in asked  # the earlier question's words only


def test_a_question_that_stands_alone_is_read_as_it_is() -> None:
    history = [Turn("user", "How long was the call?"), Turn("assistant", "an hour and 45 minutes")]
    assert reading_question("Where did Putin and Macron meet in February?", history) == (
        "Where did Putin and Macron meet in February?"
    )
    assert reading_question("who started it", []) == "who started it"
