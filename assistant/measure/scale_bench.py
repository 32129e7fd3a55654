"""``briefings scale``: insert rate, dense query latency and recall as a Chroma collection grows to a million chunks.

Real corpora of that size are not at hand, so the collection is filled with synthetic chunks: text of about a
chunk's length and 384-dimensional unit vectors (all-MiniLM-L6-v2's size). Uniformly random vectors would make
"nearest neighbours" meaningless (in 384 dimensions they are all nearly orthogonal), so each vector is a
random topic centre plus noise, as real chunk embeddings cluster by subject; each query is a stored vector
plus a little noise, so its true neighbours are that chunk and its topic. Recall@10 compares what Chroma
returns through :meth:`index.store.ChunkStore.dense_search` (our retrieval's dense step) with exact search by
brute force over the same vectors, which are regenerated block by block from the seed instead of being held in
memory. The collection is configured exactly like ours (:data:`index.chroma_client.HNSW`) and is a scratch
one: it is dropped at the end and never touches the ``briefings_*`` collections.

Owns: the synthetic chunks, filling a scratch collection size by size, and the scale report and its plot.

Must not: write to a ``briefings_*`` collection or leave its scratch collection (or a temporary server) behind,
time anything but Chroma's own ``add`` and the store's dense search, or hold a million vectors in memory.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from functools import cached_property
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np

from assistant.errors import ConfigurationError
from assistant.measure.chroma_server import chroma_server
from assistant.measure.stats import percentiles
from index.chroma_client import HNSW, ChromaEmbeddingFunction, StoreLocation, connect
from index.store import ChunkStore

DEFAULT_SIZES = (10_000, 100_000, 300_000, 1_000_000)
DIMENSION = 384
BLOCK = 4096  # vectors are generated in blocks seeded by (seed, block number), so any range can be rebuilt
RECALL_K = 10
WORDS = [
    a + b + c
    for a in ("ka", "lo", "mi", "ne", "su", "ta", "ri", "vo")
    for b in ("ba", "de", "gi", "lu", "po")
    for c in ("", "n", "r", "s", "t", "l", "m", "x")
]

Say = Callable[[str], None]


@dataclass(frozen=True)
class SyntheticChunks:
    """Deterministic synthetic chunks: row ``i`` is the same vector and text on every run with the same seed."""

    seed: int = 0
    topics: int = 1000
    spread: float = 1.0  # noise around the topic centre, relative to it: cosine to the centre is about 0.7
    query_noise: float = 0.3  # a query's cosine to the chunk it was made from is about 0.96
    text_chars: int = 800

    @cached_property
    def centres(self) -> np.ndarray:
        return _unit(np.random.default_rng([self.seed, 1 << 30]).standard_normal((self.topics, DIMENSION)))

    def block(self, number: int) -> np.ndarray:
        rng = np.random.default_rng([self.seed, number])
        topics = rng.integers(0, self.topics, BLOCK)
        noise = rng.standard_normal((BLOCK, DIMENSION)) * (self.spread / np.sqrt(DIMENSION))
        return _unit(self.centres[topics] + noise).astype(np.float32)

    def vectors(self, start: int, end: int) -> np.ndarray:
        first, last = start // BLOCK, (end - 1) // BLOCK
        rows = np.concatenate([self.block(number) for number in range(first, last + 1)])
        return rows[start - first * BLOCK : end - first * BLOCK]

    def records(self, start: int, end: int) -> tuple[list[str], list[str], list[dict[str, Any]]]:
        """Ids, texts and metadata shaped like ours (``doc``, ``date_int``, offsets...)."""
        rng = np.random.default_rng([self.seed, 1 << 31, start])
        words = rng.integers(0, len(WORDS), (end - start, self.text_chars // 6))
        texts = [" ".join(WORDS[i] for i in row)[: self.text_chars] for row in words]
        ids = [chunk_id(i) for i in range(start, end)]
        metadatas = [
            {
                "doc": f"synthetic_{i // 8:07d}.txt",
                "title": f"Synthetic {i // 8}",
                "date": "2024-01-01",
                "date_int": 20240101,
                "start": (i % 8) * 680,
                "end": (i % 8) * 680 + self.text_chars,
                "position": i % 8,
            }
            for i in range(start, end)
        ]
        return ids, texts, metadatas

    def queries(self, size: int, count: int) -> np.ndarray:
        """Perturbed copies of ``count`` stored vectors drawn from the first ``size``."""
        rng = np.random.default_rng([self.seed, 1 << 32, size])
        rows = rng.choice(size, count, replace=False)
        blocks = {number: self.block(number) for number in set((rows // BLOCK).tolist())}
        originals = np.stack([blocks[row // BLOCK][row % BLOCK] for row in rows.tolist()])
        noise = rng.standard_normal((count, DIMENSION)) * (self.query_noise / np.sqrt(DIMENSION))
        return _unit(originals + noise).astype(np.float32)

    def exact_neighbours(self, queries: np.ndarray, size: int, k: int) -> np.ndarray:
        """Row numbers of the true top ``k`` among the first ``size`` vectors, by brute force over blocks."""
        best_scores = np.full((len(queries), 0), -np.inf, dtype=np.float32)
        best_rows = np.zeros((len(queries), 0), dtype=np.int64)
        for start in range(0, size, BLOCK):
            block = self.vectors(start, min(start + BLOCK, size))
            scores = np.concatenate([best_scores, queries @ block.T], axis=1)
            rows = np.concatenate(
                [best_rows, np.broadcast_to(np.arange(start, start + len(block)), (len(queries), len(block)))], axis=1
            )
            keep = np.argpartition(-scores, min(k, scores.shape[1] - 1), axis=1)[:, :k]
            best_scores, best_rows = np.take_along_axis(scores, keep, 1), np.take_along_axis(rows, keep, 1)
        order = np.argsort(-best_scores, axis=1)
        return np.take_along_axis(best_rows, order, 1)


def chunk_id(row: int) -> str:
    return f"s{row:09d}"


def _unit(rows: np.ndarray) -> np.ndarray:
    unit: np.ndarray = rows / np.linalg.norm(rows, axis=1, keepdims=True)
    return unit


@dataclass
class ScaleRun:
    """A scratch collection being filled, and what was measured at each size."""

    store: ChunkStore
    collection: Any
    batch: int
    data: SyntheticChunks
    loaded: int = 0
    points: list[dict[str, Any]] = field(default_factory=list)

    def grow_to(self, size: int) -> float:
        """Insert rows up to ``size`` in batches of Chroma's maximum; returns seconds spent in ``add`` only."""
        spent = 0.0
        for start in range(self.loaded, size, self.batch):
            end = min(start + self.batch, size)
            ids, texts, metadatas = self.data.records(start, end)
            vectors = self.data.vectors(start, end)
            began = time.perf_counter()
            documents = {"documents": texts} if self.data.text_chars > 0 else {}  # 0: vectors and metadata only
            self.collection.add(ids=ids, embeddings=vectors, metadatas=metadatas, **documents)
            spent += time.perf_counter() - began
            self.loaded = end
        return spent

    def measure(self, size: int, queries: int, recall_queries: int, candidates: int, say: Say) -> dict[str, Any]:
        added = size - self.loaded
        say(f"scale: inserting {added:,} chunks (to {size:,})")
        insert_seconds = self.grow_to(size)
        vectors = self.data.queries(size, queries)
        began = time.perf_counter()
        self.store.dense_search(vectors[0], candidates)
        first_query_ms = (time.perf_counter() - began) * 1000
        latencies, found = [], []
        for vector in vectors:
            began = time.perf_counter()
            hits = self.store.dense_search(vector, candidates)
            latencies.append((time.perf_counter() - began) * 1000)
            found.append([int(chunk[1:]) for chunk, _ in hits[:RECALL_K]])
        say(f"scale: exact search for {recall_queries} queries over {size:,} vectors")
        exact = self.data.exact_neighbours(vectors[:recall_queries], size, RECALL_K)
        overlap = [len(set(f) & set(e.tolist())) for f, e in zip(found[:recall_queries], exact, strict=True)]
        recall = float(np.mean(overlap)) / RECALL_K
        p50, p95 = percentiles(latencies, (50, 95)) or (0.0, 0.0)
        return {
            "size": size,
            "inserted": added,
            "insert_seconds": round(insert_seconds, 3),
            "inserts_per_second": round(added / insert_seconds, 1) if insert_seconds > 0 else None,
            "first_query_ms": round(first_query_ms, 2),
            "query_p50_ms": round(p50, 2),
            "query_p95_ms": round(p95, 2),
            f"recall_at_{RECALL_K}": round(recall, 4),
        }


