"""One contract for both stores: embedded Chroma on disk and a real ``chroma run`` server.

Every test runs twice with the same assertions, so the server mode can never drift from the embedded one.
In server mode each service keeps its own local folder (lexical index, ONNX model) and shares only the
server, as replicas do; in embedded mode the store is the folder, so "replicas" share it.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

import assistant.retrieve.hybrid
import index.chroma_client
from assistant.measure.chroma_server import chroma_server
from assistant.service import BriefingService
from assistant.settings import Settings
from assistant.text.tokens import terms
from index.errors import IndexMissing, StoreUnavailable
from index.lexical import lexical_folder
from index.store import ARTICLES, CHUNKS, ChunkStore, StoreLocation, _connect
from tests.conftest import SEED_DOC, seed_text

CARD_QUESTION = "How long was the call?"
HARBOUR = "date 2024-02-02\nHarbour reopens\nThe Zanzibar harbour reopened after 3 weeks of repairs to the quay.\n"


@dataclass(frozen=True)
class Backend:
    """Where the services of one test keep their index."""

    kind: str
    chroma_url: str | None
    folder: Path
    model_cache: Path

    def settings(self, replica: str = "a") -> Settings:
        index = self.folder / ("index" if self.chroma_url is None else f"replica-{replica}")
        return Settings(index=index, chroma_url=self.chroma_url, model_cache=self.model_cache)

    def service(self, replica: str = "a") -> BriefingService:
        return BriefingService(self.settings(replica))


@pytest.fixture(scope="module")
def chroma_url() -> Iterator[str]:
    """One real ``chroma run`` on a free loopback port for the module; killed at teardown."""
    with chroma_server() as url:
        yield url


@pytest.fixture(params=["embedded", "server"])
def backend(request: pytest.FixtureRequest, tmp_path: Path, model_cache: Path) -> Backend:
    url = request.getfixturevalue("chroma_url") if request.param == "server" else None
    if url is not None:
        ChunkStore.drop(StoreLocation(tmp_path, url))  # the server is shared by the module: start empty
    return Backend(request.param, url, tmp_path, model_cache)


@pytest.fixture
def fast_generation_checks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Replicas look for other writers' changes on every question instead of every two seconds."""
    monkeypatch.setattr(assistant.retrieve.hybrid, "GENERATION_CHECK_SECONDS", 0.0)


def test_ingest_then_ask_cites_the_exact_sentence(backend: Backend, corpus_dir: Path) -> None:
    service = backend.service()
    report = service.ingest([corpus_dir])
    assert (report.added, report.updated, report.unchanged, report.removed) == (1, 0, 0, 0)
    assert report.chunks > 0

    answer = service.ask(CARD_QUESTION)
    first = answer.citations[0]
    assert first.doc == SEED_DOC
    assert seed_text()[first.start : first.end] == first.quote
    assert service.stats().articles == 1 and service.stats().chunks == report.chunks


def test_unchanged_is_skipped_and_changed_is_replaced(backend: Backend, corpus_dir: Path) -> None:
    service = backend.service()
    memo = corpus_dir / "memo.txt"
    memo.write_text("Memo\n" + "The old plan involved the northern bridge. " * 40)
    service.ingest([corpus_dir])
    before = {chunk.id: chunk.text for chunk in service.store.iter_chunks()}

    again = service.ingest([corpus_dir])
    assert (again.added, again.updated, again.unchanged, again.chunks) == (0, 0, 2, 0)
    assert {chunk.id: chunk.text for chunk in service.store.iter_chunks()} == before

    memo.write_text("Memo\nThe new plan is a ferry that runs twice a day.")
    changed = service.ingest([corpus_dir])
    assert (changed.updated, changed.unchanged) == (1, 1)
    memo_chunks = [chunk for chunk in service.store.iter_chunks() if chunk.doc == "memo.txt"]
    assert len(memo_chunks) == 1 and "ferry" in memo_chunks[0].text
    assert all("northern bridge" not in passage.chunk.text for passage in service.ask("What is the new plan?").passages)


def test_prune_drops_vanished_articles(backend: Backend, corpus_dir: Path) -> None:
    service = backend.service()
    extra = corpus_dir / "harbour.txt"
    extra.write_text(HARBOUR)
    service.ingest([corpus_dir])
    extra.unlink()
    assert service.ingest([corpus_dir]).removed == 0
    assert "harbour.txt" in service.store.article_records()

    pruned = service.ingest([corpus_dir], prune=True)
    assert pruned.removed == 1
    assert set(service.store.article_records()) == {SEED_DOC}
    assert all(chunk.doc != "harbour.txt" for chunk in service.store.iter_chunks())
    assert all(p.chunk.doc != "harbour.txt" for p in service.ask("When did the Zanzibar harbour reopen?").passages)


@pytest.mark.usefixtures("fast_generation_checks")
def test_a_replica_sees_what_another_one_ingested(backend: Backend, corpus_dir: Path) -> None:
    writer, reader = backend.service("a"), backend.service("b")
    writer.ingest([corpus_dir])
    assert reader.ask(CARD_QUESTION).citations[0].doc == SEED_DOC  # the reader has built its lexical index

    (corpus_dir / "harbour.txt").write_text(HARBOUR)
    writer.ingest([corpus_dir])
    answer = reader.ask("How long was the Zanzibar harbour closed?")
    assert answer.citations[0].doc == "harbour.txt"
    lexical = reader.retriever.lexical
    assert lexical.generation == writer.store.generation
    assert [hit.chunk.doc for hit in lexical.search("Zanzibar quay", 3)] == ["harbour.txt"]


