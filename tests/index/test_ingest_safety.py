"""What ingest must never destroy: a mistyped path with --rebuild, a narrow --prune, concurrent uploads."""

from __future__ import annotations

import dataclasses
import multiprocessing
import time
from pathlib import Path

import pytest

from assistant.errors import IndexLocked
from assistant.service import BriefingService
from assistant.settings import Settings
from index.articles import Article, SourceFile, load_article
from index.errors import CorpusNotFound, EmptyCorpus
from index.ingest import ingest
from index.lexical import LexicalIndex, database_path, lexical_folder
from index.store import ChunkStore
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


# ------------------------------------------------------------------------------------- lexical index
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
    saved = LexicalIndex(database_path(lexical_folder(settings.index)))
    assert saved.generation == store.generation, "the lexical index is not synced with the store's generation"
    assert {chunk.id for chunk in saved.all_chunks()} == {chunk.id for chunk in store.iter_chunks()}
    assert len(store.article_records()) == 2 + 12
