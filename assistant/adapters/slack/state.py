"""What the Slack adapter remembers between requests: which deliveries it handled, and each thread's last turns.

Slack redelivers what it thinks was lost: events are retried (``X-Slack-Retry-Num``) when the
acknowledgement is slow, and a retry, a double click or a replayed request must not produce a second answer
or a second thank-you. The keys of handled deliveries are kept in a small SQLite file beside the index
(``slack-state.sqlite3``), so a restart, or a second worker process on the same index, still recognises
them. ``INSERT OR IGNORE`` on the key is the whole protocol: whoever inserts first answers. WAL mode lets
workers read while one writes; rows older than a day are pruned on every insert, so the file stays small
(Slack gives up retrying after minutes). When the folder cannot be written, a warning says so and the
keys live in an in-memory SQLite database instead: duplicates are still caught until the next restart.

What counts as one delivery:

- an Events API callback: its ``event_id``; the message inside it: channel + ``ts`` (a mention in a DM
  arrives as two events with one message);
- a slash command: its ``trigger_id`` (unique per invocation), else a hash of the signed body;
- a button click: its ``trigger_id``, else (``action_ts``, user, message ``ts``, ``action_id``).

A thread's conversation history is kept in memory, bounded twice: the last :data:`MAX_TURNS` turns per
thread, and at most :data:`MAX_CONVERSATIONS` threads, the least recently used (asked in or read) forgotten
first. Which events are questions at all, and which conversation each belongs to, is decided here too
(:func:`from_a_person`, :func:`place_of`), since that is what the history is keyed by.

Owns only this bookkeeping; must not talk to Slack, call the service or read the environment.
"""

from __future__ import annotations

import hashlib
import json
import logging
import sqlite3
import time
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from threading import Lock
from typing import Any

STATE_FILE = "slack-state.sqlite3"
REMEMBER_DELIVERIES_SECONDS = 24 * 3600  # Slack retries within minutes; a day is generous and still small
MAX_CONVERSATIONS = 1000
MAX_TURNS = 12  # per conversation: the last six questions and answers

log = logging.getLogger("assistant.adapters.slack.app")  # the Slack adapter's logger, secrets scrubbed

_SCHEMA = """
CREATE TABLE IF NOT EXISTS deliveries (key TEXT PRIMARY KEY, seen_at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS deliveries_seen_at ON deliveries (seen_at);
"""


# ------------------------------------------------------------------------------------ deliveries
class Deliveries:
    """Keys of the deliveries already handled, in SQLite; safe to share between threads and processes."""

    def __init__(self, path: Path | None = None, seconds: float = REMEMBER_DELIVERIES_SECONDS) -> None:
        self.path, self._seconds = path, seconds
        self._lock = Lock()
        self._db = _open(path)

    @classmethod
    def in_folder(cls, folder: Path) -> Deliveries:
        """The state file in ``folder`` (created if missing); in memory, with a warning, when it cannot be written."""
        try:
            folder.mkdir(parents=True, exist_ok=True)
            return cls(folder / STATE_FILE)
        except (OSError, sqlite3.Error) as error:
            log.warning(
                "Slack: cannot keep delivery state in %s (%s); keeping it in memory, so after a restart a retried "
                "delivery may be answered twice",
                folder / STATE_FILE,
                error,
            )
            return cls(None)

    def first_time(self, key: str) -> bool:
        """True exactly once per key (until it expires); a storage failure is logged and counts as first."""
        now = time.time()
        try:
            with self._lock, self._db:
                self._db.execute("DELETE FROM deliveries WHERE seen_at < ?", (now - self._seconds,))
                inserted = self._db.execute(
                    "INSERT OR IGNORE INTO deliveries (key, seen_at) VALUES (?, ?)", (key, now)
                ).rowcount
        except sqlite3.Error as error:  # better a rare double answer than none at all
            log.warning("Slack: could not record delivery %s in %s (%s)", key, self.path or "memory", error)
            return True
        return inserted == 1

    def __len__(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM deliveries").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            self._db.close()


def _open(path: Path | None) -> sqlite3.Connection:
    db = sqlite3.connect(":memory:" if path is None else path, timeout=5, check_same_thread=False)
    try:
        if path is not None:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
        db.executescript(_SCHEMA)
    except sqlite3.Error:
        db.close()
        raise
    return db


def delivery_key(body: Mapping[str, Any], raw_body: str = "") -> str | None:
    """The key that names one delivery of ``body`` (see the module docstring); None when it is not deduplicated."""
    if body.get("type") == "event_callback" and body.get("event_id"):
        return f"event:{body['event_id']}"
    if body.get("command"):  # a retried, replayed or doubled invocation carries the same trigger_id and body
        return f"command:{body.get('trigger_id') or _digest(raw_body)}"
    if body.get("type") == "block_actions":
        if body.get("trigger_id"):
            return f"action:{body['trigger_id']}"
        action = (body.get("actions") or [{}])[0]
        user = (body.get("user") or {}).get("id")
        message_ts = (body.get("container") or {}).get("message_ts")
        return f"action:{_digest(json.dumps([action.get('action_ts'), user, message_ts, action.get('action_id')]))}"
    return None


def message_key(event: Mapping[str, Any]) -> str:
    """One message, however many events carried it."""
    return f"message:{event.get('channel')}:{event.get('ts')}"


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


# ---------------------------------------------------------------------------------- conversations
@dataclass(frozen=True)
class Place:
    """Where a message came from and where its answer goes."""

    channel: str
    thread_ts: str | None  # reply in this thread; None: in the conversation itself (a DM's main view)
    conversation: str  # the history key
    started_in: str | None = None  # a new thread's history is taken from here (a DM thread: the DM)


def place_of(event: Mapping[str, Any]) -> Place:
    """A channel mention is answered in its thread; a DM in its own view, unless written in a thread."""
    channel, thread = str(event.get("channel", "")), event.get("thread_ts")
    if event.get("type") == "message" and event.get("channel_type") == "im":
        direct = f"{channel}:dm"
        return Place(channel, thread, f"{channel}:{thread}", direct) if thread else Place(channel, None, direct)
    thread = thread or event.get("ts")
    return Place(channel, thread, f"{channel}:{thread}")


def from_a_person(event: Mapping[str, Any]) -> bool:
    """Bots (this one included) and edits, deletions and joins are not questions."""
    if event.get("bot_id") or not event.get("user"):
        return False
    if event.get("subtype") not in (None, "file_share", "thread_broadcast"):
        return False
    return event.get("type") == "app_mention" or event.get("channel_type") == "im"


class Conversations:
    """The last turns of each Slack conversation (channel + thread); the least recently used is forgotten first."""

    def __init__(self, capacity: int = MAX_CONVERSATIONS, turns: int = MAX_TURNS) -> None:
        self._capacity, self._turns = capacity, turns
        self._history: OrderedDict[str, list[dict[str, str]]] = OrderedDict()
        self._lock = Lock()

    def history(self, key: str) -> list[dict[str, str]]:
        with self._lock:
            if key in self._history:
                self._history.move_to_end(key)  # being read means being used
            return list(self._history.get(key, ()))

    def add(self, key: str, question: str, answer: str) -> None:
        with self._lock:
            turns = self._history.pop(key, [])
            turns += [{"role": "user", "content": question}, {"role": "assistant", "content": answer}]
            self._history[key] = turns[-self._turns :]
            while len(self._history) > self._capacity:
                self._history.popitem(last=False)

    def __len__(self) -> int:
        with self._lock:
            return len(self._history)
