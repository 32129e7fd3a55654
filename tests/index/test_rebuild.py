"""``ingest --rebuild`` writes beside the live index and swaps it in whole: a failure or a kill at any point
leaves an index that opens and answers, and a damaged embedded database is moved aside instead of blocking it."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest
from chromadb.api.client import SharedSystemClient

import assistant.retrieve.hybrid
import index.ingest
import index.store
import index.store_staging
from assistant.service import BriefingService
from assistant.settings import Settings
from index.embedding import Embedder, Encoded
from index.errors import IndexDamaged
from index.store import LIVE, RETIRING, STAGED, ChunkStore, StoreLocation
from tests.conftest import run_cli

Rows = frozenset[tuple[str, str, int, int, str]]
OLD_QUESTION = "What does the harbour report describe?"
NEW_QUESTION = "What does the glacier report describe?"


def write_articles(folder: Path, topics: list[str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for number, topic in enumerate(topics):
        sentences = " ".join(f"The {topic} report describes {topic} work in district {n}." for n in range(12))
        (folder / f"{topic}.txt").write_text(f"date 2024-03-0{number % 9 + 1}\n{topic.title()} report\n{sentences}\n")
    return folder


def chunk_rows(settings: Settings) -> Rows:
    store = BriefingService(settings).store
    return frozenset((c.id, c.doc, c.start, c.end, c.text) for c in store.iter_chunks())


def collection_names(location: StoreLocation) -> set[str]:
    return {collection.name for collection in index.store._connect(location).list_collections()}


def cited_docs(settings: Settings, question: str) -> set[str]:
    return {citation.doc for citation in BriefingService(settings).ask(question).citations}


class FailsAfter(Embedder):
    """The real embedder, until it has embedded ``texts`` texts; then every batch fails."""

    def __init__(self, real: Embedder, texts: int) -> None:
        super().__init__()
        self._real, self._left = real, texts
        self.identity, self.dimension, self.backend = real.identity, real.dimension, real.backend

    def _encode(self, texts: list[str]) -> np.ndarray:
        return self._real._encode(texts)

    def _encode_tokens(self, texts: list[str]) -> Encoded:
        self._left -= len(texts)
        if self._left < 0:
            raise RuntimeError("the embedder stopped")
        return self._real._encode_tokens(texts)


@pytest.fixture
def old_and_new(tmp_path: Path) -> tuple[Path, Path]:
    old = write_articles(tmp_path / "old", ["harbour", "bridge", "ferry"])
    new = write_articles(tmp_path / "new", ["glacier", "railway", "orchard", "tunnel"])
    return old, new


@pytest.fixture
def small_write_groups(monkeypatch: pytest.MonkeyPatch) -> None:
    """Several write groups from a few articles, so a failure can land after some staging writes."""
    monkeypatch.setattr(index.ingest, "GROUP_CHUNKS", 4)


@pytest.mark.usefixtures("small_write_groups")
def test_a_rebuild_that_fails_midway_leaves_the_live_index_as_it_was(make_settings, old_and_new) -> None:  # type: ignore[no-untyped-def]
    settings = make_settings(chunk_size=200)
    old, new = old_and_new
    service = BriefingService(settings)
    service.ingest([old])
    before = chunk_rows(settings)
    failing = FailsAfter(service.embedder, texts=10)
    with pytest.raises(RuntimeError, match="embedder stopped"):
        index.ingest.ingest([new], settings.location, failing, settings.chunking, rebuild=True)

    assert {STAGED.chunks, STAGED.articles} <= collection_names(settings.location)  # it did write some
    assert chunk_rows(settings) == before
    assert cited_docs(settings, OLD_QUESTION) == {"harbour.txt"}
    assert BriefingService(settings).ingest([old]).unchanged == 3  # the leftover is harmless to an ingest

    BriefingService(settings).ingest([new], rebuild=True)  # and the next rebuild replaces it
    assert {row[1] for row in chunk_rows(settings)} == {"glacier.txt", "railway.txt", "orchard.txt", "tunnel.txt"}
    assert collection_names(settings.location) == {LIVE.chunks, LIVE.articles}


class Killed(BaseException):
    """What a SIGKILL looks like from inside the process, for code that must not catch it."""


LEFT_BY_A_KILL = {  # the step a kill came before -> the collections it leaves
    f"rename to {RETIRING.articles}": {*LIVE, *STAGED},  # just after the commit mark
    f"rename to {LIVE.articles}": {LIVE.chunks, RETIRING.articles, *STAGED},  # no live articles
    f"rename to {RETIRING.chunks}": {*LIVE, RETIRING.articles, STAGED.chunks},  # new articles, old chunks
    f"rename to {LIVE.chunks}": {LIVE.articles, *RETIRING, STAGED.chunks},  # no live chunks
    f"delete {RETIRING.chunks}": {*LIVE, *RETIRING},  # swapped, the old pair still there
}


@pytest.mark.parametrize("killed_before", list(LEFT_BY_A_KILL))
@pytest.mark.parametrize("next_opener", ["reader", "writer"])
def test_a_kill_during_the_swap_is_finished_by_whoever_opens_the_index_next(
    make_settings, old_and_new, monkeypatch: pytest.MonkeyPatch, killed_before: str, next_opener: str
) -> None:  # type: ignore[no-untyped-def]
    settings = make_settings()
    old, new = old_and_new
    BriefingService(settings).ingest([old])
    clean = make_settings(index=settings.index.parent / "clean")
    BriefingService(clean).ingest([new])
    rename, delete = index.store_staging._rename, index.store_staging.delete_collection

    def renamed(collection, name: str) -> None:  # type: ignore[no-untyped-def]
        if killed_before == f"rename to {name}":
            raise Killed
        rename(collection, name)

    def deleted(client, name: str) -> None:  # type: ignore[no-untyped-def]
        if killed_before == f"delete {name}":
            raise Killed
        delete(client, name)

    with monkeypatch.context() as patch:
        patch.setattr(index.store_staging, "_rename", renamed)
        patch.setattr(index.store_staging, "delete_collection", deleted)
        with pytest.raises(Killed):
            BriefingService(settings).ingest([new], rebuild=True)
    assert collection_names(settings.location) == LEFT_BY_A_KILL[killed_before]

    if next_opener == "reader":
        assert cited_docs(settings, NEW_QUESTION) == {"glacier.txt"}
    else:
        assert BriefingService(settings).ingest([new]).unchanged == 4
    assert chunk_rows(settings) == chunk_rows(clean)
    assert collection_names(settings.location) == {LIVE.chunks, LIVE.articles}
    assert cited_docs(settings, OLD_QUESTION) <= {"glacier.txt", "railway.txt", "orchard.txt", "tunnel.txt"}


def test_a_running_reader_follows_a_rebuild_with_another_chunk_size(
    make_settings, old_and_new, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(assistant.retrieve.hybrid, "GENERATION_CHECK_SECONDS", 0.0)
    old, _ = old_and_new
    settings = make_settings(chunk_size=1000)
    BriefingService(settings).ingest([old])
    reader = BriefingService(settings)
    assert {c.doc for c in reader.ask(OLD_QUESTION).citations} == {"harbour.txt"}
    before, rows_before = reader.retriever.lexical.generation, chunk_rows(settings)

    smaller = make_settings(chunk_size=200, chunk_overlap=40)
    report = BriefingService(smaller).ingest([old], rebuild=True)
    assert (report.added, report.unchanged) == (3, 0)
    clean = make_settings(index=settings.index.parent / "clean", chunk_size=200, chunk_overlap=40)
    BriefingService(clean).ingest([old])
    assert chunk_rows(settings) == chunk_rows(clean) != rows_before

    assert {c.doc for c in reader.ask(OLD_QUESTION).citations} == {"harbour.txt"}
    lexical = reader.retriever.lexical
    assert lexical.generation != before and lexical.generation == reader.store.generation
    assert {(c.id, c.doc, c.start, c.end, c.text) for c in lexical.all_chunks()} == chunk_rows(clean)


def damage(settings: Settings) -> bytes:
    """Overwrite the database with bytes that are not SQLite, beside files that are not Chroma's."""
    garbage = b"this is not a database" * 100
    (settings.index / "chroma.sqlite3").write_bytes(garbage)
    (settings.index / "feedback.sqlite3").write_bytes(b"feedback")
    return garbage