def parse_sizes(text: str) -> list[int]:
    try:
        sizes = [int(part.replace("_", "")) for part in text.split(",") if part.strip()]
    except ValueError:
        raise ConfigurationError(f"--sizes must be comma-separated numbers, not {text!r}") from None
    if not sizes or any(size <= 0 for size in sizes) or sizes != sorted(set(sizes)):
        raise ConfigurationError(f"--sizes must be increasing positive numbers, not {text!r}")
    return sizes


def run_scale(
    sizes: Sequence[int],
    chroma_url: str | None = None,
    queries: int = 200,
    recall_queries: int = 100,
    candidates: int = 40,
    data: SyntheticChunks | None = None,
    say: Say = lambda _: None,
    on_point: Callable[[dict[str, Any]], None] = lambda _: None,
) -> dict[str, Any]:
    """Fill a scratch collection size by size and measure at each; starts a temporary server if none is given.

    ``on_point`` receives the report so far after every size, so a long run that dies keeps what it measured.
    """
    data = data or SyntheticChunks()
    recall_queries = min(recall_queries, queries)
    if queries > sizes[0]:
        raise ConfigurationError(f"--queries ({queries}) must not exceed the smallest size ({sizes[0]})")
    with ExitStack() as stack:
        url = chroma_url or stack.enter_context(chroma_server())
        say(f"scale: Chroma server at {url}" + ("" if chroma_url else " (temporary)"))
        location = StoreLocation(Path("."), url)
        client = connect(location)  # the store's own client; the scratch collection is ours to fill
        name = f"briefings_scale_{uuid.uuid4().hex[:8]}"
        collection = client.create_collection(
            name,
            embedding_function=ChromaEmbeddingFunction(None),  # type: ignore[arg-type]
            configuration={"hnsw": HNSW},  # type: ignore[arg-type]
        )
        stack.callback(client.delete_collection, name)
        run = ScaleRun(
            ChunkStore(client, collection, collection, location), collection, client.get_max_batch_size(), data
        )
        report = describe(run, url if chroma_url else None, candidates, queries, recall_queries)
        for size in sizes:
            report["points"].append(run.measure(size, queries, recall_queries, candidates, say))
            on_point(report)
        return report


