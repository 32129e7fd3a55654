"""The digest set built from dated quiz questions: week, month and topic digests whose facts are the answers."""

from __future__ import annotations

import json
from pathlib import Path

from assistant.measure.digest_set import digest_set_from
from tests.conftest import NEWS, requires_news


def test_weeks_months_and_topics_from_dated_answers(tmp_path: Path) -> None:
    questions = tmp_path / "questions.jsonl"
    rows = [
        {"id": "a", "question": "Which state?", "answers": ["Texas"], "meta": {"date": "2024-01-05"}},
        {"id": "b", "question": "What price?", "answers": ["$35"], "answerable": True, "meta": {"date": "2024-01-04"}},
        {"id": "c", "question": "Who won?", "answers": ["Ohio"], "answerable": True, "meta": {"date": "2024-02-01"}},
        {"id": "d", "question": "Later?", "answers": [], "answerable": False, "meta": {"date": "2024-02-01"}},
        {"id": "e", "question": "Undated?", "answers": ["x"], "answerable": True},
    ]
    questions.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    digests = {item["id"]: item for item in digest_set_from(questions)}
    assert digests["week-2024-01-01"]["digest"] == {"topic": "", "since": "2024-01-01", "until": "2024-01-07"}
    assert digests["week-2024-01-01"]["facts"] == [["Texas"], ["$35"]]
    assert digests["month-2024-02"]["digest"] == {"topic": "", "since": "2024-02-01", "until": "2024-02-29"}
    assert digests["topic-c"] == {
        "id": "topic-c",
        "digest": {"topic": "Who won?", "since": "2024-01-29", "until": "2024-02-04"},
        "facts": [["Ohio"]],
        "questions": ["c"],
    }
    assert not any("d" in item["questions"] or "e" in item["questions"] for item in digests.values())


@requires_news
def test_the_shipped_dev_digest_set_is_built_from_the_shared_dev_questions() -> None:
    shipped = Path(__file__).resolve().parents[2] / "docs" / "eval" / "digests-dev.jsonl"
    built = digest_set_from(NEWS / "questions-dev.jsonl")
    assert [json.loads(line) for line in shipped.read_text(encoding="utf-8").splitlines()] == built
