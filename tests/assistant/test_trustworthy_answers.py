"""The answer a reader sees: a short span only when it fits the question, refusals for near misses, and the
newest value when dated briefings disagree. Real index, real embedder, real answer path."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.answer.shapes import Kind, QuestionShape, find_typed
from assistant.answer.spans import best_span
from assistant.answer.support import key_terms, question_names, unknown_names
from assistant.service import BriefingService
from assistant.text import name_words as name_words_module
from assistant.text.name_words import NameWordsMissing, is_name_word, name_words
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


@pytest.mark.parametrize(
    ("question", "names"),
    [
        ("what did biden say to macron", ("biden", "macron")),
        ("how long was the call between merkel and putin", ("merkel", "putin")),
        ("elysee statement on the call", ("elysee",)),
        ("Biden said what to Putin?", ("Putin", "Biden")),  # a name opening the question is still a name
        ("who placed the call", ()),
        ("where did they meet earlier in feb", ()),  # the calendar and units name nothing
        ("how many min did the call last", ()),
    ],
)
def test_names_typed_in_lower_case_are_still_names(question: str, names: tuple[str, ...]) -> None:
    assert question_names(question) == names


def test_the_name_word_list_is_what_news_capitalises_mid_sentence() -> None:
    texts = [
        "Officials said Biden spoke. Later Biden left. Aides to Biden agreed. Then Biden flew. So Biden went.",
        "The call was long. A call came. Another call ended. One more call. The last call.",
        "Markets fell on Friday. Sales rose Friday. Shops shut Friday. Banks opened Friday. Rates held Friday.",
    ]
    assert name_words(texts) == ["biden"]  # "call" is lower case mid-sentence; weekdays are calendar words
    assert is_name_word("Zelensky") and is_name_word("zelensky") and is_name_word("NATO")
    assert not is_name_word("call") and not is_name_word("initiated") and not is_name_word("feb")


def test_a_missing_name_word_list_is_one_line_naming_its_rebuild(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setattr(name_words_module, "SHIPPED", tmp_path / "gone.txt.gz")
    name_words_module.shipped_words.cache_clear()
    try:
        with pytest.raises(NameWordsMissing) as raised:
            is_name_word("biden")
    finally:
        name_words_module.shipped_words.cache_clear()
    assert "make name-words" in str(raised.value) and "\n" not in str(raised.value)


def test_names_the_corpus_never_uses_are_found_leniently_but_not_loosely(seed_service: BriefingService) -> None:
    knows = seed_service.retriever.lexical.knows
    assert unknown_names(("Putin", "Ukrainians", "United States"), knows) == []  # Ukraine, "united" stems
    assert unknown_names(("Biden", "Xi", "Macron"), knows) == ["Biden", "Xi"]
    assert unknown_names(("Normandy Format",), knows) == []
    assert unknown_names(("Normandy Landings",), knows) == ["Normandy Landings"]
    assert unknown_names(("France", "france", "Spain"), knows) == ["Spain"]  # the briefing says "French"


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
    [
        "How long was the Biden–Xi call?",
        "Who won the Super Bowl in 2024?",
        "What did Joe Biden tell Putin?",
        "what did joe biden tell putin",
        "how long did scholz and putin talk",
    ],
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


@pytest.mark.parametrize(
    "question", ["Who did Putin blame for the escalation?", "who did putin blame for the escalation"]
)
def test_a_sentence_saying_he_answers_for_the_person_its_passage_names(
    seed_service: BriefingService, question: str
) -> None:
    """The answering sentence says "He further stated ..."; the opening sentence names Putin and Macron and
    used to win on their names alone, showing a sentence that says nothing of blame."""
    answer = seed_service.ask(question)
    assert not answer.abstained
    assert "Ukrainian security forces" in answer.answer
    assert answer.citations[0].quote.startswith("He further stated that the escalation")


@pytest.mark.parametrize("question", ["When did Macron visit Moscow?", "when was macron in moscow to see putin"])
def test_the_opening_sentence_does_not_answer_on_the_names_it_shares(
    seed_service: BriefingService, question: str
) -> None:
    """The opening sentence names Putin and Macron and gives "Sunday", the day of their call; the meeting in
    Moscow was on February 7. Sharing only the question's names, the opening sentence gets no lead prior."""
    answer = seed_service.ask(question)
    assert "Sunday" not in answer.answer
    assert answer.abstained or "February 7" in answer.answer


@pytest.mark.parametrize(
    "question",
    [
        "How many civilians were evacuated to Russia?",  # the sentence on the evacuation gives a day, no number
        "How long did the February 7 meeting in Moscow last?",  # its only date is the question's own
    ],
)
def test_how_many_or_how_long_is_refused_where_the_best_sentence_holds_no_such_value(
    seed_service: BriefingService, question: str
) -> None:
    answer = seed_service.ask(question)
    assert answer.abstained and answer.citations == ()
    assert answer.closest


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
