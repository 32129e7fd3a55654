"""Eval scores what a reader sees: the displayed answer, and quotes checked against the files on disk."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from assistant.errors import BriefingsError, CorpusNotFound
from assistant.measure.evaluation import Outcome, Probe, SourceTexts, build_report, evaluate, score_outcome
from assistant.measure.questions import load_question_set
from assistant.service import BriefingService
from assistant.settings import Settings
from assistant.types import Answer, Citation
from tests.conftest import SEED_DOC, seed_text

GOLD = "an hour and 45 minutes"
RIGHT_QUOTE = "Elysée stated that Macron's phone call with Putin lasted an hour and 45 minutes."


def make_answer(text: str, quotes: tuple[str, ...] = (), abstained: bool = False) -> Answer:
    citations = tuple(
        Citation(number, "a.txt", "A", None, 0, len(quote), 0.9, quote) for number, quote in enumerate(quotes, 1)
    )
    return Answer("q", text, abstained, citations, (), "extractive", {})


def scored(answer: Answer, golds: tuple[str, ...] = (GOLD,), text: str | None = None) -> Outcome:
    """An outcome scored with ``text`` as every article's text on disk (``None``: no file)."""
    probe = Probe(f"q{id(answer)}", "How long was the call?", golds, frozenset(), bool(golds), "duration")
    outcome = Outcome(probe, answer, 0.01)
    outcome.scores = score_outcome(outcome, lambda doc: text)
    return outcome


def test_a_wrong_short_answer_beside_a_right_quote_is_wrong() -> None:
    report = build_report([scored(make_answer("Sunday", (RIGHT_QUOTE,)))])
    answer = report["answer"]
    assert answer["answer_correct"] == 0.0
    assert answer["answer_in_citation"] == 1.0
    assert answer["wrong_answer_rate"] == 1.0
    assert (answer["short_answer_rate"], answer["short_answer_precision"]) == (1.0, 0.0)
    row = report["per_question"][0]
    assert (row["correct"], row["in_citation"]) == (False, True)
    assert report["by_type"]["duration"]["correct"] == 0.0


def test_an_abstention_is_not_correct_and_not_a_wrong_answer() -> None:
    outcomes = [
        scored(make_answer("The call lasted an hour and 45 minutes.", (RIGHT_QUOTE,))),
        scored(make_answer("The briefings do not say.", abstained=True)),
    ]
    answer = build_report(outcomes)["answer"]
    assert answer["answer_correct"] == 0.5
    assert answer["wrong_answer_rate"] == 0.0
    assert answer["short_answer_rate"] == 1.0  # over answered questions only: the abstention is not counted
    assert answer["short_answer_precision"] == 1.0


def test_short_answer_precision_counts_only_short_answers() -> None:
    long_right = "According to the Elysée the phone call between the two presidents lasted an hour and 45 minutes"
    outcomes = [
        scored(make_answer("an hour and 45 minutes")),
        scored(make_answer("two hours")),
        scored(make_answer(long_right)),
    ]
    answer = build_report(outcomes)["answer"]
    assert answer["answer_correct"] == round(2 / 3, 4)
    assert answer["short_answer_rate"] == round(2 / 3, 4)
    assert answer["short_answer_precision"] == 0.5
    assert answer["wrong_answer_rate"] == round(1 / 3, 4)


def test_gold_must_occur_as_whole_words() -> None:
    outcome = scored(make_answer("4500 people"), golds=("500",))
    assert outcome.scores["answer_correct"] is False and outcome.scores["wrong"] is True


def test_metrics_over_an_empty_subset_are_null() -> None:
    unanswerable = scored(make_answer("The briefings do not say.", abstained=True), golds=())
    report = build_report([unanswerable])
    assert all(value is None for value in report["answer"].values())
    row = report["per_question"][0]
    assert (row["correct"], row["in_citation"]) == (True, None)
    abstained_only = build_report([scored(make_answer("", abstained=True))])["answer"]
    assert (abstained_only["short_answer_rate"], abstained_only["short_answer_precision"]) == (None, None)
    assert abstained_only["answer_correct"] == 0.0


