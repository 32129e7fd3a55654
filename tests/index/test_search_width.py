"""HNSW's search width grows with the collection, and every write leaves the width its size calls for."""

from __future__ import annotations

from pathlib import Path

import pytest

import index.chroma_client as chroma_client
from assistant.service import BriefingService
from index.chroma_client import HNSW, StoreLocation, connect, search_width
from index.store import CHUNKS


@pytest.mark.parametrize(
    ("count", "width"),
    [(0, 200), (31_000, 200), (100_000, 200), (100_001, 1000), (150_000, 1000), (500_000, 3500), (1_000_000, 7000)],
)
def test_the_width_is_ours_up_to_a_hundred_thousand_vectors_then_grows_in_steps(count: int, width: int) -> None:
    assert search_width(count) == width


def test_the_width_never_shrinks_below_ours_and_never_falls_as_the_collection_grows() -> None:
    widths = [search_width(count) for count in range(0, 2_000_001, 7_919)]
    assert min(widths) == HNSW["ef_search"]
    assert widths == sorted(widths)


def held_width(index: Path) -> int:
    """The width Chroma will load the chunks' index with, as its database holds it."""
    collection = connect(StoreLocation(index)).get_collection(CHUNKS, embedding_function=None)
    return int(collection.configuration_json["hnsw"]["ef_search"])


def test_an_ingest_that_grows_the_index_past_the_threshold_widens_its_search(
    make_settings, corpus_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    settings = make_settings()
    service = BriefingService(settings)
    service.ingest([corpus_dir])
    _, chunks = service.store.counts()
    assert held_width(settings.index) == HNSW["ef_search"]  # a small index keeps ours

    # Scaled down: past the chunks held now, one unit of width per chunk, in steps of 500.
    monkeypatch.setattr(chroma_client, "WIDE_SEARCH_FROM", chunks)
    monkeypatch.setattr(chroma_client, "VECTORS_PER_WIDTH", 1)
    monkeypatch.setattr(chroma_client, "WIDTH_STEP", 500)
    (corpus_dir / "note.txt").write_text("The convoy left Kherson at dawn.\n\nIt reached Odesa by noon.\n")
    service.ingest([corpus_dir])
    assert service.store.counts()[1] > chunks
    assert held_width(settings.index) == 500
