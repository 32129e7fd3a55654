"""The answer a reader sees: a short span only when it fits the question, refusals for near misses, and the
newest value when dated briefings disagree. Real index, real embedder, real answer path."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.answer.shapes import Kind, QuestionShape, find_typed
from assistant.answer.spans import best_span
from assistant.answer.support import key_terms, question_names, unknown_names
from assistant.service import BriefingService
from tests.conftest import SEED_CORPUS


def _on_disk(doc: str, start: int, end: int, folder: Path = SEED_CORPUS) -> str:
    return open(folder / doc, encoding="utf-8").read()[start:end]


# ------------------------------------------------------------------------------------------ question names
@pytest.mark.parametrize(
    ("question", "names"),
    [
        ("How long was the Biden–Xi call?", ("Biden", "Xi")),
        ("Who won the Super Bowl in 2024?", ("Super Bowl",)),
        ("How long was the call?", ()),
        ("Insulin makers offer it to more Americans at what price?", ("Americans",)),
        ("What did the U.S. Supreme Court rule on Monday?", ("Supreme Court",)),
    ],
)
def test_question_names_are_the_capitalised_things_it_asks_about(question: str, names: tuple[str, ...]) -> None:
    assert question_names(question) == names


def test_names_the_corpus_never_uses_are_found_leniently_but_not_loosely(seed_service: BriefingService) -> None:
    knows = seed_service.retriever.lexical.knows
    assert unknown_names(("Putin", "Ukrainians", "United States"), knows) == []  # Ukraine, "united" stems
    assert unknown_names(("Biden", "Xi", "Macron"), knows) == ["Biden", "Xi"]
    assert unknown_names(("Normandy Format",), knows) == []
    assert unknown_names(("Normandy Landings",), knows) == ["Normandy Landings"]


def test_key_terms_leave_out_names_and_what_kind_of_answer_is_asked_for() -> None:
    assert key_terms("When will Macron travel to Kyiv?") == frozenset({"travel"})
    assert key_terms("How long was the call?") == frozenset({"call"})
    assert key_terms("Which agreements is Kyiv accused of refusing to implement?", "agreement") == frozenset(
        {"accus", "refus", "implement"}
    )


# ------------------------------------------------------------------------------------------------- spans
def test_two_names_that_could_answer_give_no_short_answer() -> None:
    sentence = "Vladimir Putin and Emmanuel Macron spoke on Sunday about NATO."
    shape = QuestionShape(Kind.PERSON)
    typed = list(find_typed(sentence, shape.kind))
    assert best_span(sentence, typed, shape, "Who did Putin speak with on Sunday?") is None


def test_the_agent_of_a_passive_is_an_unambiguous_answer() -> None:
    sentence = "Kremlin also stated that the call was initiated by the French side, and NATO was brought up."
    shape = QuestionShape(Kind.PERSON)
    span = best_span(sentence, list(find_typed(sentence, shape.kind)), shape, "Who initiated the call?")
    assert span is not None and span.text(sentence) == "the French side"


@pytest.mark.parametrize(
    ("sentence", "question", "expected"),
    [
        ("The harbour authority of Tallinn reopened pier 41 after repairs.", "Which pier did Tallinn reopen?",
         "pier 41"),
        ("Ships were diverted to the Black Sea port after the strike.", "Which port were ships diverted to?",
         "the Black Sea port"),
        ("Officials in Kyiv said Odesa port reopened on Monday.", "Which port reopened?", "Odesa port"),
    ],
)  # fmt: skip
def test_a_which_answer_is_the_phrase_that_names_the_thing(sentence: str, question: str, expected: str) -> None:
    """The name right before the head noun, or the number after it, and never a capitalised word further back
    with the verb between ("Tallinn reopened pier")."""
    shape = QuestionShape(Kind.ENTITY, head=question.split()[1])
    span = best_span(sentence, list(find_typed(sentence, shape.kind)), shape, question)
    assert span is not None and span.text(sentence) == expected


def test_the_article_date_marker_is_not_an_answer() -> None:
    sentence = "date 2022-02-20 Putin and Macron had a telephonic discussion on Sunday."
    found = [span.text(sentence) for span in find_typed(sentence, Kind.DATE)]
    assert found == ["Sunday"]


# -------------------------------------------------------------------------------------- the answer path
def test_the_card_question_keeps_its_short_answer(seed_service: BriefingService) -> None:
    answer = seed_service.ask("How long was the call?")
    assert answer.answer == "an hour and 45 minutes"
    assert all(_on_disk(c.doc, c.start, c.end) == c.quote for c in answer.citations)


def test_an_ambiguous_who_question_shows_the_sentence_not_a_wrong_name(seed_service: BriefingService) -> None:
    answer = seed_service.ask("Who did Putin speak with on Sunday?")
    assert answer.answer != "NATO"
    assert "Macron" in answer.answer


@pytest.mark.parametrize(
    "question",
    ["How long was the Biden–Xi call?", "Who won the Super Bowl in 2024?", "What did Joe Biden tell Putin?"],
)
def test_questions_about_names_the_briefing_never_mentions_are_refused(
    seed_service: BriefingService, question: str
) -> None:
    answer = seed_service.ask(question)
    assert answer.abstained and "don't say" in answer.answer
    assert answer.citations == ()
    assert answer.closest, "a refusal shows the closest sentences found"
    assert all(_on_disk(c.doc, c.start, c.end) == c.quote for c in answer.closest)
    assert answer.to_dict()["closest"][0]["quote"] == answer.closest[0].quote


# ----------------------------------------------------------------------------------- briefings disagree
def test_disagreeing_briefings_answer_with_the_newest_and_list_the_older(make_settings, tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "early.txt").write_text(
        "date 2024-01-02 Storm toll in Brockton\n\nThe storm killed 12 people in Brockton, officials said.\n",
        encoding="utf-8",
    )
    (corpus / "later.txt").write_text(
        "date 2024-01-05 Storm toll rises in Brockton\n\nThe storm killed 31 people in Brockton, officials said.\n",
        encoding="utf-8",
    )
    service = BriefingService(make_settings(abstain_below=0.0))
    service.ingest([corpus])
    answer = service.ask("How many people did the storm kill in Brockton?")
    assert answer.answer == "31 people"
    assert [(a.answer, a.date) for a in answer.alternatives] == [("12 people", "2024-01-02")]
    by_id = {c.id: c for c in answer.citations}
    assert by_id[answer.alternatives[0].citation].doc == "early.txt"
    assert answer.citations[0].doc == "later.txt"
    for citation in answer.citations:
        assert _on_disk(citation.doc, citation.start, citation.end, corpus) == citation.quote
    assert answer.to_dict()["alternatives"] == [{"answer": "12 people", "citation": 2, "date": "2024-01-02"}]


def test_one_briefing_gives_no_alternatives(seed_service: BriefingService) -> None:
    assert seed_service.ask("How long was the call?").alternatives == ()


def test_a_question_whose_key_word_the_article_never_uses_gets_no_short_answer(
    seed_service: BriefingService,
) -> None:
    answer = seed_service.ask("When will Macron travel to Kyiv?")  # the briefing never mentions travel
    assert answer.answer != "Sunday"
    assert answer.abstained or len(answer.answer.split()) > 8
