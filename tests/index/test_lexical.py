"""The lexical index: BM25 over SQLite FTS5, written article by article and synced with the store.

The store here is a small stand-in with what a sync reads (generation, model, article records, chunks), so
crashes can be placed exactly; ingest, rebuild and the kill tests run the real thing against Chroma.
"""

from __future__ import annotations

import logging
import math
import multiprocessing
import os
import random
import signal
import sqlite3
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import closing
from pathlib import Path

import pytest
from filelock import FileLock

from index.lexical import LexicalIndex, database_path
from index.lexical_sync import WRITE_LOCK, LexicalWriter, doc_state
from index.store import PENDING, ArticleRecord, StoredChunk

SPAWN = multiprocessing.get_context("spawn")


def chunk(doc: str, number: int, text: str, date: str | None = None) -> StoredChunk:
    return StoredChunk(f"{doc}#{number}", doc, doc.title(), date, 100 * number, 100 * number + len(text), text)


class FakeStore:
    """What a sync reads from :class:`index.store.ChunkStore`; every change moves the generation."""

    def __init__(self) -> None:
        self.generation = "g0"
        self.embedding_model = "model-a"
        self.articles: dict[str, tuple[str, list[StoredChunk]]] = {}
        self.requested: list[Sequence[str] | None] = []

    def put(self, doc: str, content_hash: str, *texts: str, date: str | None = None) -> None:
        self.articles[doc] = (content_hash, [chunk(doc, n, text, date) for n, text in enumerate(texts)])
        self.generation = uuid.uuid4().hex

    def drop(self, doc: str) -> None:
        del self.articles[doc]
        self.generation = uuid.uuid4().hex

    def article_records(self) -> dict[str, ArticleRecord]:
        return {
            doc: ArticleRecord(doc, doc, None, content_hash, len(chunks), "")
            for doc, (content_hash, chunks) in self.articles.items()
        }

    def iter_article_texts(self, docs: Sequence[str] | None = None) -> Iterator[tuple[str, str]]:
        for doc, (_, chunks) in self.articles.items():
            if docs is None or doc in docs:
                yield doc, " ".join(chunk.text for chunk in chunks)

    def iter_chunks(self, docs: Sequence[str] | None = None) -> Iterator[StoredChunk]:
        self.requested.append(docs)
        for doc, (_, chunks) in self.articles.items():
            if docs is None or doc in docs:
                yield from chunks


def contents(folder: Path) -> tuple[object, ...]:
    """Everything the lexical index holds, for comparing it with a clean build."""
    with closing(sqlite3.connect(database_path(folder))) as db:
        chunks = sorted(db.execute('select id, doc, title, date, date_number, start, "end", text from chunks'))
        states = sorted(db.execute("select doc, state from docs"))
        [(indexed,)] = db.execute("select count(*) from chunk_terms")
        [(generation,)] = db.execute("select value from meta where key = 'generation'")
        articles = sorted(db.execute("select doc, text, pages from articles"))
    return chunks, states, indexed, generation, articles


def clean_build(store: FakeStore, folder: Path) -> tuple[object, ...]:
    LexicalWriter(folder).sync(store)  # type: ignore[arg-type]
    return contents(folder)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return tmp_path / "lexical"


def test_writes_replace_and_delete_whole_articles(folder: Path) -> None:
    writer = LexicalWriter(folder)
    writer.replace([chunk("a", 0, "The Kelby ferry sails at dawn."), chunk("a", 1, "Crews load grain.")], {"a": "h1"})
    writer.replace([chunk("b", 0, "The Ostrand bridge is closed.")], {"b": "h1"})
    index = LexicalIndex(database_path(folder))
    assert [hit.chunk.id for hit in index.search("Kelby ferry", 5)] == ["a#0"]
    assert index.count() == 3

    writer.replace([chunk("a", 0, "The Kelby quay reopens on Friday.")], {"a": "h2"})
    index.forget()
    assert index.search("ferry grain", 5) == []
    assert [hit.chunk.id for hit in index.search("quay", 5)] == ["a#0"]
    writer.delete(["b"])
    index.forget()
    assert [c.id for c in index.all_chunks()] == ["a#0"] and index.count() == 1
    assert index.search("Ostrand bridge", 5) == [] and not index.knows("Ostrand")
    chunks, states, indexed = contents_without_generation(folder)
    assert len(chunks) == indexed == 1 and states == [("a", "h2")]  # no full-text row left without its chunk


