"""Wh-movement questions for the reader's training data, on sentences parsed by the shipped spaCy model.

Each sentence is asked with a dozen seeds so the test sees every question the generator can make of it.
"""

from __future__ import annotations

import random
from typing import Any

import pytest

from assistant.answer.spans import SPACY_MODEL
from assistant.train.frames import frame_questions


@pytest.fixture(scope="module")
def nlp() -> Any:
    import spacy

    return spacy.load(SPACY_MODEL)


def asked(nlp: Any, text: str) -> dict[str, str | None]:
    """Every question made of ``text`` over several seeds → its answer (``None``: the sentence cannot say)."""
    doc = nlp(text)
    found: dict[str, str | None] = {}
    for seed in range(12):
        for question in frame_questions(doc[:], random.Random(seed)):
            start, end = question.answer_start, question.answer_end
            found[question.question] = text[start:end] if start >= 0 else None
    return found


def test_a_described_subject_is_asked_with_its_head_noun(nlp: Any) -> None:
    found = asked(nlp, "The French side initiated the call with the Kremlin.")
    assert found.get("Which side initiated the call with the Kremlin?") == "The French side"


def test_a_date_on_the_verb_moves_to_the_front_with_do_support(nlp: Any) -> None:
    found = asked(nlp, "Putin and Macron held talks in Moscow on Sunday.")
    assert found.get("When did Putin and Macron hold talks in Moscow?") == "Sunday"


def test_a_counted_object_asks_how_many_and_the_answer_is_the_number(nlp: Any) -> None:
    found = asked(nlp, "Police arrested 31 men at the parade.")
    assert found.get("How many men did police arrest at the parade?") == "31"


def test_a_kind_of_answer_the_sentence_lacks_is_asked_as_a_refusal(nlp: Any) -> None:
    found = asked(nlp, "The administrations began evacuating civilians to safety.")
    refusals = [question for question, answer in found.items() if answer is None]
    assert "When did the administrations begin evacuating civilians to safety?" in refusals
    assert not any(question.startswith("When") for question, answer in found.items() if answer is not None)


def test_reported_speech_is_left_to_the_entity_questions(nlp: Any) -> None:
    assert asked(nlp, "Putin said that NATO was arming Kyiv.") == {}


def test_no_question_contains_its_own_answer(nlp: Any) -> None:
    text = "The Red Cross sent 300 volunteers to Vermont on Friday after the floods."
    for question, answer in asked(nlp, text).items():
        assert answer is None or answer.lower() not in question.lower()


def test_a_follow_up_form_keeps_the_asked_phrase_and_the_subject_words_as_the_answer_step_reads_them() -> None:
    from assistant.answer.conversation import reading_question
    from assistant.train.questions import follow_up_form

    assert follow_up_form("Who initiated the call?") == "Who — initiated the call"
    assert follow_up_form("how long call macron putin") == "how long — call macron putin"
    assert follow_up_form("when") is None  # nothing left to name the subject
    history = [{"role": "user", "content": "what did the two presidents agree on"}]
    read = reading_question("through who", history)
    assert read.split(" — ")[1] == follow_up_form("who did the two presidents agree on").split(" — ")[1]  # type: ignore[union-attr]
