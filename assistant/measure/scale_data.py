"""The rows, questions and vectors of ``briefings scale``: real news chunks, then briefings with planted facts.

Row order is fixed: first the ``planted`` probe briefings (whose questions are asked), then every news chunk
(the evidence articles named by the question set first, then the rest by file name), then further planted
briefings without end. So every question's answer chunk is present from the smallest size on, and each larger
size only adds haystack: the same questions are asked of a growing collection.

A planted briefing is a few template sentences; one of them is its fact, built from a key (template, town,
place) that no other row shares, so its question has exactly one answer chunk. The other sentences are filler
naming other towns and people. Texts are a function of the seed and the row number, so any range of rows can
be rebuilt instead of kept.

Vectors come from our own embedder and are appended to a float32 file under a folder keyed by everything that
decides them (seed, probes, corpus files, chunking, model export); a later or larger run reads them back
instead of embedding again. Blocks are read into memory one at a time, so a million rows are never resident.

Owns: the rows, their questions and answer chunks, the vector cache and exact (brute-force) search over it.
Must not: talk to Chroma, time anything but embedding, or hold all vectors in memory.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from assistant.errors import ConfigurationError
from assistant.measure.questions import load_question_set
from index.articles import Article, discover, load_article
from index.chunking import Chunk, chunk_article
from index.embedding import Embedder
from index.store_records import chunk_metadata

RECIPE_VERSION = 1
EMBED_BATCH = 2048  # rows embedded and appended to the cache at a time
EXACT_BLOCK = 32768  # rows read at a time for exact search

Say = Callable[[str], None]

HEADS = "Ash Bram Cal Dun Elm Fen Glen Hart Iver Kil Lang Mar Nor Oak Pen Red Stan Thorn Wick Yar".split()
HEADS += "Brad Cross Dal East Fair Gold High Holm Kings Lin Mill New Over Ros Sand Sil Strat Wal West Whit".split()
TAILS = "ford ham ton bury field wick mouth stead ley worth by combe dale haven minster port bridge moor gate".split()
TAILS += "well holt thorpe brook cliff wood".split()
TOWNS = [head + tail for head in HEADS for tail in TAILS]
QUALIFIERS = "North South East West Old New Upper Lower Royal Victoria Albert Market Church Station Mill Castle"
FIRST = "Alice Ben Chloe Daniel Eve Farid Grace Hugo Ines Jonas Kira Leo Maya Nadia Omar Priya Quinn Rosa Sam Tomas"
LAST = "Abbott Baker Carter Dias Evans Fischer Garcia Hughes Ito Jensen Khan Lopez Moreau Novak Okafor Patel Rossi"
DESKS = ("regional", "civic", "business", "transport", "health", "public safety")
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday")


@dataclass(frozen=True)
class Template:
    """One kind of planted fact: its sentence, its question and the places it can be about."""

    sentence: str
    question: str
    answer: str
    places: tuple[str, ...]


TEMPLATES = (
    Template(
        "The port authority of {town} said {n} vessels were held at {place} on {day}.",
        "How many vessels were held at {place} in {town}?",
        "{n}",
        tuple(
            "Quay Wharf Pier Dock Basin Jetty Landing Marina Harbour Slipway Berth Mole Breakwater Terminal"
            " Moorings".split()
        ),
    ),
    Template(
        "{town} water board engineers repaired {n} burst mains under {place} in the week to {day}.",
        "How many burst mains were repaired under {place} in {town}?",
        "{n}",
        tuple("Road Street Lane Avenue Parade Terrace Crescent Row Walk Hill Way Drive Close Square Green".split()),
    ),
    Template(
        "On {day}, {town} council approved a budget of {n} million pounds for the {place}.",
        "What budget did {town} council approve for the {place}?",
        "{n} million pounds",
        (
            "library",
            "bypass",
            "tram line",
            "sports centre",
            "flood wall",
            "bus depot",
            "school annexe",
            "health centre",
            "ring road",
            "footbridge",
            "swimming pool",
            "fire station",
            "car park",
            "museum wing",
            "cycle route",
        ),
    ),
    Template(
        "Police in {town} arrested {n} people after a protest at {place} on {day}.",
        "How many people were arrested after the protest at {place} in {town}?",
        "{n}",
        tuple(
            "Park Gardens Plaza Common Fields Court Cross Circus Yard Meadow Place Precinct Arcade Steps"
            " Walkway".split()
        ),
    ),
    Template(
        "{place} will open a plant in {town} employing {n} workers, the company announced on {day}.",
        "How many workers will the new {place} plant in {town} employ?",
        "{n}",
        tuple(
            "Motors Foods Textiles Plastics Pharma Logistics Steel Glassworks Electronics Paper Chemicals Brewing"
            " Aerospace Ceramics Batteries".split()
        ),
    ),
    Template(
        "The {town} health trust said {n} patients waited more than twelve hours at {place} on {day}.",
        "How many patients waited more than twelve hours at {place} in {town}?",
        "{n}",
        tuple(
            "Infirmary Clinic Hospital Surgery Hospice Polyclinic Sanatorium Dispensary Lazaretto Almshouse Lodge"
            " Pavilion Annexe Wing Unit".split()
        ),
    ),
    Template(
        "Flooding closed {place} in {town} for {n} days from {day}.",
        "For how many days was {place} in {town} closed by flooding?",
        "{n}",
        tuple(
            "Bridge Underpass Viaduct Causeway Ford Tunnel Crossing Embankment Towpath Esplanade Promenade Bypass"
            " Flyover Subway Footway".split()
        ),
    ),
    Template(
        "{person} was named head of the {place} service in {town} on {day}.",
        "Who was named head of the {place} service in {town}?",
        "{person}",
        tuple(
            "fire library housing planning parks transport harbour tourism archive arts youth lighting markets"
            " cemeteries ambulance".split()
        ),
    ),
)
FILLERS = (
    "Officials said a further update would follow on {weekday}.",
    "{other_person}, who compiled the figures, said they were in line with the previous quarter.",
    "Residents of neighbouring {other_town} were advised to check the council website for changes.",
    "The {desk} desk will publish a fuller account next week.",
    "A spokesperson declined to comment on the cost, citing talks with officials in {other_town}.",
    "Similar measures were introduced in {other_town} last year.",
    "Opposition councillors called for a review, and {other_person} said one would be considered.",
    "Local businesses reported little disruption so far.",
    "The figures do not include {other_town}, which reports separately.",
    "Forecasters expect conditions to ease by {weekday}.",
)
QUALIFIER_LIST = QUALIFIERS.split()
PLACES_PER_TEMPLATE = len(QUALIFIER_LIST) * 15
CAPACITY = len(TEMPLATES) * len(TOWNS) * PLACES_PER_TEMPLATE  # distinct planted keys: 1,920,000
STRIDE = 1_234_567  # coprime with CAPACITY: row -> key is a bijection spreading neighbouring rows over towns


@dataclass(frozen=True)
class Planted:
    """One synthetic briefing: its text, its metadata and its fact's question and answer."""

    text: str
    metadata: dict[str, Any]
    question: str
    answer: str


