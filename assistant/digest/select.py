"""Which sentences of a window make the digest, and which of them say the same thing.

Salience, as a reader of a week's briefings weighs it:
- **repetition**: a fact many briefings in the window report is a fact of the week (how many other briefings
  hold a sentence within ``REPEAT_SIMILARITY`` of it, on a log scale, since the tenth briefing adds less
  than the second);
- **lead**: news puts the news first, so an article's first sentences are its candidates (a topic digest
  looks at every sentence);
- **novelty**: what the window before did not already say (one minus the closest of its lead sentences);
- **topic**: only sentences of the chunks hybrid retrieval finds for the topic in the window are candidates
  (BM25 and dense search together tell "Red Sea" from "red zone" better than one sentence vector can), ranked
  by how closely each matches the topic, by meaning (cosine) and by words (idf-weighted share of the topic's
  terms it holds); below ``TOPIC_MIN``, or far below the best match (``TOPIC_RELATIVE``), a sentence is not
  about the topic and never shown.

Coverage before depth: a first pass takes at most one item per story (no two items from different briefings
within ``STORY_SIMILARITY``, one per briefing), so one big story cannot fill a week's digest; a second pass
fills the remaining places in salience order.

Near-duplicates are merged by meaning with the sentence vectors: an item's further citations are the best
sentence of each other briefing within ``MERGE_SIMILARITY`` of it, and a candidate that close to an item
already chosen is not chosen again. The weights and thresholds were set by reading sentence pairs and the
digests of two windows (all of 2024-01-01 to 01-07, and "Red Sea" in the week after), never by searching for
the figures of a question set. Pure numpy over a :class:`Pool`; must not read the index or build adapters' output.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from assistant.digest.gather import Pool
from assistant.text.tokens import terms

LEAD_SENTENCES = 3  # an article's candidates when there is no topic
TOPIC_CANDIDATES = 300  # a topic digest's candidates: the sentences closest to the topic
REPEAT_SIMILARITY = 0.6  # two briefings' sentences this close report the same development
STORY_SIMILARITY = 0.4  # two briefings' leads this close tell one story (unrelated leads: 95% under 0.35)
MERGE_SIMILARITY = 0.75  # this close, they say the same thing: one item, several citations
SUPPRESS_SIMILARITY = 0.7  # a candidate this close to a chosen item adds nothing a reader would notice
TOPIC_MIN = 0.3  # below this, a sentence is not about the topic
TOPIC_RELATIVE = 0.65  # nor is one far below the best match: "red zone" when the best says "Red Sea"
TOPIC_FLOOR = 0.15  # cosine under which a sentence is not looked at word by word (saves time)
MAX_PER_BRIEFING = 2  # items from one briefing: a week's digest is about the week, not one long article
MERGE_TERMS = 0.5  # ...and share half the shorter sentence's terms
MAX_CITATIONS = 8  # per item: enough to show the spread without a wall of links
WEIGHTS = {"repetition": 1.0, "lead": 0.5, "novelty": 0.5, "topic": 2.0}


@dataclass(frozen=True)
class Topic:
    """The topic's vector and terms, with the idf that weighs them."""

    text: str
    vector: np.ndarray
    idf: Callable[[str], float]
    scope: np.ndarray  # per pool row: whether its chunk is among those retrieval finds for the topic


@dataclass(frozen=True)
class Chosen:
    """An item: the head sentence's row in the pool, the rows of every citation (head first), its salience."""

    head: int
    rows: tuple[int, ...]
    salience: float


def choose(pool: Pool, topic: Topic | None, previous: np.ndarray, limit: int) -> tuple[list[Chosen], bool]:
    """The ``limit`` most salient distinct items (best first) and whether there were more to show."""
    candidates, relevance = _candidates(pool, topic)
    if not len(candidates):
        return [], False
    similarity = pool.vectors[candidates] @ pool.vectors.T  # [candidates, sentences]
    best_per_doc = np.maximum.reduceat(similarity, pool.doc_starts, axis=1)  # [candidates, docs]
    own = pool.doc_of[candidates]
    best_per_doc[np.arange(len(candidates)), own] = -1.0
    repeats = (best_per_doc >= REPEAT_SIMILARITY).sum(axis=1)
    novelty = _novelty(pool.vectors[candidates], previous)
    lead = np.array([1.0 / (1 + pool.sentences[row].position) for row in candidates.tolist()])
    salience = (
        WEIGHTS["repetition"] * np.log1p(repeats)
        + WEIGHTS["lead"] * lead
        + WEIGHTS["novelty"] * novelty
        + WEIGHTS["topic"] * relevance
    )
    ranked = np.argsort(-salience, kind="stable").tolist()
    chosen: list[Chosen] = []
    taken: set[int] = set()
    cited: set[int] = set()
    for per_briefing, too_close in ((1, STORY_SIMILARITY), (MAX_PER_BRIEFING, SUPPRESS_SIMILARITY)):
        for order in ranked:  # first one item per story, then the remaining places in salience order
            head = int(candidates[order])
            if order in taken or _said_already(pool, head, chosen, per_briefing, too_close):
                continue
            if len(chosen) == limit:
                return chosen, True
            taken.add(order)
            rows = _same_fact(pool, similarity[order], best_per_doc[order], head, cited)
            chosen.append(Chosen(head, rows, float(salience[order])))
    return chosen, False


