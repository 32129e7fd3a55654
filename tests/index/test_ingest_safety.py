"""What ingest must never destroy: a mistyped path with --rebuild, a narrow --prune, concurrent lexical saves."""

from __future__ import annotations

import dataclasses
import multiprocessing
import os
import random
import signal
import time
from pathlib import Path
from typing import Any

import pytest

from assistant.errors import IndexLocked
from assistant.service import BriefingService
from assistant.settings import Settings
from index.articles import Article, SourceFile, load_article
from index.errors import CorpusNotFound, EmptyCorpus
from index.ingest import ingest
from index.lexical import LexicalIndex, lexical_folder, load_or_build
from index.store import ChunkStore, StoredChunk
from tests.conftest import run_cli
from tests.index.test_ingest import snapshot

SPAWN = multiprocessing.get_context("spawn")


def write_article(path: Path, topic: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        f"date 2024-03-0{len(topic) % 9 + 1}\n{topic.title()}\nThe {topic} report describes {topic} work.\n"
    )
    return path


def two_folders(root: Path) -> tuple[Path, Path]:
    first, second = root / "first", root / "second"
    for name in ("harbour", "bridge"):
        write_article(first / f"{name}.txt", name)
    for name in ("ferry", "railway"):
        write_article(second / f"{name}.txt", name)
    return first, second


def indexed_docs(settings: Settings) -> set[str]:
    return set(BriefingService(settings).store.article_records())


