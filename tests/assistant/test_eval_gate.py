"""The project's own question set must keep passing agreed thresholds (a quality regression gate).

Thresholds sit a little below the measured figures (README, "Quality") so that noise does not fail the
build but a real regression does.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.evaluation import evaluate
from assistant.service import BriefingService
from tests.conftest import PROJECT

GATES = {
    ("answer", "answer_in_citation"): 0.75,
    ("citations", "quote_verified"): 1.0,
    ("citations", "doc_accuracy"): 0.8,
    ("abstention", "correct_abstain_rate"): 0.5,
}
MAX_FALSE_ABSTAIN = 0.2


@pytest.fixture(scope="module")
def report(seed_service: BriefingService) -> dict:
    return evaluate(seed_service, PROJECT / "corpus" / "questions.jsonl")


@pytest.mark.parametrize(("group", "name"), list(GATES))
def test_metric_meets_its_gate(report: dict, group: str, name: str) -> None:
    assert report[group][name] >= GATES[(group, name)], report[group]


def test_few_answerable_questions_are_refused(report: dict) -> None:
    assert report["abstention"]["false_abstain_rate"] <= MAX_FALSE_ABSTAIN


def test_conversations_resolve_follow_ups(seed_service: BriefingService) -> None:
    conversations = evaluate(seed_service, PROJECT / "corpus" / "conversations.jsonl")
    assert conversations["answer"]["answer_in_citation"] >= 0.6
    assert conversations["citations"]["quote_verified"] == 1.0


def test_set_is_big_enough_to_mean_something() -> None:
    lines = (PROJECT / "corpus" / "questions.jsonl").read_text().splitlines()
    assert len(lines) >= 20
    assert sum('"answerable": false' in line for line in lines) >= 5
    assert Path(PROJECT / "corpus" / "conversations.jsonl").is_file()