def _said_already(pool: Pool, head: int, chosen: list[Chosen], per_briefing: int, too_close: float) -> bool:
    """Whether an item already chosen says this (or tells the same story, in the first pass), or its briefing
    has had its share of items.

    Only sentences of different briefings are compared by vector: a stored sentence vector is pooled from its
    chunk's pass through the model, so sentences of one article share context and look alike (0.7 to 0.9)
    however different their facts.
    """
    doc = pool.doc_of[head]
    if sum(pool.doc_of[item.head] == doc for item in chosen) >= per_briefing:
        return True
    for item in chosen:
        if head in item.rows:
            return True
        if pool.doc_of[item.head] != doc and float(pool.vectors[head] @ pool.vectors[item.head]) >= too_close:
            return True
    return False


def _candidates(pool: Pool, topic: Topic | None) -> tuple[np.ndarray, np.ndarray]:
    """Rows that may head an item, and each one's topic relevance (zeros without a topic)."""
    if topic is None:
        rows = pool.leads(LEAD_SENTENCES)
        return rows, np.zeros(len(rows))
    cosine = pool.vectors @ topic.vector
    rows = np.flatnonzero((cosine >= TOPIC_FLOOR) & topic.scope)
    if len(rows) > TOPIC_CANDIDATES:
        rows = rows[np.argpartition(-cosine[rows], TOPIC_CANDIDATES - 1)[:TOPIC_CANDIDATES]]
    relevance = np.array([_relevance(pool, row, float(cosine[row]), topic) for row in rows.tolist()])
    keep = relevance >= max(TOPIC_MIN, TOPIC_RELATIVE * float(relevance.max(initial=0.0)))
    return rows[keep], relevance[keep]


def _relevance(pool: Pool, row: int, cosine: float, topic: Topic) -> float:
    """Half meaning, half words: cosine alone lets a sentence on a neighbouring subject through, words alone
    miss a paraphrase."""
    wanted = _topic_terms(topic)
    total = sum(topic.idf(term) for term in wanted)
    if not total:
        return cosine
    held = _terms_of(pool, row)
    share = sum(topic.idf(term) for term in wanted if term in held) / total
    return 0.5 * cosine + 0.5 * share


_TERMS_CACHE: dict[str, frozenset[str]] = {}


def _topic_terms(topic: Topic) -> frozenset[str]:
    found = _TERMS_CACHE.get(topic.text)
    if found is None:
        found = _TERMS_CACHE[topic.text] = frozenset(terms(topic.text))
        if len(_TERMS_CACHE) > 1000:
            _TERMS_CACHE.clear()
    return found


def _novelty(vectors: np.ndarray, previous: np.ndarray) -> np.ndarray:
    if not len(previous):
        return np.ones(len(vectors))
    novelty: np.ndarray = np.clip(1.0 - (vectors @ previous.T).max(axis=1), 0.0, 1.0)
    return novelty


def _same_fact(
    pool: Pool, similarity: np.ndarray, best_per_doc: np.ndarray, head: int, cited: set[int]
) -> tuple[int, ...]:
    """The head row, then each other briefing's closest sentence that says the same: within
    ``MERGE_SIMILARITY`` and sharing at least ``MERGE_TERMS`` of the shorter one's terms (vectors pooled in
    context make sentences of one story look alike; the same fact also shares its names and numbers). A
    sentence already cited by another item is not cited again."""
    docs = np.flatnonzero(best_per_doc >= MERGE_SIMILARITY)
    docs = docs[np.argsort(-best_per_doc[docs], kind="stable")]
    rows = [head]
    ends = [*pool.doc_starts.tolist()[1:], len(pool.sentences)]
    for doc in docs.tolist():
        start = int(pool.doc_starts[doc])
        row = start + int(np.argmax(similarity[start : ends[doc]]))
        if row not in cited and _shared_terms(pool, head, row) >= MERGE_TERMS:
            rows.append(row)
        if len(rows) == MAX_CITATIONS:
            break
    cited.update(rows)
    return tuple(rows)


def _shared_terms(pool: Pool, first: int, second: int) -> float:
    """Share of the shorter sentence's terms that the other holds too."""
    a, b = (_terms_of(pool, row) for row in (first, second))
    return len(a & b) / min(len(a), len(b)) if a and b else 0.0


def _terms_of(pool: Pool, row: int) -> frozenset[str]:
    sentence = pool.sentences[row]
    return sentence.terms if sentence.terms is not None else frozenset(terms(sentence.text))


def lead_rows(pool: Pool, doc_order: list[str], limit: int) -> list[int]:
    """The lead baseline: each briefing's first sentence, briefings in the order given, ``limit`` of them."""
    first = {pool.sentences[row].doc: row for row in pool.leads(1).tolist()}
    return [first[doc] for doc in doc_order if doc in first][:limit]