def test_article_texts_and_pages_are_kept_with_their_chunks(folder: Path) -> None:
    """Answering reads cited articles here; a replaced article's old text and a deleted one's must be gone."""
    writer = LexicalWriter(folder)
    writer.replace([chunk("a", 0, "The Kelby ferry sails.")], {"a": "h1"}, {"a": ("The Kelby ferry sails.", ())})
    writer.replace([chunk("b", 0, "Page one.")], {"b": "h1"}, {"b": ("Page one. Page two.", (0, 10))})
    index = LexicalIndex(database_path(folder))
    assert index.article("a") == ("The Kelby ferry sails.", ())
    assert index.article("b") == ("Page one. Page two.", (0, 10))
    assert index.article("missing") is None

    writer.replace([chunk("a", 0, "The Kelby quay reopens.")], {"a": "h2"}, {"a": ("The Kelby quay reopens.", ())})
    assert index.article("a") == ("The Kelby quay reopens.", ())
    writer.replace([chunk("a", 0, "No text given this time.")], {"a": "h3"})
    assert index.article("a") is None  # an outdated text is dropped, not kept beside new chunks
    writer.delete(["b"])
    assert index.article("b") is None


def contents_without_generation(folder: Path) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]], int]:
    with closing(sqlite3.connect(database_path(folder))) as db:
        chunks = sorted(db.execute("select id from chunks"))
        states = sorted(db.execute("select doc, state from docs"))
        [(indexed,)] = db.execute("select count(*) from chunk_terms")
    return chunks, states, indexed


def test_scores_are_positive_and_higher_for_the_better_match(folder: Path) -> None:
    texts = [
        "The Kelby ferry left. The Kelby ferry returned to Kelby.",
        "A ferry crossed the strait near the island.",
        "Grain prices rose at the market.",
        "The Kelby council met.",
    ]
    LexicalWriter(folder).replace([chunk(f"d{n}", 0, text) for n, text in enumerate(texts)], {})
    hits = LexicalIndex(database_path(folder)).search("Kelby ferry", 10)
    assert [hit.chunk.doc for hit in hits] == ["d0", "d3", "d1"]
    scores = [hit.score for hit in hits]
    assert all(score > 0 for score in scores) and scores == sorted(scores, reverse=True)
    assert LexicalIndex(database_path(folder)).search("Kelby", 1)[0].chunk.doc == "d0"
    assert LexicalIndex(database_path(folder)).search("the of", 5) == []  # stop words only: no terms


def test_date_bounds_leave_out_other_dates_and_undated_chunks(folder: Path) -> None:
    chunks = [
        chunk("jan", 0, "Harbour notice one.", "2024-01-10"),
        chunk("mar", 0, "Harbour notice two.", "2024-03-05"),
        chunk("undated", 0, "Harbour notice three."),
    ]
    LexicalWriter(folder).replace(chunks, {})
    index = LexicalIndex(database_path(folder))

    def docs(since: str | None, until: str | None) -> set[str]:
        return {hit.chunk.doc for hit in index.search("harbour notice", 10, since, until)}

    assert docs(None, None) == {"jan", "mar", "undated"}
    assert docs("2024-02-01", None) == {"mar"}
    assert docs(None, "2024-02-01") == {"jan"}
    assert docs("2024-01-10", "2024-03-05") == {"jan", "mar"}
    assert docs("2024-04-01", None) == set()