@pytest.mark.usefixtures("fast_generation_checks")
def test_a_running_replica_stops_citing_what_another_one_removed(backend: Backend, corpus_dir: Path) -> None:
    (corpus_dir / "harbour.txt").write_text(HARBOUR)
    writer, reader = backend.service("a"), backend.service("b")
    writer.ingest([corpus_dir])
    question = "How long was the Zanzibar harbour closed?"
    assert reader.ask(question).citations[0].doc == "harbour.txt"

    removed = writer.remove(["harbour.txt"])
    assert [gone.doc for gone in removed] == ["harbour.txt"]
    answer = reader.ask(question)
    assert all(p.chunk.doc != "harbour.txt" for p in answer.passages)
    assert all(c.doc != "harbour.txt" for c in answer.citations)
    assert reader.ask(CARD_QUESTION).citations[0].doc == SEED_DOC  # the rest answers as before
    assert reader.retriever.lexical.generation == writer.store.generation


@pytest.mark.usefixtures("fast_generation_checks")
def test_a_running_replica_follows_an_index_rebuilt_elsewhere(backend: Backend, corpus_dir: Path) -> None:
    writer, reader = backend.service("a"), backend.service("b")
    writer.ingest([corpus_dir])
    assert reader.ask(CARD_QUESTION).citations[0].doc == SEED_DOC

    (corpus_dir / "harbour.txt").write_text(HARBOUR)
    backend.service("a").ingest([corpus_dir], rebuild=True)
    assert reader.ask(CARD_QUESTION).citations[0].doc == SEED_DOC
    assert reader.ask("How long was the Zanzibar harbour closed?").citations[0].doc == "harbour.txt"
    assert reader.stats().articles == 2
    assert reader.retriever.lexical.generation == writer.store.generation
    location = writer.settings.location
    assert {collection.name for collection in _connect(location).list_collections()} == {CHUNKS, ARTICLES}


@pytest.mark.usefixtures("fast_generation_checks")
def test_a_running_replica_follows_an_index_dropped_and_built_anew(backend: Backend, corpus_dir: Path) -> None:
    writer, reader = backend.service("a"), backend.service("b")
    writer.ingest([corpus_dir])
    assert reader.ask(CARD_QUESTION).citations[0].doc == SEED_DOC

    ChunkStore.drop(writer.settings.location)
    (corpus_dir / "harbour.txt").write_text(HARBOUR)
    backend.service("a").ingest([corpus_dir])
    assert reader.ask("How long was the Zanzibar harbour closed?").citations[0].doc == "harbour.txt"
    assert reader.stats().articles == 2


@pytest.mark.usefixtures("fast_generation_checks")
def test_a_replica_cites_the_new_text_of_an_article_another_one_changed(backend: Backend, corpus_dir: Path) -> None:
    memo = corpus_dir / "memo.txt"
    memo.write_text("Memo\nThe Quetzal project budget is 40 million dollars.\n")
    writer, reader = backend.service("a"), backend.service("b")
    writer.ingest([corpus_dir])
    assert "40 million" in reader.ask("What is the Quetzal project budget?").answer

    memo.write_text("Memo\nA preface that moves every offset.\nThe Quetzal project budget is 55 million dollars.\n")
    writer.ingest([corpus_dir])
    answer = reader.ask("What is the Quetzal project budget?")
    assert "55 million" in answer.answer
    assert all(memo.read_text()[c.start : c.end] == c.quote for c in answer.citations if c.doc == "memo.txt")


def test_a_lexical_index_built_from_the_store_holds_every_chunk_and_article(
    backend: Backend, corpus_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A new replica (or a new format) copies the store in pages; every page must arrive, texts included."""
    for number in range(4):
        (corpus_dir / f"note-{number}.txt").write_text(f"Note {number}\nThe Orlen depot counted {number} crates.\n")
    backend.service("a").ingest([corpus_dir])
    monkeypatch.setattr(index.chroma_client, "PAGE_SIZE", 2)  # several pages even for this small corpus
    reader = backend.service("b")
    shutil.rmtree(lexical_folder(reader.settings.index), ignore_errors=True)  # built anew from the store
    store, lexical = reader.store, reader.retriever.lexical
    assert {chunk.id for chunk in lexical.all_chunks()} == {chunk.id for chunk in store.iter_chunks()}
    docs = store.article_records()
    assert len(docs) >= 5
    for doc in docs:
        held = lexical.article(doc)
        assert held is not None and held[0] == store.article_text(doc)
    for chunk in lexical.all_chunks():  # the answer step reads these instead of tokenising each sentence
        assert chunk.sentences is not None and chunk.sentence_terms is not None
        stored = chunk.sentence_terms.split("\n")
        spans = chunk.sentences.spans.tolist()
        assert stored == [" ".join(terms(chunk.text[start:end])) for start, end in spans] and len(spans) > 0


def test_asking_before_any_ingest_says_how_to_build_the_index(backend: Backend) -> None:
    with pytest.raises(IndexMissing, match="run `briefings ingest` first"):
        backend.service().ask(CARD_QUESTION)


def test_a_server_that_stops_answering_is_reported_as_unavailable(
    tmp_path: Path, model_cache: Path, corpus_dir: Path
) -> None:
    with chroma_server() as url:
        service = BriefingService(Settings(index=tmp_path / "replica", chroma_url=url, model_cache=model_cache))
        service.ingest([corpus_dir])
        service.warm_up()
    time.sleep(0.1)
    with pytest.raises(StoreUnavailable, match="does not answer"):
        service.ask("What did the Elysée say?")
