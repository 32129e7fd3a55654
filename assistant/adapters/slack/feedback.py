"""👍/👎 votes on answers, kept in a small SQLite file beside the index, exportable as a question set.

Real questions from real users are the best evaluation data there is. Every answer an adapter shows with
vote buttons is remembered first (question, answer, citations, the conversation before it), so a vote needs
to carry only the answer's short id. A vote copies what was shown into the ``feedback`` table, one row per
answer and user (voting again changes the verdict), and ``briefings feedback export`` turns those rows into
the question-set JSONL of DESIGN.md, ready for a human to check and for ``briefings eval`` to run:

- 👍 — the answer is the gold answer and the citations are the evidence;
- 👎 — ``answers`` and ``evidence`` are left empty and ``needs_review`` is set, with what was shown kept
  under ``rejected`` so the reviewer can see what went wrong and fill in the right answer.

A follow-up asked inside a conversation is exported as a conversation (``turns``), because it cannot be
understood without the questions before it.

Owns the votes' storage and export; must not talk to Slack, compute answers or touch the index's own files.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal, TextIO

from assistant.settings import Settings
from assistant.types import Answer

FEEDBACK_FILE = "feedback.sqlite3"
KEEP_SHOWN_ANSWERS = timedelta(days=90)  # votes on answers older than this are not recorded: keeps the file small
Verdict = Literal["up", "down"]
VERDICTS: tuple[Verdict, ...] = ("up", "down")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS answers (
    id TEXT PRIMARY KEY,
    asked_at TEXT NOT NULL,
    question TEXT NOT NULL,
    answer TEXT NOT NULL,
    abstained INTEGER NOT NULL,
    citations TEXT NOT NULL,
    history TEXT NOT NULL,
    asked_by TEXT,
    place TEXT
);
CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    answer_id TEXT NOT NULL,
    user TEXT NOT NULL,
    verdict TEXT NOT NULL CHECK (verdict IN ('up', 'down')),
    time TEXT NOT NULL,
    question TEXT NOT NULL,
    answer TEXT NOT NULL,
    abstained INTEGER NOT NULL,
    citations TEXT NOT NULL,
    history TEXT NOT NULL,
    UNIQUE (answer_id, user)
);
"""


@dataclass(frozen=True)
class Vote:
    """One user's verdict on one answer, with the answer as it was shown."""

    id: int
    answer_id: str
    user: str
    verdict: Verdict
    time: str
    question: str
    answer: str
    abstained: bool
    citations: tuple[dict[str, Any], ...]
    history: tuple[dict[str, str], ...]


