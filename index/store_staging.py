"""The collections' names, and how a rebuild swaps a staging pair in for the live one, even across a kill.

A rebuild never touches the live pair while it writes: it fills a fresh ``__staging`` pair, marks the staging
chunks collection complete (the commit point), then swaps by renaming — live articles to ``__retired``, staging
articles to live, the same for chunks — and deletes the retired pair. Killed before the mark, it leaves the old
index answering and an unfinished staging pair that readers ignore and the next rebuild deletes. Killed after
it, the swap is finished by the next process that opens the store, or by a running reader that finds a live
collection missing (:func:`finish_swap`: idempotent, safe for two processes at once). So after a kill at any
point the index opens and answers: the old one, or the new one once opened. An embedded database that cannot
be opened at all is moved aside into ``damaged-<UTC time>/`` by a rebuild, never deleted, so the command that
error messages recommend always works.

With :mod:`index.store` and :mod:`index.chroma_client`, the only modules that import chromadb; this one must
not read or write records (only collections' names and metadata), nor import the assistant.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from index.chroma_client import ChromaEmbeddingFunction, StoreLocation, connect
from index.errors import IndexDamaged

if TYPE_CHECKING:
    from chromadb.api import ClientAPI
    from chromadb.api.models.Collection import Collection

# Logged under the store's name, which is what users see: ``WARNING index.store: ... moved its files to ...``.
log = logging.getLogger("index.store")

CHUNKS = "briefings_chunks"
ARTICLES = "briefings_articles"
STAGING, RETIRED = "__staging", "__retired"  # suffixes of the collections a rebuild writes and swaps out
COMPLETE_KEY = "staged"  # set to "complete" on the staging chunks once every article is written


@dataclass(frozen=True)
class CollectionNames:
    """The names of one pair of collections: the live pair, or a rebuild's staging or retired pair."""

    chunks: str
    articles: str

    def __iter__(self) -> Iterator[str]:
        return iter((self.chunks, self.articles))

    @classmethod
    def suffixed(cls, suffix: str) -> CollectionNames:
        return cls(CHUNKS + suffix, ARTICLES + suffix)


LIVE = CollectionNames(CHUNKS, ARTICLES)
STAGED = CollectionNames.suffixed(STAGING)
RETIRING = CollectionNames.suffixed(RETIRED)


def live_collection(client: ClientAPI, name: str, function: ChromaEmbeddingFunction) -> Collection:
    """A collection by name; a live one found missing may be a swap a kill interrupted, so that is finished
    (a no-op otherwise) and the lookup tried once more."""
    from chromadb.errors import NotFoundError

    try:
        return client.get_collection(name, embedding_function=function)  # type: ignore[arg-type]
    except NotFoundError:
        if name not in LIVE:
            raise
        finish_swap(client)
        return client.get_collection(name, embedding_function=function)  # type: ignore[arg-type]


def finish_swap(client: ClientAPI) -> None:
    """Complete a rebuild's swap from whatever point a kill left it at; a no-op when there is none.

    Staging chunks marked complete mean the swap is committed: each staging collection still present replaces
    its live one (articles first, then chunks, as :meth:`index.store.ChunkStore.finish_rebuild` does), and the
    retired pair is deleted. An unmarked staging pair is an unfinished rebuild and is left alone. Every step
    works on collection ids taken from one listing and tolerates a step another process just did, so a writer
    and a reader finishing the same swap at once cannot retire the new collections.
    """
    found = {collection.name: collection for collection in client.list_collections()}
    staged_chunks = found.get(STAGED.chunks)
    committed = staged_chunks is not None and (staged_chunks.metadata or {}).get(COMPLETE_KEY) == "complete"
    if committed:
        for live, staged, retired in (
            (LIVE.articles, STAGED.articles, RETIRING.articles),
            (LIVE.chunks, STAGED.chunks, RETIRING.chunks),
        ):
            if staged not in found:
                continue
            if live in found:
                _rename(found[live], retired)
            _rename(found[staged], live)
            log.info("swapped the rebuilt %s in", live)
    for name in RETIRING:
        if committed or name in found:
            delete_collection(client, name)


def _rename(collection: Collection, name: str) -> None:
    """Rename by id; a collection already renamed is a no-op in Chroma, one already deleted is done with."""
    from chromadb.errors import NotFoundError

    try:
        collection.modify(name=name)
    except NotFoundError:
        log.debug("collection %s was already swapped out and deleted", collection.id)


def delete_collection(client: ClientAPI, name: str) -> None:
    from chromadb.errors import NotFoundError

    try:
        client.delete_collection(name)
    except NotFoundError:
        log.debug("collection %s absent", name)


def connect_or_move_aside(location: StoreLocation) -> ClientAPI:
    """Connect for a rebuild: an embedded database that cannot be opened is moved aside and started afresh."""
    try:
        return connect(location)
    except IndexDamaged:
        if location.chroma_url:
            raise
        aside = _move_damaged_aside(location.index_dir)
        log.warning("%s cannot be opened: moved its files to %s and building it anew", location.index_dir, aside)
        return connect(location)


def _move_damaged_aside(index_dir: Path) -> Path:
    """Move Chroma's own files (the database, its journal, its UUID-named segment folders) into a new
    ``damaged-<UTC time>`` folder; feedback, Slack state, models, the lexical index and locks stay."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    aside = index_dir / f"damaged-{stamp}"
    aside.mkdir()
    for entry in sorted(index_dir.iterdir()):
        if entry.name.startswith("chroma.sqlite3") or (entry.is_dir() and _is_uuid(entry.name)):
            entry.rename(aside / entry.name)
    return aside


def _is_uuid(name: str) -> bool:
    try:
        return str(uuid.UUID(name)) == name
    except ValueError:
        return False
