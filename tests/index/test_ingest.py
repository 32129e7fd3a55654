"""Incremental ingest against a real Chroma store and the real embedder."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from filelock import FileLock

from assistant.service import BriefingService
from assistant.settings import Settings
from index.errors import CorpusNotFound, EmbeddingMismatch, EmptyCorpus, IndexLocked, IndexMissing
from index.lexical import LexicalIndex, database_path, lexical_folder
from index.store import ChunkStore
from tests.conftest import PROJECT


def snapshot(settings: Settings) -> dict[str, tuple]:
    """Everything an index holds about its chunks and articles, for comparing two indexes."""
    service = BriefingService(settings)
    store = service.store
    chunks = {c.id: (c.doc, c.start, c.end, c.text, c.date, c.title) for c in store.iter_chunks()}
    articles = {r.doc: (r.content_hash, r.chunks, r.title, r.date) for r in store.article_records().values()}
    return {"chunks": tuple(sorted(chunks.items())), "articles": tuple(sorted(articles.items()))}


def test_ingest_is_idempotent_and_incremental(make_settings, corpus_dir: Path) -> None:  # type: ignore[no-untyped-def]
    service = BriefingService(make_settings())
    first = service.ingest([corpus_dir])
    assert (first.added, first.updated, first.unchanged, first.removed) == (1, 0, 0, 0)
    assert first.chunks > 0
    before = snapshot(service.settings)

    second = service.ingest([corpus_dir])
    assert (second.added, second.updated, second.unchanged, second.chunks) == (0, 0, 1, 0)
    assert snapshot(service.settings) == before

    (corpus_dir / "new.txt").write_text("date 2024-02-02\nHarbour reopens\nThe harbour reopened after 3 weeks.")
    third = service.ingest([corpus_dir])
    assert (third.added, third.unchanged) == (1, 1)


def test_changed_article_replaces_all_its_old_chunks(make_settings, corpus_dir: Path) -> None:  # type: ignore[no-untyped-def]
    service = BriefingService(make_settings())
    path = corpus_dir / "memo.txt"
    path.write_text("Memo\n" + "The old plan involved the northern bridge. " * 40)
    service.ingest([corpus_dir])
    path.write_text("Memo\nThe new plan is a ferry that runs twice a day.")
    report = service.ingest([corpus_dir])
    assert report.updated == 1
    memo_chunks = [c for c in service.store.iter_chunks() if c.doc == "memo.txt"]
    assert len(memo_chunks) == 1 and "ferry" in memo_chunks[0].text
    answer = service.ask("What is the new plan?")
    assert all("northern bridge" not in p.chunk.text for p in answer.passages)


def test_prune_removes_vanished_files_only_when_asked(make_settings, corpus_dir: Path) -> None:  # type: ignore[no-untyped-def]
    service = BriefingService(make_settings())
    extra = corpus_dir / "extra.md"
    extra.write_text("# Extra\nA short note about the harbour.")
    service.ingest([corpus_dir])
    extra.unlink()
    kept = service.ingest([corpus_dir])
    assert kept.removed == 0 and "extra.md" in service.store.article_records()
    pruned = service.ingest([corpus_dir], prune=True)
    assert pruned.removed == 1
    assert "extra.md" not in service.store.article_records()
    assert all(chunk.doc != "extra.md" for chunk in service.store.iter_chunks())


def test_bad_files_are_skipped_and_reported_while_good_ones_index(make_settings, corpus_dir: Path) -> None:  # type: ignore[no-untyped-def]
    (corpus_dir / "empty.txt").write_text("")
    (corpus_dir / "image.txt").write_bytes(b"\x00\x01\x02binary" * 50)
    (corpus_dir / "latin.txt").write_bytes("R\xe9sum\xe9 of the talks in Paris.".encode("latin-1"))
    report = BriefingService(make_settings()).ingest([corpus_dir])
    assert report.added == 2
    assert sorted(Path(item.source).name for item in report.skipped) == ["empty.txt", "image.txt"]
    assert [Path(source).name for source in report.lossy] == ["latin.txt"]


def test_empty_or_missing_corpus_is_an_error_and_keeps_the_index(
    make_settings, corpus_dir: Path, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    service = BriefingService(make_settings())
    service.ingest([corpus_dir])
    before = snapshot(service.settings)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(EmptyCorpus):
        service.ingest([empty], prune=True)
    with pytest.raises(CorpusNotFound):
        service.ingest([tmp_path / "missing"], prune=True)
    assert snapshot(service.settings) == before


def test_a_second_ingest_is_refused_while_one_holds_the_lock(make_settings, corpus_dir: Path) -> None:  # type: ignore[no-untyped-def]
    settings = make_settings()
    settings.index.mkdir(parents=True)
    with FileLock(str(settings.index / "ingest.lock")), pytest.raises(IndexLocked, match="Another ingest"):
        BriefingService(settings).ingest([corpus_dir])


def test_asking_without_an_index_says_how_to_build_one(make_settings) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(IndexMissing, match="run `briefings ingest` first"):
        BriefingService(make_settings()).ask("How long was the call?")


def test_querying_with_another_embedding_model_is_refused(make_settings, corpus_dir: Path) -> None:  # type: ignore[no-untyped-def]
    settings = make_settings()
    BriefingService(settings).ingest([corpus_dir])

    class OtherModel:
        identity = "some/other-model"
        dimension = 768

    with pytest.raises(EmbeddingMismatch, match="--rebuild"):
        ChunkStore.open(settings.location, OtherModel())  # type: ignore[arg-type]


def write_synthetic_corpus(folder: Path, count: int) -> None:
    folder.mkdir()
    for i in range(count):
        body = " ".join(f"Report {i} sentence {j} describes convoy {i * 7 + j} crossing bridge {j}." for j in range(18))
        (folder / f"article_{i:04d}.txt").write_text(f"date 2024-01-{1 + i % 28:02d}\nReport {i}\n{body}\n")


def written_articles(settings: Settings) -> int:
    """Articles whose chunks are complete, read straight from Chroma's SQLite file (0 while it is busy)."""
    import sqlite3

    try:
        with sqlite3.connect(f"file:{settings.index / 'chroma.sqlite3'}?mode=ro", uri=True, timeout=0.1) as db:
            rows = db.execute(
                "SELECT count(*) FROM embedding_metadata WHERE key = 'content_hash' AND string_value != 'pending'"
            ).fetchone()
    except sqlite3.Error:
        return 0
    return int(rows[0])