# ------------------------------------------------------------------------------------------- rebuild
def test_rebuild_with_a_mistyped_path_is_refused_and_keeps_the_index(make_settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    service = BriefingService(make_settings())
    first, second = two_folders(tmp_path)
    service.ingest([first, second])
    before = snapshot(service.settings)
    with pytest.raises(CorpusNotFound, match="not found"):
        service.ingest([tmp_path / "frist"], rebuild=True)
    with pytest.raises(CorpusNotFound):
        service.ingest([first, tmp_path / "frist"], rebuild=True)
    (tmp_path / "blank").mkdir()
    with pytest.raises(EmptyCorpus):
        service.ingest([tmp_path / "blank"], rebuild=True)
    assert snapshot(service.settings) == before
    assert indexed_docs(service.settings) == {"harbour.txt", "bridge.txt", "ferry.txt", "railway.txt"}


def test_rebuild_replaces_the_index_with_the_given_paths(make_settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    settings = make_settings()
    first, second = two_folders(tmp_path)
    ingest([first, second], settings.location, BriefingService(settings).embedder)
    report = BriefingService(settings).ingest([second], rebuild=True)
    assert (report.added, report.unchanged) == (2, 0)
    assert indexed_docs(settings) == {"ferry.txt", "railway.txt"}
    answer = BriefingService(settings).ask("What does the ferry report describe?")
    assert {passage.chunk.doc for passage in answer.passages} <= {"ferry.txt", "railway.txt"}


def test_cli_rebuild_with_a_mistyped_path_exits_with_one_line_and_keeps_the_index(
    tmp_path: Path, model_cache: Path
) -> None:
    settings = Settings(index=tmp_path / "index", model_cache=model_cache)
    first, second = two_folders(tmp_path)
    BriefingService(settings).ingest([first, second])
    before = snapshot(settings)
    env = {"BRIEFINGS_INDEX": str(settings.index), "BRIEFINGS_MODEL_CACHE": str(model_cache)}
    result = run_cli("ingest", str(tmp_path / "frist"), "--rebuild", env=env, timeout=300)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [f"error: Corpus path not found: {tmp_path / 'frist'}"]
    assert snapshot(settings) == before


# --------------------------------------------------------------------------------------------- prune
def test_prune_of_one_file_keeps_every_other_article(make_settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    service = BriefingService(make_settings())
    first, second = two_folders(tmp_path)
    service.ingest([first])
    service.ingest([second])
    report = service.ingest([first / "harbour.txt"], prune=True)
    assert report.removed == 0
    assert indexed_docs(service.settings) == {"harbour.txt", "bridge.txt", "ferry.txt", "railway.txt"}


def test_prune_of_a_folder_drops_only_its_vanished_files(make_settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    service = BriefingService(make_settings())
    first, second = two_folders(tmp_path)
    service.ingest([first, second])
    (first / "bridge.txt").unlink()
    (second / "railway.txt").unlink()  # gone too, but this prune is about the first folder only
    report = service.ingest([first], prune=True)
    assert report.removed == 1
    assert indexed_docs(service.settings) == {"harbour.txt", "ferry.txt", "railway.txt"}
    assert all(chunk.doc != "bridge.txt" for chunk in service.store.iter_chunks())
    assert service.ingest([second], prune=True).removed == 1
    assert indexed_docs(service.settings) == {"harbour.txt", "ferry.txt"}


def test_prune_keeps_uploads_that_still_exist(make_settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    settings = make_settings(corpus=tmp_path / "uploads")
    service = BriefingService(settings)
    first, _ = two_folders(tmp_path)
    service.ingest([first])
    service.add_document("memo.txt", b"Memo\nThe memo describes the ferry timetable.\n")
    (first / "bridge.txt").unlink()
    service.ingest([first], prune=True)
    assert indexed_docs(settings) == {"harbour.txt", "memo.txt"}


def test_prune_never_drops_articles_without_a_recorded_source(make_settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    service = BriefingService(make_settings())
    first, _ = two_folders(tmp_path)
    service.ingest([first])
    old = load_article(SourceFile(first / "bridge.txt", "bridge.txt"))
    assert isinstance(old, Article)
    record = service.store.article_records()["bridge.txt"]
    service.store.commit_articles([dataclasses.replace(old, source="")], [record.content_hash], [record.chunks])
    (first / "bridge.txt").unlink()
    assert service.ingest([first], prune=True).removed == 0
    assert indexed_docs(service.settings) == {"harbour.txt", "bridge.txt"}


def test_moved_unchanged_article_records_its_new_source(make_settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    service = BriefingService(make_settings())
    first, _ = two_folders(tmp_path)
    service.ingest([first])
    moved = tmp_path / "moved"
    first.rename(moved)
    report = service.ingest([moved], prune=True)
    assert (report.unchanged, report.removed) == (2, 0)
    sources = {doc: record.source for doc, record in service.store.article_records().items()}
    assert sources == {"harbour.txt": str(moved / "harbour.txt"), "bridge.txt": str(moved / "bridge.txt")}


# ------------------------------------------------------------------------------------- lexical files
def lexical_for(generation: str, size: int = 40) -> LexicalIndex:
    """A small index whose every chunk names its generation, so a mixed-up build is caught."""
    chunks = [
        StoredChunk(f"{generation}#{i}", f"doc{i}", "T", None, 0, 40, f"generation {generation} chunk {i} words")
        for i in range(size)
    ]
    return LexicalIndex.build(chunks, generation)


def assert_whole(index: LexicalIndex | None, generation: str) -> None:
    assert index is not None, f"build of {generation} unreadable"
    assert index.generation == generation
    assert len(index.chunks) == 40 and all(generation in chunk.text for chunk in index.chunks)


def save_repeatedly(folder: str, writer: int, count: int) -> None:
    for round_ in range(count):
        lexical_for(f"w{writer}r{round_}").save(Path(folder))


def save_forever(folder: str, prefix: str) -> None:
    round_ = 0
    while True:
        lexical_for(f"{prefix}-{round_}", size=400).save(Path(folder))
        round_ += 1


def test_concurrent_saves_in_two_processes_never_leave_an_unreadable_index(tmp_path: Path) -> None:
    folder = tmp_path / "lexical"
    lexical_for("start").save(folder)
    writers = [SPAWN.Process(target=save_repeatedly, args=(str(folder), n, 40)) for n in range(2)]
    for writer in writers:
        writer.start()
    reads = 0
    while any(writer.is_alive() for writer in writers) or reads == 0:
        generation = LexicalIndex.saved_generation(folder)
        assert generation is not None, "no build is current"
        loaded = LexicalIndex.load(folder, generation)
        if loaded is None:  # a newer build was published between the two reads
            assert LexicalIndex.saved_generation(folder) != generation
            continue
        assert_whole(loaded, generation)
        reads += 1
    assert [writer.exitcode for writer in writers] == [0, 0]
    final = LexicalIndex.saved_generation(folder)
    assert final is not None and final.endswith("r39")
    assert_whole(LexicalIndex.load(folder, final), final)
    builds = [entry for entry in folder.iterdir() if entry.is_dir()]
    assert len(builds) == 1, f"old builds left behind: {builds}"


def test_a_writer_killed_at_any_point_leaves_a_loadable_build(tmp_path: Path) -> None:
    folder = tmp_path / "lexical"
    lexical_for("start", size=400).save(folder)
    rng = random.Random(7)
    for trial in range(8):
        writer = SPAWN.Process(target=save_forever, args=(str(folder), f"t{trial}"))
        writer.start()
        while not str(LexicalIndex.saved_generation(folder)).startswith(f"t{trial}-"):
            time.sleep(0.01)  # started and saved once: from here on it is always inside some save
        time.sleep(rng.uniform(0.0, 0.3))
        assert writer.pid is not None
        os.kill(writer.pid, signal.SIGKILL)
        writer.join()
        generation = LexicalIndex.saved_generation(folder)
        assert generation is not None and generation.startswith(f"t{trial}-")
        loaded = LexicalIndex.load(folder, generation)
        assert loaded is not None and loaded.generation == generation and len(loaded.chunks) == 400
        assert all(generation in chunk.text for chunk in loaded.chunks)
    lexical_for("after").save(folder)  # and a later save still works over what the kills left
    assert_whole(LexicalIndex.load(folder, "after"), "after")


def save_once_for(folder: str, generation: str, start: Any, results: Any) -> None:
    from index.lexical import save_unless_current

    def slow_chunks() -> list[StoredChunk]:
        time.sleep(1.0)  # long enough that the other writer arrives while this one builds
        return list(lexical_for(generation).chunks)

    start.wait()
    results.put(save_unless_current(Path(folder), generation, slow_chunks))


def test_two_writers_finishing_one_generation_build_it_once(tmp_path: Path) -> None:
    folder = tmp_path / "lexical"
    start, results = SPAWN.Barrier(2), SPAWN.Queue()
    writers = [SPAWN.Process(target=save_once_for, args=(str(folder), "g7", start, results)) for _ in range(2)]
    for writer in writers:
        writer.start()
    built = sorted(results.get(timeout=60) for _ in writers)
    for writer in writers:
        writer.join()
    assert built == [False, True]
    assert_whole(LexicalIndex.load(folder, "g7"), "g7")


def upload_many(index: str, model_cache: str, corpus: str, writer: int, count: int) -> int:
    """Upload ``count`` briefings one after another, retrying while the other process holds the lock."""
    service = BriefingService(Settings(index=Path(index), model_cache=Path(model_cache), corpus=Path(corpus)))
    refused = 0
    for number in range(count):
        content = f"Notice {writer}-{number}\nCrew {writer} logged cargo lot {writer * 100 + number}.\n".encode()
        while True:
            try:
                service.add_document(f"notice_{writer}_{number}.txt", content)
                break
            except IndexLocked:
                refused += 1
                time.sleep(0.05)
    return refused


def test_concurrent_uploads_leave_the_lexical_index_matching_the_store(make_settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from chromadb.api.client import SharedSystemClient

    settings = make_settings(corpus=tmp_path / "uploads")
    first, _ = two_folders(tmp_path)
    embedder = BriefingService(settings).embedder
    ingest([first], settings.location, embedder)
    arguments = (str(settings.index), str(settings.model_cache), str(settings.corpus))
    with SPAWN.Pool(2) as pool:
        pool.starmap(upload_many, [(*arguments, n, 6) for n in range(2)])
    SharedSystemClient.clear_system_cache()  # read what the other processes wrote, not this one's cached view
    store = ChunkStore.open(settings.location, embedder)
    loaded = LexicalIndex.load(lexical_folder(settings.index), store.generation)
    assert loaded is not None, "the saved lexical index is not the store's current generation"
    assert {chunk.id for chunk in loaded.chunks} == {chunk.id for chunk in store.iter_chunks()}
    assert len(store.article_records()) == 2 + 12
    assert {chunk.id for chunk in load_or_build(store, lexical_folder(settings.index)).chunks} == {
        chunk.id for chunk in loaded.chunks
    }
