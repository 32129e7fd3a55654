"""A digest set (DESIGN.md, "Digest set") built from a question set whose questions carry dates: the weekly
news quizzes of the shared news corpus.

A quiz asks about the week's news, so a quiz week's answers are what a digest of that week should recall:
- ``week-*``: topic left empty, the Monday-to-Sunday week of each quiz date, every answer of that week a fact;
- ``month-*``: topic left empty, each calendar month that has answerable quizzes (a longer window, for
  latency and for recall when far more briefings compete);
- ``topic-*``: one per answerable question, its question as the topic, its week as the window, its answer
  the fact: "catch me up on ..." asked the way a reader would ask about that story.

Only dates and answers are read (never evidence passages or documents), so the set names no article and
copies no corpus text. Pure: reads one JSONL file, returns the set; writing is the caller's.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from assistant.measure.questions import load_question_set


def digest_set_from(questions: Path) -> list[dict[str, Any]]:
    """Week, month and topic digests for the answerable, dated questions of ``questions``."""
    dated = [item for item in load_question_set(questions) if _answerable(item) and _date(item) is not None]
    weeks: dict[date, list[dict[str, Any]]] = defaultdict(list)
    months: dict[tuple[int, int], list[dict[str, Any]]] = defaultdict(list)
    for item in dated:
        day = _date(item)
        assert day is not None
        weeks[day - timedelta(days=day.weekday())].append(item)
        months[(day.year, day.month)].append(item)
    digests = [
        _entry(f"week-{monday}", "", monday, monday + timedelta(days=6), weeks[monday]) for monday in sorted(weeks)
    ]
    for year, month in sorted(months):
        first = date(year, month, 1)
        last = (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
        digests.append(_entry(f"month-{first:%Y-%m}", "", first, last, months[(year, month)]))
    for monday in sorted(weeks):
        for item in weeks[monday]:
            topic = str(item["question"]).strip()
            digests.append(
                _entry(f"topic-{item.get('id', topic[:20])}", topic, monday, monday + timedelta(days=6), [item])
            )
    return digests


def _entry(name: str, topic: str, since: date, until: date, items: list[dict[str, Any]]) -> dict[str, Any]:
    facts = [[str(answer) for answer in item["answers"]] for item in items]
    return {
        "id": name,
        "digest": {"topic": topic, "since": since.isoformat(), "until": until.isoformat()},
        "facts": facts,
        "questions": [str(item.get("id", "")) for item in items],
    }


def _answerable(item: dict[str, Any]) -> bool:
    return bool(item.get("answerable", True)) and bool(item.get("answers"))


def _date(item: dict[str, Any]) -> date | None:
    meta = item.get("meta")
    value = meta.get("date") if isinstance(meta, dict) else None
    try:
        return date.fromisoformat(str(value)) if value else None
    except ValueError:
        return None
