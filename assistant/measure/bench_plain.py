"""The plain LangChain tutorial pipeline, measured the way ``briefings bench`` measures ours.

RecursiveCharacterTextSplitter(1000, 200) -> HuggingFaceEmbeddings (the same packaged model, on torch) ->
``langchain_chroma.Chroma.from_documents`` -> ``similarity_search(k=4)``: what most retrieval-augmented
assistants start from, so the ratios in the bench report say what our pipeline buys. It reads the same files
through :func:`index.articles.load_article`, so both sides count the same characters.

Owns: building and timing the plain pipeline in a folder it is given.

Must not: use anything of ours beyond reading the files (no chunker, embedder, store or retrieval of ours, or
the comparison would measure us against ourselves), nor tune the tutorial's settings in its favour or ours.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from assistant.errors import ConfigurationError
from index.articles import Article, SourceFile, load_article

CHUNK_SIZE = 1000
CHUNK_OVERLAP = 200
K = 4


@dataclass(frozen=True)
class PlainResult:
    """What the plain pipeline took; latencies in milliseconds, one per question, in question order."""

    ingest_seconds: float
    chars: int
    chunks: int
    model_load_seconds: float
    latencies_ms: list[float]


def measure_plain(
    sources: Sequence[SourceFile],
    questions: Sequence[str],
    model_dir: str,
    folder: Path,
    warm_up: Sequence[str] = ("warm up",),
    say: Callable[[str], None] = lambda _: None,
    between: Callable[[str], None] | None = None,
) -> PlainResult:
    """Ingest ``sources`` into a fresh persistent Chroma in ``folder`` and time ``similarity_search`` per question.

    Loading the model is timed apart (as for our pipeline) so the ingest figure compares the work per
    character, not a one-off start-up. ``between`` (the bench timing our answer to the same question) is
    called beside each search, before it for every other question and after it for the rest: both sides are
    timed in turn, so a machine that slows down or speeds up during the run weighs on both alike.
    """
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    try:
        from langchain_chroma import Chroma
        from langchain_huggingface import HuggingFaceEmbeddings
    except ImportError as error:
        raise ConfigurationError(
            f"The plain LangChain pipeline needs {error.name}: pip install -e '.[bench]'"
        ) from None
    from langchain_core.documents import Document
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    say("plain: loading the model on torch")
    started = time.perf_counter()
    embeddings = HuggingFaceEmbeddings(model_name=model_dir, model_kwargs={"device": "cpu"})
    embeddings.embed_query("warm up")
    model_load_seconds = time.perf_counter() - started

    say(f"plain: ingesting {len(sources)} articles")
    started = time.perf_counter()
    articles = [loaded for loaded in map(load_article, sources) if isinstance(loaded, Article)]
    documents = [Document(page_content=a.text, metadata={"source": a.id}) for a in articles]
    splits = RecursiveCharacterTextSplitter(chunk_size=CHUNK_SIZE, chunk_overlap=CHUNK_OVERLAP).split_documents(
        documents
    )
    store = Chroma.from_documents(splits, embeddings, persist_directory=str(folder), collection_name="plain")
    ingest_seconds = time.perf_counter() - started

    say(f"plain: {len(questions)} questions")
    for question in warm_up:
        store.similarity_search(question, k=K)
    latencies = []
    for number, question in enumerate(questions):
        if between is not None and number % 2:
            between(question)
        began = time.perf_counter()
        store.similarity_search(question, k=K)
        latencies.append((time.perf_counter() - began) * 1000)
        if between is not None and not number % 2:
            between(question)
    return PlainResult(ingest_seconds, sum(len(a.text) for a in articles), len(splits), model_load_seconds, latencies)


def ingest_only(folder: Path, target: Path) -> None:
    """The plain pipeline's first ingest as a script would run it: load the model, split, embed, store, exit.

    ``python -m assistant.measure.bench_plain FOLDER TARGET``; timed from outside as a whole process by
    :mod:`assistant.measure.first_ingest`.
    """
    from langchain_chroma import Chroma
    from langchain_core.documents import Document
    from langchain_huggingface import HuggingFaceEmbeddings
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    from index.articles import discover
    from index.embedding import resolve_model

    model_dir, _ = resolve_model(None)
    embeddings = HuggingFaceEmbeddings(model_name=model_dir, model_kwargs={"device": "cpu"})
    sources, _ = discover([folder])
    articles = [loaded for loaded in map(load_article, sources) if isinstance(loaded, Article)]
    documents = [Document(page_content=a.text, metadata={"source": a.id}) for a in articles]
    splits = RecursiveCharacterTextSplitter(chunk_size=CHUNK_SIZE, chunk_overlap=CHUNK_OVERLAP).split_documents(
        documents
    )
    Chroma.from_documents(splits, embeddings, persist_directory=str(target), collection_name="plain")


if __name__ == "__main__":
    import sys

    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    ingest_only(Path(sys.argv[1]), Path(sys.argv[2]))
