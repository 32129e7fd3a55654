"""The reader as a product artefact: rebuilt by one command, loaded offline, refused clearly when wrong.

The smoke training runs the real ``briefings train`` (spaCy question generation, the fit loop, the int8
export and its check against the trained model) for a few steps on a tiny corpus written here; the full run
is never part of the tests.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest

from assistant.answer.reader import MODEL_DIR, MODEL_FILE, Reader, Reading
from assistant.answer.reading import Read, Thresholds, short_span
from assistant.errors import ReaderUnavailable
from assistant.measure.tune_reader import Observed, Seen, cross_validated, fit_thresholds
from tests.assistant.test_cli import assert_one_line_error, briefings

ARTICLES = {
    "gcs_a.txt": "date 2024-01-02\nPort strike ends\nThe dockworkers' union in Baltimore ended the strike on Tuesday "
    "after a deal with the port authority. The strike lasted 11 days and stopped 40 ships. Governor Wes Moore "
    "welcomed the agreement in Annapolis.",
    "gcs_b.txt": "date 2024-01-03\nFlood relief\nThe Red Cross sent 300 volunteers to Vermont after the floods. "
    "Officials in Montpelier said the damage reached $2 million. Senator Bernie Sanders visited the city on "
    "Friday.",
    "gcs_c.txt": "date 2024-01-04\nChip plant\nIntel will build a factory in Ohio that employs 3,000 people. "
    "Chief executive Pat Gelsinger announced the plan in Columbus on Monday. Construction starts in March.",
}
QUIZ = [
    {"question": "Which union ended a strike this week?", "answers": ["dockworkers' union"],
     "evidence_text": "The dockworkers' union in Baltimore ended its strike. Ships moved again."},
    {"question": "How many volunteers did the Red Cross send?", "answers": ["300"],
     "evidence_text": "The Red Cross sent 300 volunteers. Roads were closed."},
    {"question": "Where will the chip factory be built?", "answers": ["Ohio"],
     "evidence_text": "Intel chose Ohio for the factory. It is the largest investment in the state."},
]  # fmt: skip


@pytest.fixture(scope="module")
def smoke_reader(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A reader trained for three steps on the tiny corpus, by the same command that builds the shipped one."""
    root = tmp_path_factory.mktemp("train")
    (root / "news" / "articles").mkdir(parents=True)
    for name, text in ARTICLES.items():
        (root / "news" / "articles" / name).write_text(text, encoding="utf-8")
    quiz = root / "quiz.jsonl"
    quiz.write_text("".join(json.dumps(item) + "\n" for item in QUIZ), encoding="utf-8")
    out = root / "reader"
    args = ["--news", str(root / "news"), "--quiz", str(quiz), "--out", str(out), "--work", str(root / "work")]
    result = briefings("train", *args, "--max-steps", "3", "--batch-size", "8")
    assert result.returncode == 0, result.stderr
    assert "3 steps" in result.stdout
    return out


@pytest.mark.slow
def test_smoke_training_writes_a_small_int8_reader_that_loads_offline_and_marks_spans(smoke_reader: Path) -> None:
    meta = json.loads((smoke_reader / "reader.json").read_text(encoding="utf-8"))
    assert meta["training"]["steps"] == 3 and meta["training"]["pairs"] > 0
    # the export's own rule: three steps leave logits that barely vary, so a close match stands in for correlation
    int8 = meta["training"]["int8_vs_trained"]
    assert int8["answers_logit_correlation"] >= 0.97 or int8["largest_logit_difference"] <= 0.1
    assert (smoke_reader / MODEL_FILE).stat().st_size <= 40 * 1024 * 1024
    sentences = ["The strike lasted 11 days and stopped 40 ships.", "Construction starts in March."]
    readings = Reader(smoke_reader).read("how long did the strike last", sentences)
    assert len(readings) == 2
    for reading, sentence in zip(readings, sentences, strict=True):
        assert 0 <= reading.span_start < reading.span_end <= len(sentence)
        assert 0.0 <= reading.probability <= 1.0


@pytest.mark.slow
def test_the_same_seed_makes_the_same_training_pairs(smoke_reader: Path, tmp_path: Path) -> None:
    first = (smoke_reader.parent / "work" / "pairs.jsonl").read_text(encoding="utf-8")
    root = smoke_reader.parent
    args = ["--news", str(root / "news"), "--quiz", str(root / "quiz.jsonl"), "--out", str(tmp_path / "r")]
    result = briefings("train", *args, "--work", str(tmp_path / "w"), "--max-steps", "1", "--batch-size", "8")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "w" / "pairs.jsonl").read_text(encoding="utf-8") == first


def test_a_missing_reader_is_one_line_naming_the_rebuild_command(tmp_path: Path) -> None:
    with pytest.raises(ReaderUnavailable, match="make train-reader"):
        Reader(tmp_path)


