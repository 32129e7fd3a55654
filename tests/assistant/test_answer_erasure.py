"""The answer-erased twins the reader is trained on: the answering sentence, its answer taken out cleanly."""

from __future__ import annotations

import random

import pytest

from assistant.train.erasure import erased
from assistant.train.examples import Pair, SentencePool, quiz_pairs

SENTENCE = "Putin and Macron had a telephonic discussion on Sunday where they spoke about NATO."


def at(sentence: str, answer: str) -> tuple[int, int]:
    start = sentence.index(answer)
    return start, start + len(answer)


def test_an_answer_after_a_preposition_goes_with_it() -> None:
    assert erased(SENTENCE, *at(SENTENCE, "Sunday"), "DATE") == (
        "Putin and Macron had a telephonic discussion where they spoke about NATO."
    )
    passive = "Kremlin said the call was initiated by the French side, and NATO came up."
    assert (
        erased(passive, *at(passive, "the French side"), "NORP")
        == "Kremlin said the call was initiated, and NATO came up."
    )


def test_a_subject_or_object_answer_becomes_a_stand_in_of_its_kind() -> None:
    assert erased("Emmanuel Macron placed the call to Moscow.", 0, 15, "PERSON") == "Someone placed the call to Moscow."
    sentence = "The strike stopped 40 ships in the port."
    assert erased(sentence, *at(sentence, "40"), "CARDINAL") == "The strike stopped some ships in the port."


@pytest.mark.parametrize(
    ("sentence", "answer", "label"),
    [
        ("Last year, the Biden administration demanded a sale of the app.", "Biden", "PERSON"),  # a modifier
        ("Pope Francis of Vatican City met the delegation in Rome.", "Francis", "PERSON"),  # a title's name
        ("The talks addressed Russia's demands for security guarantees.", "Russia", "GPE"),  # a possessor
        ("The combined value of the two stocks is hovering near $40 today.", "40", "MONEY"),  # glued to a sign
        ("The strike stopped 40 ships in the port.", "40", None),  # no kind, no stand-in
    ],
)
def test_no_twin_where_a_stand_in_would_not_read_as_a_sentence(sentence: str, answer: str, label: str | None) -> None:
    assert erased(sentence, *at(sentence, answer), label) is None


def test_quiz_questions_get_their_evidence_sentence_without_the_answer_as_a_negative(tmp_path) -> None:  # type: ignore[no-untyped-def]
    quiz = tmp_path / "quiz.jsonl"
    quiz.write_text(
        '{"question": "Where will the chip factory be built?", "answers": ["Ohio"], '
        '"evidence_text": "Intel will build the factory in Ohio next year. It is the largest investment."}\n',
        encoding="utf-8",
    )
    pool = SentencePool([])
    with_twins = list(quiz_pairs(quiz, pool, random.Random(1), erase=True))
    without = list(quiz_pairs(quiz, pool, random.Random(1)))
    twins = [pair for pair in with_twins if pair.source == "quiz-erased"]
    assert [pair.sentence for pair in twins] == ["Intel will build the factory next year."] * 2  # written and casual
    assert all(not pair.answers for pair in twins)
    assert [pair for pair in with_twins if pair.source != "quiz-erased"] == without
    assert isinstance(twins[0], Pair)