def test_knows_idf_and_term_weights_come_from_the_stored_terms(folder: Path) -> None:
    texts = ["Ukraine talks resumed in Geneva.", "Talks about grain exports.", "Talks ended.", "A quiet day."]
    LexicalWriter(folder).replace([chunk(f"d{n}", 0, text) for n, text in enumerate(texts)], {})
    index = LexicalIndex(database_path(folder))
    assert index.knows("Ukrainian") and index.knows("Geneva") and index.knows("talking")
    assert index.knows("the")  # a stop word says nothing about the corpus
    assert not index.knows("Genoa") and not index.knows("quay") and not index.knows("Ukulele")
    assert index.idf("talk") == pytest.approx(math.log(1 + (4 - 3 + 0.5) / (3 + 0.5)))
    assert index.idf("unheard") == pytest.approx(math.log(1 + (4 + 0.5) / 0.5))
    assert index.idf("geneva") > index.idf("talk")
    weights = index.term_weights("Why did the Geneva talks end?")
    assert set(weights) == {"geneva", "talk", "end"} and all(weight > 0 for weight in weights.values())


def write_article(folder: str, doc: str, text: str) -> None:
    LexicalWriter(Path(folder)).replace([chunk(doc, 0, text)], {doc: "h1"})


def test_a_reader_sees_what_another_process_committed_and_nothing_before(folder: Path) -> None:
    writer = LexicalWriter(folder)
    writer.replace([chunk("a", 0, "The Kelby ferry sails.")], {"a": "h1"})
    reader = LexicalIndex(database_path(folder))
    assert reader.search("Dunhallow", 5) == []

    with closing(sqlite3.connect(database_path(folder), isolation_level=None)) as other:
        other.execute("begin immediate")
        other.execute("delete from chunks")  # uncommitted: readers go on seeing the rows, without waiting
        assert [hit.chunk.doc for hit in reader.search("Kelby", 5)] == ["a"]
        other.execute("rollback")

    process = SPAWN.Process(target=write_article, args=(str(folder), "b", "Dunhallow reservoir is full."))
    process.start()
    process.join(timeout=60)
    assert process.exitcode == 0
    assert [hit.chunk.doc for hit in reader.search("Dunhallow reservoir", 5)] == ["b"]
    assert set(reader.chunks_by_id(["a#0", "b#0", "c#0"])) == {"a#0", "b#0"}


def test_sync_copies_only_the_articles_that_changed(folder: Path, tmp_path: Path) -> None:
    store = FakeStore()
    for doc in "abcdefgh":
        store.put(doc, "h1", f"Article {doc} about the {doc}-harbour.", f"More on {doc}.")
    writer = LexicalWriter(folder)
    assert writer.sync(store)  # type: ignore[arg-type]
    assert store.requested == [None]  # from nothing: every chunk, read in pages
    assert LexicalIndex(database_path(folder)).generation == store.generation

    store.put("a", "h2", "Article a rewritten about the Velmora grain convoy.")
    store.drop("c")
    store.put("z", "h1", "A new article on the Tarsen railway.")
    store.requested.clear()
    assert writer.sync(store)  # type: ignore[arg-type]
    assert store.requested == [["a", "z"]]
    assert contents(folder) == clean_build(store, tmp_path / "clean")
    index = LexicalIndex(database_path(folder))
    assert index.article("a") == ("Article a rewritten about the Velmora grain convoy.", ())  # texts follow too
    assert index.article("c") is None
    hits = index.search("Velmora Tarsen harbour", 20)
    assert {hit.chunk.doc for hit in hits} == {"a", "b", "d", "e", "f", "g", "h", "z"}

    store.requested.clear()
    assert writer.sync(store)  # type: ignore[arg-type]
    assert store.requested == []  # in line already: nothing read

    store.embedding_model = "model-b"  # rebuilt with another model: the sentence vectors differ
    store.generation = "g-rebuilt"
    assert writer.sync(store)  # type: ignore[arg-type]
    assert store.requested == [None]