def planted(seed: int, number: int) -> Planted:
    """Planted briefing ``number``: the same text for the same seed on every run."""
    key = (number * STRIDE + seed * 7919) % CAPACITY
    key, template_number = divmod(key, len(TEMPLATES))
    key, town_number = divmod(key, len(TOWNS))
    noun_number, qualifier_number = divmod(key, len(QUALIFIER_LIST))
    template, town = TEMPLATES[template_number], TOWNS[town_number]
    noun = template.places[noun_number]
    place = f"{QUALIFIER_LIST[qualifier_number]} {noun}"
    rng = random.Random(f"{seed}:{number}")
    day = date(2024, 1, 1) + timedelta(days=rng.randrange(182))
    values = {
        "town": town,
        "place": place,
        "n": str(rng.randrange(3, 5000)),
        "day": f"{day.day} {day:%B %Y}",
        "person": f"{rng.choice(FIRST.split())} {rng.choice(LAST.split())}",
        "other_person": f"{rng.choice(FIRST.split())} {rng.choice(LAST.split())}",
        "other_town": rng.choice(TOWNS),
        "desk": rng.choice(DESKS),
        "weekday": rng.choice(WEEKDAYS),
    }
    sentences = [filler.format(**values) for filler in rng.sample(FILLERS, rng.randint(2, 3))]
    sentences.insert(rng.randint(0, len(sentences)), template.sentence.format(**values))
    title = f"{town} {values['desk']} briefing"
    text = f"{title}, {values['day']}. " + " ".join(sentences)
    doc = f"planted/{number:07d}.txt"
    chunk = Chunk(f"{doc}#0", doc, title, day.isoformat(), 0, len(text), text, 0)
    return Planted(text, chunk_metadata(chunk), template.question.format(**values), template.answer.format(**values))


