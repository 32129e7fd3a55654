"""An answer delivered as it is produced: text deltas, then one final event carrying the whole answer.

It owns :class:`StreamEvent` and the two ways an answer run is consumed: as events (the UI's and the API's
stream) or to the end (a plain ``ask``). An answer run is a generator that yields the answer's text in pieces
and returns the finished :class:`Answer`. Must not produce answers itself, hold state, or import adapters.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from dataclasses import dataclass
from typing import Literal

from assistant.types import Answer

AnswerRun = Generator[str, None, Answer]


@dataclass(frozen=True)
class StreamEvent:
    """One step of a streamed answer: ``delta`` carries text, ``answer`` the finished :class:`Answer`."""

    kind: Literal["delta", "answer"]
    text: str = ""
    answer: Answer | None = None


def events_of_whole(answer: Answer) -> Iterator[StreamEvent]:
    """An answer that was finished before anything was shown: all its text in one delta, then the answer."""
    yield StreamEvent("delta", text=answer.answer)
    yield StreamEvent("answer", answer=answer)


def events_of_run(run: AnswerRun) -> Iterator[StreamEvent]:
    """Each piece of text as the run yields it, then the answer it returns."""
    while True:
        try:
            delta = next(run)
        except StopIteration as finished:
            yield StreamEvent("answer", answer=finished.value)
            return
        yield StreamEvent("delta", text=delta)


def run_to_end(run: AnswerRun) -> Answer:
    """The answer a run returns, its streamed text discarded."""
    while True:
        try:
            next(run)
        except StopIteration as finished:
            answer: Answer = finished.value
            return answer