def test_rebuilding_a_damaged_index_moves_its_files_aside_and_builds_anew(
    make_settings, old_and_new, caplog: pytest.LogCaptureFixture
) -> None:  # type: ignore[no-untyped-def]
    settings = make_settings()
    old, new = old_and_new
    BriefingService(settings).ingest([old])
    segments = {entry.name for entry in settings.index.iterdir() if entry.is_dir() and entry.name.count("-") == 4}
    assert segments
    garbage = damage(settings)
    SharedSystemClient.clear_system_cache()  # as a new process would, open the damaged file afresh
    with pytest.raises(IndexDamaged, match="rebuild"):
        BriefingService(settings).ingest([new])

    with caplog.at_level(logging.WARNING, logger="index.store"):
        BriefingService(settings).ingest([new], rebuild=True)

    assert cited_docs(settings, NEW_QUESTION) == {"glacier.txt"}
    [aside] = settings.index.glob("damaged-*")
    assert (aside / "chroma.sqlite3").read_bytes() == garbage
    assert segments <= {entry.name for entry in aside.iterdir()}
    assert (settings.index / "feedback.sqlite3").read_bytes() == b"feedback"
    assert (settings.index / "lexical").is_dir()
    [warning] = [record.getMessage() for record in caplog.records if record.levelno >= logging.WARNING]
    assert "cannot be opened" in warning and str(aside) in warning


def test_cli_rebuild_of_a_damaged_index_warns_in_one_line_and_succeeds(
    make_settings, old_and_new, model_cache: Path
) -> None:  # type: ignore[no-untyped-def]
    settings = make_settings()
    _, new = old_and_new
    settings.index.mkdir(parents=True)
    garbage = damage(settings)
    env = {"BRIEFINGS_INDEX": str(settings.index), "BRIEFINGS_MODEL_CACHE": str(model_cache)}
    result = run_cli("ingest", str(new), "--rebuild", env=env, timeout=300)
    assert result.returncode == 0, result.stderr
    [aside] = settings.index.glob("damaged-*")
    assert [line for line in result.stderr.splitlines() if "damaged-" in line] == [
        f"WARNING index.store: {settings.index} cannot be opened: moved its files to {aside} and building it anew"
    ]
    assert (aside / "chroma.sqlite3").read_bytes() == garbage
    assert "4 added" in result.stdout
    assert cited_docs(settings, NEW_QUESTION) == {"glacier.txt"}


def test_drop_removes_staging_and_retired_collections_too(make_settings, old_and_new) -> None:  # type: ignore[no-untyped-def]
    settings = make_settings()
    old, _ = old_and_new
    service = BriefingService(settings)
    service.ingest([old])
    ChunkStore.start_rebuild(settings.location, service.embedder)
    assert STAGED.chunks in collection_names(settings.location)
    ChunkStore.drop(settings.location)
    assert collection_names(settings.location) == set()