@dataclass(frozen=True)
class Question:
    """A question asked at every size; ``answers`` are the rows that hold its answer (none: unanswerable)."""

    text: str
    kind: str  # "news" or "planted"
    answers: tuple[int, ...]


@dataclass
class ScaleRows:
    """The row order described in the module docstring; ``news`` are the corpus chunks in their order."""

    news: tuple[Chunk, ...]
    probes: int
    seed: int
    news_rows: dict[str, int] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.news_rows = {chunk.id: index for index, chunk in enumerate(self.news)}

    def row_id(self, row: int) -> str:
        if self.probes <= row < self.probes + len(self.news):
            return self.news[row - self.probes].id
        return f"planted/{self.planted_number(row):07d}.txt#0"

    def planted_number(self, row: int) -> int:
        return row if row < self.probes else row - len(self.news)

    def row_of(self, chunk_id: str) -> int:
        if chunk_id.startswith("planted/"):
            number = int(chunk_id.removeprefix("planted/")[:7])
            return number if number < self.probes else number + len(self.news)
        return self.probes + self.news_rows[chunk_id]

    def records(self, start: int, end: int) -> tuple[list[str], list[str], list[dict[str, Any]]]:
        """Ids, texts and metadata (shaped like ours) of rows ``start`` to ``end``."""
        ids, texts, metadatas = [], [], []
        for row in range(start, end):
            ids.append(self.row_id(row))
            if self.probes <= row < self.probes + len(self.news):
                chunk = self.news[row - self.probes]
                texts.append(chunk.text)
                metadatas.append(chunk_metadata(chunk))
            else:
                fact = planted(self.seed, self.planted_number(row))
                texts.append(fact.text)
                metadatas.append(fact.metadata)
        return ids, texts, metadatas

    def check_size(self, size: int) -> None:
        if size - len(self.news) > CAPACITY:
            raise ConfigurationError(f"--sizes: at most {CAPACITY + len(self.news):,} rows have distinct facts")


def load_rows(corpus: Path, question_file: Path, probes: int, seed: int, size: int, overlap: int) -> ScaleRows:
    """Chunk every article of ``corpus`` as ingest does, evidence articles of ``question_file`` first."""
    sources, _ = discover([corpus])
    first = {evidence["doc"] for item in load_question_set(question_file) for evidence in item.get("evidence") or []}
    articles = [article for article in map(load_article, sources) if isinstance(article, Article)]
    articles.sort(key=lambda article: (article.id not in first, article.id))
    chunks = tuple(chunk for article in articles for chunk in chunk_article(article, size, overlap))
    return ScaleRows(chunks, probes, seed)


def load_questions(rows: ScaleRows, question_file: Path) -> list[Question]:
    """The question set's single questions (answer rows: chunks overlapping an evidence quote), then the probes'."""
    by_doc: dict[str, list[int]] = {}
    for index, chunk in enumerate(rows.news):
        by_doc.setdefault(chunk.doc, []).append(index)
    questions = []
    for item in load_question_set(question_file):
        if not str(item.get("question") or "").strip():
            continue
        answers: list[int] = []
        if item.get("answerable", True):
            for evidence in item.get("evidence") or []:
                answers += [rows.probes + i for i in _quote_rows(rows.news, by_doc.get(evidence["doc"], []), evidence)]
        questions.append(Question(str(item["question"]).strip(), "news", tuple(sorted(set(answers)))))
    for number in range(rows.probes):
        questions.append(Question(planted(rows.seed, number).question, "planted", (number,)))
    return questions


def _quote_rows(news: Sequence[Chunk], indices: list[int], evidence: dict[str, Any]) -> list[int]:
    """Chunks of the evidence article that hold (part of) its quote; all of its chunks if the quote is not found."""
    quote = str(evidence.get("quote") or "").strip()
    holding = [i for i in indices if quote and quote in news[i].text]
    if holding or not quote:
        return holding or indices
    head, tail = quote[:60], quote[-60:]
    return [i for i in indices if head in news[i].text or tail in news[i].text] or indices