def kill_when(process: subprocess.Popen[bytes], ready: Callable[[], bool], limit: float = 300.0) -> bool:
    """SIGKILL ``process`` as soon as ``ready()``; False if it finished first."""
    deadline = time.monotonic() + limit
    while process.poll() is None and time.monotonic() < deadline:
        if ready():
            process.send_signal(signal.SIGKILL)
            process.wait()
            return True
        time.sleep(0.05)
    process.wait()
    return False


@pytest.mark.slow
def test_killed_ingest_is_repaired_by_the_next_run(tmp_path: Path, model_cache: Path) -> None:
    """Kill -9 an ingest while embedding and again mid-write, re-run, and compare with a clean build."""
    corpus = tmp_path / "corpus"
    write_synthetic_corpus(corpus, 260)
    crashed = Settings(index=tmp_path / "crashed", model_cache=model_cache)
    clean = Settings(index=tmp_path / "clean", model_cache=model_cache)
    env = {**os.environ, "BRIEFINGS_INDEX": str(crashed.index), "BRIEFINGS_MODEL_CACHE": str(model_cache)}
    command = [sys.executable, "-m", "assistant.adapters.cli", "ingest", str(corpus)]

    def start() -> subprocess.Popen[bytes]:
        return subprocess.Popen(command, env=env, cwd=PROJECT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    started = time.monotonic()
    assert kill_when(start(), lambda: time.monotonic() - started > 3.0), "ingest ended before the first kill"
    assert kill_when(start(), lambda: written_articles(crashed) > 0), "ingest ended before writing anything"
    partly = written_articles(crashed)
    assert 0 < partly < 260, f"the kill did not land mid-write ({partly} of 260 articles complete)"

    finished = subprocess.run(command, env=env, cwd=PROJECT, capture_output=True, text=True, timeout=600)
    assert finished.returncode == 0, finished.stderr
    BriefingService(clean).ingest([corpus])
    assert snapshot(crashed) == snapshot(clean)


def test_a_run_killed_before_moving_the_generation_is_finished_by_the_next(
    make_settings, corpus_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    """Killed after its last write but before the generation moved, a run leaves the lexical index looking
    current while the chunks changed; the next run, with nothing left to write, must still move the generation."""
    settings = make_settings()
    BriefingService(settings).ingest([corpus_dir])
    (corpus_dir / "late.txt").write_text("Late notice\nThe ferry to Kelby now leaves at dawn.\n")

    def killed(self: ChunkStore) -> str:
        raise KeyboardInterrupt("killed")

    with monkeypatch.context() as patch:
        patch.setattr(ChunkStore, "bump_generation", killed)
        with pytest.raises(KeyboardInterrupt):
            BriefingService(settings).ingest([corpus_dir])
    report = BriefingService(settings).ingest([corpus_dir])
    assert not report.changed
    store = BriefingService(settings).store
    saved = LexicalIndex(database_path(lexical_folder(settings.index)))
    assert saved.generation == store.generation
    assert {chunk.id for chunk in saved.all_chunks()} == {chunk.id for chunk in store.iter_chunks()}
