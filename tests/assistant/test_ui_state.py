"""What a chat session keeps: the UI's handlers driven directly, as Gradio drives them, against the seed index.

A session keeps only its latest turns (in the chat, its plain transcript and its answers' sources), the
history handed to the service is as short, and an idle session's state expires.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import gradio as gr
import pytest

from assistant.adapters.ui import (
    EXAMPLE_QUESTIONS,
    MAX_SESSIONS,
    MAX_TURNS,
    SESSION_TTL_SECONDS,
    ChatAdapter,
    answer_markdown,
    build,
    latest_turns,
)
from assistant.service import BriefingService
from tests.conftest import made_answer

SKIPPED = gr.skip()


class RecordingService:
    """The real service, noting how much history each answer was given."""

    def __init__(self, service: BriefingService) -> None:
        self.service = service
        self.history_lengths: list[int] = []

    def stream(self, question: str, history: list[dict[str, str]], *args: Any) -> Iterator[Any]:
        self.history_lengths.append(len(history))
        return self.service.stream(question, history, *args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.service, name)


def chat_turn(adapter: ChatAdapter, question: str, session: dict[str, Any]) -> None:
    """Run one question through ``answer_turn`` and keep what it returns, as Gradio keeps a session's values."""
    names = ("question", "messages", "transcript", "answers", "sources")
    inputs = (question, session["messages"], session["transcript"], session["answers"], None, None)
    for values in adapter.answer_turn(*inputs):
        session.update({name: value for name, value in zip(names, values, strict=True) if value != SKIPPED})


@pytest.fixture(scope="module")
def long_session(seed_service: BriefingService) -> tuple[RecordingService, dict[str, Any], list[str]]:
    """``MAX_TURNS + 5`` questions asked in one session."""
    service = RecordingService(seed_service)
    adapter = ChatAdapter(service)  # type: ignore[arg-type]
    session: dict[str, Any] = {"messages": [], "transcript": [], "answers": {}}
    asked = [EXAMPLE_QUESTIONS[turn % len(EXAMPLE_QUESTIONS)] for turn in range(MAX_TURNS + 5)]
    for question in asked:
        chat_turn(adapter, question, session)
    return service, session, asked


def test_a_long_chat_keeps_only_its_latest_turns(long_session: tuple[Any, dict[str, Any], list[str]]) -> None:
    _, session, asked = long_session
    messages, transcript = session["messages"], session["transcript"]
    assert len(messages) == len(transcript) == 2 * MAX_TURNS
    assert [message["role"] for message in messages] == ["user", "assistant"] * MAX_TURNS
    assert [turn["content"] for turn in transcript[::2]] == asked[-MAX_TURNS:]
    assert [message["content"] for message in messages[::2]] == asked[-MAX_TURNS:]


def test_the_answers_kept_for_their_sources_are_as_many_and_match_their_bubbles(
    long_session: tuple[Any, dict[str, Any], list[str]],
) -> None:
    _, session, asked = long_session
    messages, answers = session["messages"], session["answers"]
    assert sorted(answers) == list(range(1, 2 * MAX_TURNS, 2))
    for index, answer in answers.items():
        assert messages[index]["content"] == answer_markdown(answer)
        assert messages[index - 1]["content"] == answer.question
    assert answers[len(messages) - 1].question == asked[-1]
    assert "Sources" in session["sources"] or "Nearest passages" in session["sources"]


def test_the_service_is_given_a_bounded_history(long_session: tuple[Any, dict[str, Any], list[str]]) -> None:
    service, _, asked = long_session
    assert len(service.history_lengths) == len(asked)
    assert max(service.history_lengths) == 2 * (MAX_TURNS - 1)
    assert service.history_lengths[:3] == [0, 2, 4]


def test_dropping_old_turns_keeps_each_answer_beside_its_own_bubble() -> None:
    first, third = made_answer("first?", "one"), made_answer("third?", "three")
    messages = [
        {"role": "user", "content": "first?"},
        {"role": "assistant", "content": "one"},
        {"role": "user", "content": "second?"},
        {"role": "assistant", "content": "I can't answer right now."},  # a failed turn: no answer object
        {"role": "user", "content": "third?"},
        {"role": "assistant", "content": "three"},
    ]
    kept, answers = latest_turns(messages, {1: first, 5: third}, 2)
    assert kept == messages[2:] and answers == {3: third}
    assert latest_turns(messages, {1: first, 5: third}, 3) == (messages, {1: first, 5: third})
    assert latest_turns(messages, {1: first, 5: third}, 0) == ([], {})


def test_an_idle_session_state_expires_and_sessions_are_capped(seed_service: BriefingService) -> None:
    blocks = build(seed_service)
    states = [block for block in blocks.blocks.values() if isinstance(block, gr.State)]
    assert len(states) == 2
    assert all(state.time_to_live == SESSION_TTL_SECONDS for state in states)
    assert blocks.state_session_capacity == MAX_SESSIONS
    assert blocks.delete_cache is not None