class VectorCache:
    """Row vectors in one append-only float32 file beside the recipe that produced them."""

    def __init__(self, folder: Path, recipe: dict[str, Any], dimension: int) -> None:
        digest = hashlib.sha256(json.dumps(recipe, sort_keys=True).encode()).hexdigest()[:16]
        self.folder = folder / digest
        self.folder.mkdir(parents=True, exist_ok=True)
        (self.folder / "recipe.json").write_text(json.dumps(recipe, indent=2) + "\n")
        self.path = self.folder / "vectors.f32"
        self.row_bytes = dimension * 4
        self.dimension = dimension
        self.path.touch()
        whole_rows = self.path.stat().st_size // self.row_bytes
        os.truncate(self.path, whole_rows * self.row_bytes)  # a run killed mid-write leaves part of a row

    @property
    def rows(self) -> int:
        return self.path.stat().st_size // self.row_bytes

    def read(self, start: int, end: int) -> np.ndarray:
        with open(self.path, "rb") as file:
            file.seek(start * self.row_bytes)
            data = np.fromfile(file, dtype=np.float32, count=(end - start) * self.dimension)
        return data.reshape(end - start, self.dimension)

    def extend_to(self, size: int, rows: ScaleRows, embedder: Embedder, say: Say) -> dict[str, Any]:
        """Embed the rows the cache lacks below ``size``; returns what that took (embedding time only)."""
        start, seconds, chars = self.rows, 0.0, 0
        for begin in range(start, size, EMBED_BATCH):
            _, texts, _ = rows.records(begin, min(begin + EMBED_BATCH, size))
            began = time.perf_counter()
            vectors = embedder.embed_documents(texts)
            seconds += time.perf_counter() - began
            chars += sum(map(len, texts))
            with open(self.path, "ab") as file:
                file.write(np.ascontiguousarray(vectors, dtype=np.float32).tobytes())
                file.flush()
                os.fsync(file.fileno())
            done = begin + len(texts) - start
            say(f"scale: embedded {begin + len(texts):,}/{size:,} rows ({done / seconds:,.0f} rows/s)")
        embedded = max(size - start, 0)
        return {
            "rows_embedded": embedded,
            "rows_from_cache": min(start, size),
            "seconds": round(seconds, 2),
            "rows_per_second": round(embedded / seconds, 1) if seconds else None,
            "chars_per_second": round(chars / seconds) if seconds else None,
        }

    def exact_top(self, queries: np.ndarray, size: int, k: int) -> np.ndarray:
        """Rows of the true top ``k`` by dot product (cosine: rows are unit length) among the first ``size``."""
        best_scores = np.full((len(queries), 0), -np.inf, dtype=np.float32)
        best_rows = np.zeros((len(queries), 0), dtype=np.int64)
        for start in range(0, size, EXACT_BLOCK):
            block = self.read(start, min(start + EXACT_BLOCK, size))
            scores = np.concatenate([best_scores, queries @ block.T], axis=1)
            numbers = np.broadcast_to(np.arange(start, start + len(block)), (len(queries), len(block)))
            candidates = np.concatenate([best_rows, numbers], axis=1)
            keep = np.argpartition(-scores, min(k, scores.shape[1] - 1), axis=1)[:, :k]
            best_scores, best_rows = np.take_along_axis(scores, keep, 1), np.take_along_axis(candidates, keep, 1)
        order = np.argsort(-best_scores, axis=1, kind="stable")
        return np.take_along_axis(best_rows, order, 1)


def recipe(
    rows: ScaleRows, corpus: Path, question_file: Path, embedder: Embedder, chunking: tuple[int, int]
) -> dict[str, Any]:
    """Everything that decides the vectors of the rows: a change to any of it means a new cache folder."""
    files = sorted(f"{path.relative_to(corpus).as_posix()} {path.stat().st_size}" for path in corpus.rglob("*.*"))
    files.append(hashlib.sha256(question_file.read_bytes()).hexdigest())  # the question set orders the rows
    return {
        "version": RECIPE_VERSION,
        "seed": rows.seed,
        "probes": rows.probes,
        "news_chunks": len(rows.news),
        "corpus": hashlib.sha256(json.dumps(files).encode()).hexdigest(),
        "chunking": list(chunking),
        "model": embedder.identity,
        "backend": embedder.backend,
        "export": embedder.export,
    }