class FeedbackStore:
    """The SQLite file of shown answers and their votes; safe to use from several threads (one connection per call)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @classmethod
    def for_settings(cls, settings: Settings) -> FeedbackStore:
        """The store inside the index folder, so it travels with the index it judged (and survives ``--rebuild``)."""
        return cls(settings.index / FEEDBACK_FILE)

    def remember(
        self,
        answer: Answer,
        history: Sequence[Mapping[str, str]] = (),
        asked_by: str | None = None,
        place: str | None = None,
    ) -> str:
        """Keep an answer that is about to be shown with vote buttons; the returned id goes into the buttons."""
        answer_id = secrets.token_hex(8)
        now = datetime.now(UTC)
        with self._connect() as db:
            db.execute("DELETE FROM answers WHERE asked_at < ?", (_iso(now - KEEP_SHOWN_ANSWERS),))
            db.execute(
                "INSERT INTO answers (id, asked_at, question, answer, abstained, citations, history, asked_by, place)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    answer_id,
                    _iso(now),
                    answer.question,
                    answer.answer,
                    int(answer.abstained),
                    json.dumps([citation.to_dict() for citation in answer.citations], ensure_ascii=False),
                    json.dumps(
                        [{"role": turn["role"], "content": turn["content"]} for turn in history], ensure_ascii=False
                    ),
                    asked_by,
                    place,
                ),
            )
        return answer_id

    def vote(self, answer_id: str, user: str, verdict: Verdict) -> Vote | None:
        """Record (or change) ``user``'s verdict; ``None`` when the answer is not on record (too old, other store)."""
        if verdict not in VERDICTS:
            raise ValueError(f"verdict must be one of {VERDICTS}, not {verdict!r}")
        with self._connect() as db:
            shown = db.execute(
                "SELECT question, answer, abstained, citations, history FROM answers WHERE id = ?", (answer_id,)
            ).fetchone()
            if shown is None:
                return None
            db.execute(
                "INSERT INTO feedback (answer_id, user, verdict, time, question, answer, abstained, citations, history)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (answer_id, user) DO UPDATE SET verdict = excluded.verdict, time = excluded.time",
                (answer_id, user, verdict, _iso(datetime.now(UTC)), *shown),
            )
            row = db.execute(f"{_SELECT_VOTES} WHERE answer_id = ? AND user = ?", (answer_id, user)).fetchone()
        return _vote(row)

    def votes(self) -> list[Vote]:
        """Every vote, oldest first; an absent file simply has none."""
        if not self.path.exists():
            return []
        with self._connect() as db:
            return [_vote(row) for row in db.execute(f"{_SELECT_VOTES} ORDER BY id")]

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with closing(sqlite3.connect(self.path, timeout=10)) as db:
            db.executescript(_SCHEMA)
            with db:  # one transaction, committed on success
                yield db


_SELECT_VOTES = (
    "SELECT id, answer_id, user, verdict, time, question, answer, abstained, citations, history FROM feedback"
)


def _vote(row: tuple[Any, ...]) -> Vote:
    number, answer_id, user, verdict, time, question, answer, abstained, citations, history = row
    return Vote(
        number, answer_id, user, verdict, time, question, answer, bool(abstained),
        tuple(json.loads(citations)), tuple(json.loads(history)),
    )  # fmt: skip


def _iso(moment: datetime) -> str:
    """UTC, to the second: sortable as text, which the pruning query relies on."""
    return moment.isoformat(timespec="seconds")


# ------------------------------------------------------------------------------------------- export
def to_question(vote: Vote) -> dict[str, Any]:
    """One question-set line (DESIGN.md) from a vote; a follow-up becomes a conversation."""
    evidence = [{"doc": citation["doc"], "quote": citation["quote"]} for citation in vote.citations]
    if vote.verdict == "up":
        judged: dict[str, Any] = {
            "answers": [] if vote.abstained else [vote.answer],
            "evidence": [] if vote.abstained else evidence,
            "answerable": not vote.abstained,
        }
    else:  # the shown answer is wrong: a human writes the right one (an abstention voted down was answerable)
        judged = {"answers": [], "evidence": [], "answerable": True, "needs_review": True}
    about: dict[str, Any] = {
        "type": "feedback",
        "verdict": vote.verdict,
        "voted_by": vote.user,
        "voted_at": vote.time,
    }
    if vote.verdict == "down":
        about["rejected"] = {"answer": vote.answer, "abstained": vote.abstained, "evidence": evidence}
    earlier = [turn["content"] for turn in vote.history if turn.get("role") == "user"]
    if not earlier:
        return {"id": f"feedback-{vote.id}", "question": vote.question, **judged, **about}
    turns: list[dict[str, Any]] = [{"user": question} for question in earlier]
    turns.append({"user": vote.question, **judged, "type": "feedback"})
    return {"id": f"feedback-{vote.id}", "turns": turns, **about}


def export_jsonl(votes: Iterable[Vote], out: TextIO) -> int:
    """Write the question-set lines; returns how many were written."""
    written = 0
    for vote in votes:
        out.write(json.dumps(to_question(vote), ensure_ascii=False) + "\n")
        written += 1
    return written
