"""A digest from the index: the window's sentences, the salient ones merged and dated, as a timeline.

Owns the steps in order (window, sentences, topic, selection, citations) and the lead baseline the eval
compares against. Every item's text is a sentence cut from a chunk, and a chunk's text is exactly
``article[start:end]``, so every quote holds at its offsets; nothing is generated.

Must not parse questions (``intent``) or render (adapters do, from :class:`Digest`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import numpy as np

from assistant.digest.gather import Pool, pool_of
from assistant.digest.model import Digest, DigestItem
from assistant.digest.select import LEAD_SENTENCES, Chosen, Topic, choose, lead_rows
from assistant.digest.window import Window, window_of
from assistant.errors import QuestionError
from assistant.types import Citation, Passage
from index.embedding import Embedder
from index.lexical import LexicalIndex

MAX_LIMIT = 100
MAX_TOPIC_CHARS = 500
TOPIC_PASSAGES = 30  # chunks retrieval finds for a topic in the window: the sentences a topic digest draws on
STORY_PASSAGES = 5  # the passages whose dates bound a story asked about without dates
STORY_DAYS = 30  # how far from the best passage's date another passage's date may lie and still bound the story
Retrieve = Callable[[str, int, str | None, str | None], list[Passage]]


@dataclass(frozen=True)
class DigestRequest:
    """What a digest is asked for: typed bounds (dates or phrases such as "Monday"), or none."""

    topic: str = ""
    since: str | None = None
    until: str | None = None
    limit: int = 10
    story: bool = False  # no dates given: span the dates of the briefings that retrieval finds for the topic


def build_digest(
    request: DigestRequest, index: LexicalIndex, embedder: Embedder, retrieve: Retrieve, lead: bool = False
) -> Digest:
    """The digest asked for; ``lead`` builds the lead baseline instead (each briefing's first sentence: the
    newest briefings' without a topic, the best-retrieved briefings' with one)."""
    started = time.perf_counter()
    topic = " ".join(request.topic.split())
    _check(topic, request.limit)
    dates = index.date_range()
    if dates is None:
        return _empty(request, topic, None, "The index holds no dated briefings yet: ingest some first.")
    since, until = request.since, request.until
    if request.story and topic and not since and not until:
        since, until = _story_span(topic, retrieve) or (None, None)
    window = window_of(since, until, date.fromisoformat(dates[1]))
    chunks = index.chunks_dated(window.since.isoformat(), window.until.isoformat())
    count = len({chunk.doc for chunk in chunks})
    if not count:
        span = f"the briefings run from {dates[0]} to {dates[1]}"
        note = f"No briefings are dated {window.since} to {window.until} ({span})."
        return _empty(request, topic, window, note)
    pool = pool_of(chunks, embedder.embed_documents)
    read = time.perf_counter()
    if lead:
        chosen, more = _lead(pool, topic, window, request.limit, retrieve)
    else:
        subject = _topic(topic, pool, window, embedder, index, retrieve) if topic else None
        chosen, more = choose(pool, subject, _previous_leads(index, embedder, window), request.limit)
    items = sorted((_item(pool, item) for item in chosen), key=lambda item: (item.date or "", -item.salience))
    note = "" if items else f"None of the {count} briefings dated {window.since} to {window.until} is about {topic!r}."
    timings = {"read": (read - started) * 1000, "select": (time.perf_counter() - read) * 1000}
    timings["total"] = (time.perf_counter() - started) * 1000
    return Digest(topic, *_bounds(window), tuple(items), count, more, request.limit, note, timings)


def _story_span(topic: str, retrieve: Retrieve) -> tuple[str, str] | None:
    """First and last date of the briefings retrieval ranks highest for ``topic``: "catch me up on the Haneda
    collision" is about that story's days, wherever they lie, not about the last week."""
    found = [passage.chunk.date for passage in retrieve(topic, STORY_PASSAGES, None, None) if passage.chunk.date]
    if not found:
        return None
    best = date.fromisoformat(
        found[0]
    )  # the best passage's day; others count only if near it (not a 2019 backgrounder)
    near = sorted(day for day in found if abs((date.fromisoformat(day) - best).days) <= STORY_DAYS)
    return near[0], near[-1]


def _topic(
    topic: str, pool: Pool, window: Window, embedder: Embedder, index: LexicalIndex, retrieve: Retrieve
) -> Topic:
    """The topic's vector and terms, and which of the window's sentences lie in chunks retrieval finds for it."""
    passages = retrieve(topic, TOPIC_PASSAGES, *_bounds(window))
    spans: dict[str, list[tuple[int, int]]] = {}
    for passage in passages:
        spans.setdefault(passage.chunk.doc, []).append((passage.chunk.start, passage.chunk.end))
    scope = np.array(
        [any(start <= s.start < end for start, end in spans.get(s.doc, ())) for s in pool.sentences], dtype=bool
    )
    return Topic(topic, embedder.embed_query(topic), index.idf, scope)


def _check(topic: str, limit: int) -> None:
    if not 1 <= limit <= MAX_LIMIT:
        raise QuestionError(f"--limit must be between 1 and {MAX_LIMIT}, not {limit}")
    if len(topic) > MAX_TOPIC_CHARS:
        raise QuestionError(f"The topic is {len(topic)} characters long; the limit is {MAX_TOPIC_CHARS}")


def _bounds(window: Window) -> tuple[str, str]:
    return window.since.isoformat(), window.until.isoformat()


def _empty(request: DigestRequest, topic: str, window: Window | None, note: str) -> Digest:
    since, until = _bounds(window) if window is not None else (request.since or "", request.until or "")
    return Digest(topic, since, until, (), 0, False, request.limit, note)


def _previous_leads(index: LexicalIndex, embedder: Embedder, window: Window) -> np.ndarray:
    """Lead sentences of the window before: what a reader of last week's digest already knows."""
    previous = window.previous()
    chunks = index.chunks_dated(previous.since.isoformat(), previous.until.isoformat())
    opening = [chunk for chunk in chunks if chunk.start == 0]  # leads live in an article's first chunk
    if not opening:
        return np.zeros((0, 1), dtype=np.float32)
    pool = pool_of(opening, embedder.embed_documents)
    leads: np.ndarray = pool.vectors[pool.leads(LEAD_SENTENCES)]
    return leads


def _lead(pool: Pool, topic: str, window: Window, limit: int, retrieve: Retrieve) -> tuple[list[Chosen], bool]:
    if topic:
        passages = retrieve(topic, 50, *_bounds(window))
        order = list(dict.fromkeys(passage.chunk.doc for passage in passages))
    else:
        dated = {sentence.doc: sentence.date or "" for sentence in pool.sentences}
        order = sorted(dated, key=lambda doc: (dated[doc], doc), reverse=True)
    rows = lead_rows(pool, order, limit + 1)
    chosen = [Chosen(row, (row,), float(limit - rank)) for rank, row in enumerate(rows[:limit])]
    return chosen, len(rows) > limit


def _item(pool: Pool, chosen: Chosen) -> DigestItem:
    sentences = [pool.sentences[row] for row in chosen.rows]
    head, others = sentences[0], sorted(sentences[1:], key=lambda sentence: (sentence.date or "", sentence.doc))
    citations = tuple(
        Citation(number, s.doc, s.title, s.date, s.start, s.end, chosen.salience, s.text)
        for number, s in enumerate([head, *others], start=1)
    )
    return DigestItem(head.date, citations, chosen.salience)