def describe(run: ScaleRun, server: str | None, candidates: int, queries: int, recall_queries: int) -> dict[str, Any]:
    """Everything needed to reproduce or compare a run; ``points`` is filled size by size."""
    data = run.data
    return {
        "hnsw": dict(HNSW),
        "dimension": DIMENSION,
        "candidates_k": candidates,
        "recall_k": RECALL_K,
        "queries": queries,
        "recall_queries": recall_queries,
        "batch_size": run.batch,
        "server": server or "a temporary `chroma run` on 127.0.0.1",
        "chromadb": version("chromadb"),
        "data": {
            "kind": "unit vectors around random topic centres; text of random syllable words",
            "seed": data.seed,
            "topics": data.topics,
            "spread": data.spread,
            "query_noise": data.query_noise,
            "text_chars": data.text_chars,
        },
        "points": [],
    }


def plot(report: dict[str, Any], path: Path) -> None:
    """Insert rate, query latency and recall against collection size, side by side (log-scaled sizes)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    points = report["points"]
    sizes = [point["size"] for point in points]
    figure, (inserts, latency, recall) = plt.subplots(1, 3, figsize=(13, 3.8))
    inserts.plot(sizes, [point["inserts_per_second"] or 0 for point in points], "o-")
    inserts.set_title("insert rate (chunks/s)")
    latency.plot(sizes, [point["query_p50_ms"] for point in points], "o-", label="p50")
    latency.plot(sizes, [point["query_p95_ms"] for point in points], "s--", label="p95")
    latency.set_title(f"dense query, k={report['candidates_k']} (ms)")
    latency.legend()
    recall.plot(sizes, [point[f"recall_at_{RECALL_K}"] for point in points], "o-")
    recall.set_ylim(0, 1.02)
    recall.set_title(f"recall@{RECALL_K} vs exact search")
    for axis in (inserts, latency, recall):
        axis.set_xscale("log")
        axis.set_xlabel("chunks in the collection")
        axis.grid(True, alpha=0.3)
    hnsw = report["hnsw"]
    figure.suptitle(
        f"Chroma {report['chromadb']}, HNSW M={hnsw['max_neighbors']} ef_construction="
        f"{hnsw['ef_construction']} ef_search={hnsw['ef_search']}, {report['dimension']} dimensions"
    )
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)