def test_a_sync_repairs_what_a_crash_left_into_a_clean_build(folder: Path, tmp_path: Path) -> None:
    store = FakeStore()
    for doc in "abcdef":
        store.put(doc, "h1", f"Article {doc} on the {doc}-bridge.", f"Second part of {doc}.")
    writer = LexicalWriter(folder)
    writer.sync(store)  # type: ignore[arg-type]

    # killed between writing a group to Chroma and to the lexical index; an article left pending; one removed
    store.put("a", "h2", "Article a now on the Quillon turbine.")
    store.put("b", PENDING, "Article b half rewritten.")
    store.drop("f")

    class Killed(Exception):
        pass

    def dies_midway(docs: Sequence[str] | None = None) -> Iterator[StoredChunk]:
        yield from FakeStore.iter_chunks(store, docs)
        raise Killed  # a copy cut short: nothing it wrote may count as done

    store.iter_chunks = dies_midway  # type: ignore[method-assign]
    with pytest.raises(Killed):
        writer.sync(store)  # type: ignore[arg-type]
    reader = LexicalIndex(database_path(folder))
    assert reader.search("bridge", 10)  # still answers
    assert reader.generation != store.generation

    del store.iter_chunks
    assert writer.sync(store)  # type: ignore[arg-type]
    assert contents(folder) == clean_build(store, tmp_path / "clean")

    store.put("b", "h3", "Article b half rewritten.")  # the next ingest commits it: copied again, as committed
    writer.sync(store)  # type: ignore[arg-type]
    assert ("b", doc_state("h3", "model-a")) in contents(folder)[1]
    assert contents(folder) == clean_build(store, tmp_path / "clean-2")


def test_a_reader_does_not_wait_for_another_writers_sync(folder: Path) -> None:
    store = FakeStore()
    store.put("a", "h1", "Kelby ferry.")
    writer = LexicalWriter(folder)
    writer.sync(store)  # type: ignore[arg-type]
    store.put("b", "h1", "Ostrand bridge.")
    with FileLock(str(folder / WRITE_LOCK)):
        started = time.monotonic()
        assert writer.sync(store, wait=False) is False  # type: ignore[arg-type]
        assert time.monotonic() - started < 1.0
    assert writer.sync(store, wait=False)  # type: ignore[arg-type]
    assert LexicalIndex(database_path(folder)).generation == store.generation


def test_a_damaged_file_or_the_old_format_is_built_anew_from_the_store(
    folder: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = FakeStore()
    store.put("a", "h1", "Kelby ferry.")
    folder.mkdir()
    (folder / "CURRENT").write_text('{"build": "build-1", "generation": "old"}')  # the format before SQLite
    (folder / "build-1").mkdir()
    LexicalWriter(folder).sync(store)  # type: ignore[arg-type]
    assert {entry.name for entry in folder.iterdir()} <= {
        "lexical.sqlite3",
        "lexical.sqlite3-wal",
        "lexical.sqlite3-shm",
        WRITE_LOCK,
    }

    database_path(folder).write_bytes(b"not a database" * 100)
    for suffix in ("-wal", "-shm"):
        database_path(folder).with_name(database_path(folder).name + suffix).unlink(missing_ok=True)
    with caplog.at_level(logging.WARNING, logger="index.lexical"):
        assert LexicalWriter(folder).sync(store)  # type: ignore[arg-type]
    assert "building it anew" in caplog.text
    assert contents(folder) == clean_build(store, tmp_path / "clean")


def replace_forever(folder: str) -> None:
    """Rewrite five articles over and over, every chunk of a round naming its round."""
    writer, round_ = LexicalWriter(Path(folder)), 0
    while True:
        docs = [f"d{n}" for n in range(5)]
        chunks = [chunk(doc, part, f"round r{round_} part {part} of {doc}") for doc in docs for part in range(20)]
        writer.replace(chunks, dict.fromkeys(docs, f"r{round_}"))
        round_ += 1


def test_a_writer_killed_at_any_point_leaves_whole_articles(folder: Path) -> None:
    LexicalWriter(folder).replace([], {})
    rng = random.Random(7)
    for _ in range(6):
        writer = SPAWN.Process(target=replace_forever, args=(str(folder),))
        writer.start()
        while not LexicalIndex(database_path(folder)).count():
            time.sleep(0.01)
        time.sleep(rng.uniform(0.0, 0.3))
        assert writer.pid is not None
        os.kill(writer.pid, signal.SIGKILL)
        writer.join()
        chunks, states, indexed = contents_without_generation(folder)
        assert len(chunks) == indexed == 100
        assert len({state for _, state in states}) == 1  # one transaction per write: never half of one
        index = LexicalIndex(database_path(folder))
        round_ = states[0][1]
        assert all(f"round {round_} " in c.text for c in index.all_chunks())
        assert len(index.search(f"{round_} part", 200)) == 100