def test_a_reader_file_that_does_not_match_its_card_is_refused(tmp_path: Path) -> None:
    shutil.copy(MODEL_DIR / "reader.json", tmp_path / "reader.json")
    (tmp_path / MODEL_FILE).write_bytes((MODEL_DIR / MODEL_FILE).read_bytes()[:-10] + b"0123456789")
    with pytest.raises(ReaderUnavailable, match="does not match"):
        Reader(tmp_path)


def test_ask_with_a_missing_reader_is_a_one_line_error(seed_settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    env = {
        "BRIEFINGS_INDEX": str(seed_settings.index),
        "BRIEFINGS_MODEL_CACHE": str(seed_settings.model_cache),
        "BRIEFINGS_ANSWERER": "reader",
        "BRIEFINGS_READER_MODEL": str(tmp_path),
    }
    assert_one_line_error(briefings("ask", "How long was the call?", env=env), "make train-reader")


def test_train_without_its_inputs_is_a_one_line_error(tmp_path: Path) -> None:
    result = briefings("train", "--news", str(tmp_path / "nowhere"))
    assert_one_line_error(result, "No news articles")


def _read(ranking: float, logit: float, holds: bool, span_p: float = 0.0, span_right: bool = False) -> Seen:
    return Seen(ranking, logit, holds, span_p, span_right, span_p > 0)


def test_the_fit_lets_the_reader_rerank_and_refuses_what_the_corpus_cannot_answer() -> None:
    # The ranking alone puts a wrong sentence first; the reader's logit knows better.
    answerable = [
        Observed(f"r{i}", True, (_read(5.0, -2.0, False), _read(4.0, 3.0, True, 0.8, True))) for i in range(10)
    ]
    cannot = [Observed(f"u{i}", False, (_read(1.0, -3.0, False),)) for i in range(10)]
    fitted = fit_thresholds(answerable + cannot)
    assert fitted.weight > 0.0
    assert fitted.span <= 0.8
    checked = cross_validated(answerable + cannot, folds=5)
    assert checked["answer_correct"] == 1.0 and checked["wrong_answer_rate"] == 0.0
    assert checked["correct_abstain_rate"] == 1.0
    assert checked["short_answer_precision"] == 1.0


def test_no_short_answers_when_no_span_confidence_is_precise_enough() -> None:
    observed = [Observed(f"q{i}", True, (_read(5.0, 2.0, True, 0.9, i % 2 == 0),)) for i in range(20)]
    assert fit_thresholds(observed).span > 1.0


def test_refusals_are_not_rewarded_for_themselves() -> None:
    # Right answers and unanswerable questions look alike to the reader: answering 10 right at the cost of 6
    # wrong beats showing nothing at all, so the fitted threshold answers.
    answerable = [Observed(f"r{i}", True, (_read(3.0, 1.0, True),)) for i in range(10)]
    cannot = [Observed(f"u{i}", False, (_read(3.0, 1.0, False),)) for i in range(6)]
    checked = cross_validated(answerable + cannot, folds=4)
    assert checked["answer_correct"] == 1.0 and checked["correct_abstain_rate"] == 0.0


def test_an_unsure_reader_span_is_shown_short_only_where_the_question_shape_picks_the_same_phrase() -> None:
    sentence = "The DPR and LPR administrations began evacuating civilians to Russia on Friday."
    start = sentence.index("Friday")
    read = Read(SimpleNamespace(text=sentence), Reading(1.0, start, start + len("Friday"), 0.2), 1.0)  # type: ignore[arg-type]
    unsure = Thresholds(span=0.9)
    assert short_span(read, unsure) is None
    assert short_span(read, unsure, lambda candidate: "on Friday") == "on Friday"
    assert short_span(read, unsure, lambda candidate: "Fri") == "Friday"
    assert short_span(read, unsure, lambda candidate: "Russia") is None
    assert short_span(read, Thresholds(span=0.1)) == "Friday"


def test_a_question_and_its_casual_form_are_scored_in_one_fold_and_reported_apart() -> None:
    from assistant.measure.tune_reader import CASUAL_SUFFIX, asked_id

    written = [Observed(f"q{i}", True, (_read(3.0, 2.0, True),)) for i in range(10)]
    typed = [Observed(f"q{i}{CASUAL_SUFFIX}", True, (_read(3.0, -1.0, i % 2 == 0),)) for i in range(10)]
    assert {asked_id(o.qid) for o in typed} == {o.qid for o in written}
    checked = cross_validated(written + typed, folds=5)
    assert checked["written"]["questions"] == 10 and checked["casual"]["questions"] == 10
    assert checked["written"]["answer_correct"] == 1.0
    assert checked["casual"]["answer_correct"] < 1.0  # the typed forms' wrong reads are not hidden by the written
    assert "written" not in cross_validated(written, folds=5)
