"""The project's own question set must keep passing agreed thresholds (a quality regression gate).

Thresholds sit a little below (ceilings a little above) the measured figures (docs/quality.md) so that
noise does not fail the build but a real regression does. The abstention model is fitted on the news
development set only, so these are figures on questions it never saw.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.measure.evaluation import evaluate
from assistant.service import BriefingService
from tests.conftest import PROJECT

GATES = {
    ("answer", "answer_correct"): 0.5,
    ("answer", "short_answer_precision"): 0.9,
    ("citations", "quote_verified"): 1.0,
    ("citations", "doc_accuracy"): 0.5,
    ("abstention", "correct_abstain_rate"): 0.6,
}
CEILINGS = {
    ("answer", "wrong_answer_rate"): 0.1,
    ("abstention", "false_abstain_rate"): 0.5,
}


@pytest.fixture(scope="module")
def report(seed_service: BriefingService) -> dict:
    return evaluate(seed_service, PROJECT / "corpus" / "questions.jsonl")


@pytest.mark.parametrize(("group", "name"), list(GATES))
def test_metric_meets_its_gate(report: dict, group: str, name: str) -> None:
    assert report[group][name] >= GATES[(group, name)], report[group]


@pytest.mark.parametrize(("group", "name"), list(CEILINGS))
def test_metric_stays_under_its_ceiling(report: dict, group: str, name: str) -> None:
    assert report[group][name] <= CEILINGS[(group, name)], report[group]


def test_conversations_resolve_follow_ups(seed_service: BriefingService) -> None:
    conversations = evaluate(seed_service, PROJECT / "corpus" / "conversations.jsonl")
    assert conversations["answer"]["answer_correct"] >= 0.25
    assert conversations["answer"]["wrong_answer_rate"] <= 0.3
    assert conversations["citations"]["quote_verified"] == 1.0


def test_set_is_big_enough_to_mean_something() -> None:
    lines = (PROJECT / "corpus" / "questions.jsonl").read_text().splitlines()
    assert len(lines) >= 20
    assert sum('"answerable": false' in line for line in lines) >= 5
    assert Path(PROJECT / "corpus" / "conversations.jsonl").is_file()