def test_quote_is_checked_against_the_file_on_disk_not_the_index_copy(tmp_path: Path) -> None:
    index_copy = "The call lasted an hour.\nIt was cordial."
    on_disk = tmp_path / "a.txt"
    on_disk.write_text("Update: " + index_copy, encoding="utf-8")
    quote = "The call lasted an hour."
    answer = make_answer("an hour", (quote,))
    assert scored(answer, ("an hour",), text=index_copy).scores["verified"] == [True]
    from_disk = SourceTexts({"a.txt": (str(on_disk), None)})
    outcome = scored(answer, ("an hour",))
    outcome.scores = score_outcome(outcome, from_disk.text)
    assert outcome.scores["verified"] == [False]
    assert build_report([outcome])["citations"]["quote_verified"] == 0.0


def test_disk_text_is_read_as_a_reader_opens_it(tmp_path: Path) -> None:
    crlf = tmp_path / "crlf.txt"
    crlf.write_bytes(b"First line.\r\nThe call lasted an hour.\r\n")
    page = tmp_path / "page.html"
    body = "<p>The summit opened in Geneva on Wednesday with both delegations present.</p>" * 3
    page.write_text(f"<html><head><title>Geneva</title></head><body>{body}</body></html>", encoding="utf-8")
    texts = SourceTexts(
        {"crlf.txt": (str(crlf), None), "page.html": (str(page), None), "gone.txt": (str(tmp_path / "gone.txt"), None)}
    )
    assert texts.text("crlf.txt") == "First line.\nThe call lasted an hour.\n"
    assert "The summit opened in Geneva" in (texts.text("page.html") or "")
    assert "<p>" not in (texts.text("page.html") or "")
    assert texts.text("gone.txt") is None and texts.text("unknown.txt") is None
    crlf.unlink()
    assert texts.text("crlf.txt") is not None  # read once per doc within a run


def test_evaluate_reads_cited_articles_from_their_files(make_settings: Callable[[], Settings], tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    article = corpus / SEED_DOC
    article.write_text(seed_text(), encoding="utf-8")
    service = BriefingService(make_settings())
    service.ingest([corpus])
    questions = tmp_path / "questions.jsonl"
    item = {"id": "q1", "question": "How long was the call?", "answers": [GOLD], "answerable": True}
    questions.write_text(json.dumps(item) + "\n", encoding="utf-8")
    assert evaluate(service, questions)["citations"]["quote_verified"] == 1.0
    article.write_text("Corrected. " + seed_text(), encoding="utf-8")  # the index still holds the old text
    report = evaluate(service, questions)
    assert report["answer"]["answer_correct"] == 1.0
    assert report["citations"]["quote_verified"] == 0.0


def test_latency_figures_are_actual_latencies_at_the_nearest_rank() -> None:
    """The report's p50/p95 are the latencies at rank round(p/100 * (n - 1)), a tie going to the even rank."""
    outcomes = []
    for milliseconds in (40, 10, 30, 20):
        outcome = scored(make_answer("an hour and 45 minutes"))
        outcome.seconds = milliseconds / 1000
        outcomes.append(outcome)
    assert build_report(outcomes)["latency_ms"] == {"p50": 30.0, "p95": 40.0}  # linear would say 25.0 and 38.5
    assert build_report([])["latency_ms"] == {"p50": None, "p95": None}


def test_a_bad_question_set_is_an_error_that_names_the_line(tmp_path: Path) -> None:
    questions = tmp_path / "questions.jsonl"
    questions.write_text('{"question": "How long was the call?"}\n\n{"turns": []}\nnot json\n', encoding="utf-8")
    with pytest.raises(BriefingsError, match=r"questions.jsonl:4: not valid JSON"):
        load_question_set(questions)
    questions.write_text('{"question": "How long was the call?"}\n{"answers": ["an hour"]}\n', encoding="utf-8")
    with pytest.raises(BriefingsError, match=r"questions.jsonl:2: needs a 'question' or 'turns' field"):
        load_question_set(questions)
    with pytest.raises(CorpusNotFound, match="Question set not found"):
        load_question_set(tmp_path / "missing.jsonl")
