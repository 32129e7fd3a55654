"""``briefings scale``: what a Chroma collection of real-model vectors costs and finds as it grows.

The rows are real news chunks, then synthetic briefings with planted facts (:mod:`assistant.measure.scale_data`),
all embedded by our own embedder and cached on disk. The queries are real questions: the news question set and
the planted facts' questions, embedded like a user's question. At each size it reports the insert rate, warm
query latency (our retrieval's dense step, :meth:`index.store.ChunkStore.dense_search`), cold latency (a fresh
client process after the collection's file pages were evicted and, where permitted, the kernel's page cache
dropped; with our own server, a freshly started server too), recall@10 of Chroma's HNSW against exact search
over the same vectors, the share of questions whose answer chunk is in the top 10 (by HNSW and by exact
search: the gap is what the index loses, the rest is the embedder's), memory, and disk.

The collection is a scratch one configured exactly like ours (:data:`index.chroma_client.HNSW`), on a temporary
``chroma run`` (default), a given server, or an embedded database in a temporary folder; it is dropped at the
end and never touches the ``briefings_*`` collections. Each size is searched with the width our writes would give
a collection that size (:func:`index.chroma_client.search_width`), after one pass at the fixed width to compare.

Owns: filling the scratch collection size by size, the measurements and the report (its chart is
:mod:`assistant.measure.scale_plot`).
Must not: time anything but embedding, Chroma's ``add`` and the store's dense search, or leave its collection
(or a temporary server) behind.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np

from assistant.errors import BriefingsError, ConfigurationError
from assistant.measure.chroma_server import chroma_server
from assistant.measure.scale_cold import evict_page_cache, folder_mb, pid_running, process_memory_mb
from assistant.measure.scale_data import Question, ScaleRows, VectorCache, load_questions, load_rows, recipe
from assistant.measure.stats import percentiles
from assistant.settings import Settings
from index.chroma_client import HNSW, SEARCH_WIDTH, ChromaEmbeddingFunction, StoreLocation, connect, search_width
from index.embedding import Embedder, load_embedder
from index.store import ChunkStore

RECALL_K = 10
WARM_PASSES = 3  # timed passes over every question, after one untimed pass
COLD_TIMEOUT_SECONDS = 1800.0
# One insert is a whole batch of Chroma's maximum size into a growing HNSW graph; at a million rows on a busy
# machine that takes minutes, far past the 30 s a user's request may take, so the bench's client waits longer.
INSERT_TIMEOUT_SECONDS = 1800.0

Say = Callable[[str], None]


@dataclass(frozen=True)
class ScaleConfig:
    """What to measure and with what; ``chroma_url`` or ``embedded`` choose where (default: a temporary server)."""

    sizes: tuple[int, ...]
    corpus: Path
    questions: Path
    cache: Path
    probes: int = 200
    seed: int = 0
    candidates: int = 40
    chroma_url: str | None = None
    embedded: bool = False
    drop_caches: bool = True
    ef_search: int | None = None  # None: ours, :func:`index.chroma_client.search_width` of each size

    def width(self, size: int) -> int:
        """The HNSW search width measured at ``size``: the given one, or the one our writes would set."""
        return self.ef_search or search_width(size)


class Host:
    """Where the scratch collection lives, and how to make it cold: stop, evict its files, start again."""

    def __init__(self, config: ScaleConfig, scratch: Path) -> None:
        self.url, self.scratch, self.restarts, self.drop_caches = config.chroma_url, scratch, 0, config.drop_caches
        self.embedded = config.embedded and not config.chroma_url
        self.data: Path | None = None if self.url else scratch / "data"
        self._server = ExitStack()
        self._client: Any = None
        if not self.url and not self.embedded:
            self._start_server()

    def describe(self) -> str:
        if self.embedded:
            return "embedded (PersistentClient in a temporary folder, in the measuring process)"
        return (
            f"the server at {self.url} (client/server)"
            if self.data is None
            else "a temporary `chroma run` on 127.0.0.1 (client/server)"
        )

    @property
    def owns_server(self) -> bool:
        return not self.embedded and self.data is not None

    def where(self) -> str:
        return self.url or str(self.data)

    def client(self) -> Any:
        if self._client is None:
            url = None if self.embedded else self.where()
            self._client = connect(StoreLocation(self.data or Path("."), url, INSERT_TIMEOUT_SECONDS))
        return self._client

    def server_memory(self) -> dict[str, float] | None:
        pid = pid_running(self.data) if self.owns_server and self.data else None
        return process_memory_mb(pid) if pid else None

    def make_cold(self) -> dict[str, Any]:
        """Let go of the collection, evict its files from the page cache, reopen (our server: a new one)."""
        if self.embedded and self._client is not None:
            self._client.clear_system_cache()  # this process's Chroma lets go of the database
        self._client = None
        if self.data is None:
            return {"evicted": False, "why": "a server we do not run: only the client process is fresh"}
        if self.owns_server:
            self._server.close()
        evicted = evict_page_cache(self.data, self.drop_caches)
        if self.owns_server:
            self._start_server()
        return evicted

    def _start_server(self) -> None:
        assert self.data is not None
        self.restarts += 1
        self._server = ExitStack()
        log = self.scratch / f"chroma-{self.restarts}.log"
        self.url = self._server.enter_context(chroma_server(self.data, log))

    def close(self) -> None:
        self._client = None
        self._server.close()


class ScaleRun:
    """A scratch collection being filled, and what was measured at each size."""

    def __init__(
        self,
        host: Host,
        rows: ScaleRows,
        cache: VectorCache,
        questions: list[Question],
        embedder: Embedder,
    ) -> None:
        self.host, self.rows, self.cache, self.questions, self.embedder = host, rows, cache, questions, embedder
        self.name = f"briefings_scale_{uuid.uuid4().hex[:8]}"
        client = host.client()
        created = client.create_collection(
            self.name, embedding_function=ChromaEmbeddingFunction(None), configuration={"hnsw": HNSW}
        )
        self.hnsw = {key: created.configuration_json["hnsw"][key] for key in HNSW}  # as Chroma holds them
        self.batch = int(client.get_max_batch_size())
        self.loaded = 0

    def collection(self) -> Any:
        return self.host.client().get_collection(self.name, embedding_function=ChromaEmbeddingFunction(None))

    def store(self) -> ChunkStore:
        collection = self.collection()
        return ChunkStore(self.host.client(), collection, collection, StoreLocation(Path("."), self.host.url))

    def use_width(self, width: int) -> int:
        """Give the collection HNSW search width ``width``; returns the width Chroma then holds.

        Chroma applies a changed width only when it loads the index, so the collection is reloaded the way
        :meth:`Host.make_cold` does it (our server restarted, or the embedded database let go of); a server we
        do not run keeps searching with the width it loaded.
        """
        collection = self.collection()
        if collection.configuration_json["hnsw"]["ef_search"] != width:
            collection.modify(configuration={"hnsw": {"ef_search": width}})
            self.host.make_cold()
            collection = self.collection()  # read back through the new client
        return int(collection.configuration_json["hnsw"]["ef_search"])

    def top(self, vectors: np.ndarray, k: int) -> np.ndarray:
        """Each question's top-10 rows by the store's dense search, padded with -1."""
        store = self.store()
        found = [[self.rows.row_of(chunk) for chunk, _ in store.dense_search(v, k)[:RECALL_K]] for v in vectors]
        return np.array([rows + [-1] * (RECALL_K - len(rows)) for rows in found], dtype=np.int64)

    def grow_to(self, size: int) -> float:
        """Insert rows up to ``size`` in batches of Chroma's maximum; returns seconds spent in ``add`` only."""
        collection = self.host.client().get_collection(self.name, embedding_function=ChromaEmbeddingFunction(None))
        spent = 0.0
        for start in range(self.loaded, size, self.batch):
            end = min(start + self.batch, size)
            ids, texts, metadatas = self.rows.records(start, end)
            vectors = self.cache.read(start, end)
            began = time.perf_counter()
            collection.add(ids=ids, embeddings=vectors, metadatas=metadatas, documents=texts)
            spent += time.perf_counter() - began
            self.loaded = end
        return spent

    def warm(self, vectors: np.ndarray, k: int) -> tuple[list[float], np.ndarray]:
        """Latencies of ``WARM_PASSES`` timed passes after an untimed one, and each question's top-10 rows."""
        found, store = self.top(vectors, k), self.store()
        latencies = []
        for _ in range(WARM_PASSES):
            for vector in vectors:
                began = time.perf_counter()
                store.dense_search(vector, k)
                latencies.append((time.perf_counter() - began) * 1000)
        return latencies, found

    def cold(self, queries_file: Path, k: int) -> dict[str, Any]:
        evicted = self.host.make_cold()
        command = [sys.executable, "-m", "assistant.measure.scale_cold", self.host.where(), self.name]
        result = subprocess.run(
            [*command, str(queries_file), str(k)],
            capture_output=True,
            text=True,
            timeout=COLD_TIMEOUT_SECONDS,
            check=False,
        )
        if result.returncode != 0:
            raise BriefingsError(f"the cold-query process failed: {result.stderr.strip()[-500:]}")
        return {**evicted, **json.loads(result.stdout), "server": self.host.server_memory()}


def hit_rates(questions: Sequence[Question], top: np.ndarray, size: int) -> dict[str, Any]:
    """Per kind: the share of answerable questions whose answer chunk is among ``top``'s rows."""
    rates: dict[str, Any] = {}
    for kind in ("news", "planted"):
        asked = [(i, q) for i, q in enumerate(questions) if q.kind == kind and any(a < size for a in q.answers)]
        hits = sum(bool(set(q.answers) & set(top[i].tolist())) for i, q in asked)
        rates[kind] = round(hits / len(asked), 4) if asked else None
    return rates


def quality(run: ScaleRun, found: np.ndarray, exact: np.ndarray, size: int) -> dict[str, Any]:
    """Recall of ``found`` against exact search, and both searches' hit rates."""
    overlap = [len(set(f.tolist()) & set(e.tolist())) for f, e in zip(found, exact, strict=True)]
    return {
        f"recall_at_{RECALL_K}": round(float(np.mean(overlap)) / RECALL_K, 4),
        f"hit_at_{RECALL_K}": {
            "hnsw": hit_rates(run.questions, found, size),
            "exact": hit_rates(run.questions, exact, size),
        },
    }


def measure(
    run: ScaleRun, config: ScaleConfig, size: int, vectors: np.ndarray, queries_file: Path, say: Say
) -> dict[str, Any]:
    embedding = run.cache.extend_to(size, run.rows, run.embedder, say)
    inserted = size - run.loaded
    say(f"scale: inserting {inserted:,} rows (to {size:,})")
    insert_seconds = run.grow_to(size)
    say(f"scale: exact search over {size:,} vectors")
    exact = run.cache.exact_top(vectors, size, RECALL_K)
    width, fixed = config.width(size), None
    if width != SEARCH_WIDTH:  # what the fixed width would have found, for comparison
        say(f"scale: one pass with ef_search {SEARCH_WIDTH}")
        run.use_width(SEARCH_WIDTH)
        fixed = {"ef_search": SEARCH_WIDTH, **quality(run, run.top(vectors, config.candidates), exact, size)}
    say(f"scale: {len(vectors)} questions, {WARM_PASSES + 1} passes with ef_search {width}")
    held = run.use_width(width)
    latencies, found = run.warm(vectors, config.candidates)
    p50, p95 = percentiles(latencies, (50, 95)) or (0.0, 0.0)
    point: dict[str, Any] = {
        "size": size,
        "news_rows": min(max(size - run.rows.probes, 0), len(run.rows.news)),
        "embedding": embedding,
        "inserted": inserted,
        "insert_seconds": round(insert_seconds, 2),
        "inserts_per_second": round(inserted / insert_seconds, 1) if insert_seconds > 0 else None,
        "ef_search": held,
        "query_p50_ms": round(p50, 2),
        "query_p95_ms": round(p95, 2),
        **quality(run, found, exact, size),
        "fixed_width": fixed,
        "disk_mb": folder_mb(run.host.data) if run.host.data else None,
        "server_after_inserts": run.host.server_memory(),
    }
    say("scale: cold queries from a fresh process")
    point["cold"] = run.cold(queries_file, config.candidates)
    point["client"] = process_memory_mb()
    point["load_average"] = [round(load, 2) for load in os.getloadavg()]
    return point


def parse_sizes(text: str) -> list[int]:
    try:
        sizes = [int(part.replace("_", "")) for part in text.split(",") if part.strip()]
    except ValueError:
        raise ConfigurationError(f"--sizes must be comma-separated numbers, not {text!r}") from None
    if not sizes or any(size <= 0 for size in sizes) or sizes != sorted(set(sizes)):
        raise ConfigurationError(f"--sizes must be increasing positive numbers, not {text!r}")
    return sizes


def run_scale(
    config: ScaleConfig,
    settings: Settings,
    say: Say = lambda _: None,
    on_point: Callable[[dict[str, Any]], None] = lambda _: None,
) -> dict[str, Any]:
    """Fill a scratch collection size by size and measure at each; the report so far goes to ``on_point``
    after every size, so a long run that dies keeps what it measured."""
    chunking = (settings.chunk_size, settings.chunk_overlap)
    rows = load_rows(config.corpus, config.questions, config.probes, config.seed, *chunking)
    rows.check_size(config.sizes[-1])
    questions = load_questions(rows, config.questions)
    say(f"scale: {len(rows.news):,} news chunks, {len(questions)} questions; loading the model")
    embedder = load_embedder(settings.embedding_model, settings.embedding_backend, settings.model_dir, settings.threads)
    cache = VectorCache(config.cache, recipe(rows, config.corpus, config.questions, embedder, chunking), 384)
    say(f"scale: vector cache {cache.folder} holds {cache.rows:,} rows")
    vectors = np.stack([embedder.embed_query(question.text) for question in questions]).astype(np.float32)
    with tempfile.TemporaryDirectory(prefix="briefings-scale-") as folder, ExitStack() as stack:
        queries_file = Path(folder) / "queries.npy"
        np.save(queries_file, vectors)
        host = Host(config, Path(folder))
        stack.callback(host.close)
        run = ScaleRun(host, rows, cache, questions, embedder)
        stack.callback(lambda: host.client().delete_collection(run.name))
        say(f"scale: Chroma {host.describe()}")
        report = describe(config, host, run, embedder)
        for size in config.sizes:
            report["points"].append(measure(run, config, size, vectors, queries_file, say))
            on_point(report)
        return report


def describe(config: ScaleConfig, host: Host, run: ScaleRun, embedder: Embedder) -> dict[str, Any]:
    """Everything needed to reproduce or compare a run, and how each figure was measured; ``points`` grows."""
    kinds = [question.kind for question in run.questions]
    return {
        "chromadb": version("chromadb"),
        "hnsw": run.hnsw,
        "dimension": embedder.dimension,
        "chroma": host.describe(),
        "batch_size": run.batch,
        "candidates_k": config.candidates,
        "recall_k": RECALL_K,
        "embedder": {"model": embedder.identity, "backend": embedder.backend, "export": embedder.export},
        "embedding_threads": getattr(embedder, "workers", 1),
        "cores": os.cpu_count(),
        "load_average_at_start": [round(load, 2) for load in os.getloadavg()],
        "data": {
            "news_corpus": str(config.corpus),
            "news_chunks": len(run.rows.news),
            "planted_probes": config.probes,
            "seed": config.seed,
            "row_order": "planted probes, news chunks (evidence articles first), then more planted briefings",
            "vector_cache": str(run.cache.folder),
        },
        "questions": {
            "file": str(config.questions),
            "news": kinds.count("news"),
            "news_answerable": sum(1 for q in run.questions if q.kind == "news" and q.answers),
            "planted": kinds.count("planted"),
        },
        "method": {
            "queries": "every question embedded with embed_query, asked through ChunkStore.dense_search",
            "warm": f"one untimed pass, then {WARM_PASSES} timed passes over every question, in this process",
            "cold": "a fresh client process after the collection's files were evicted from the page cache "
            "(POSIX_FADV_DONTNEED, then /proc/sys/vm/drop_caches if permitted); with our temporary server, "
            "that server was restarted too; open_ms is importing chromadb and connecting, first_query_ms the first "
            "question (the server or embedded database loads the index then), then one pass over the rest",
            f"recall_at_{RECALL_K}": f"overlap of HNSW's top {RECALL_K} with exact brute-force top {RECALL_K} "
            "over every vector in the collection, averaged over all questions",
            "ef_search": "HNSW's search width at each size, as Chroma holds it: the one our writes set for that "
            "size (index.chroma_client.search_width) unless --ef-search fixes one; the collection is reloaded after "
            "a change, as Chroma applies a width when it loads the index. fixed_width: recall and hits of one "
            "untimed pass at our fixed width of 200, measured the same way before the change",
            f"hit_at_{RECALL_K}": f"share of answerable questions with an answer chunk in the top {RECALL_K}, "
            "by HNSW and by exact search (news: chunks holding the evidence quote; planted: its one chunk)",
            "memory": "VmRSS/VmHWM from /proc: the server after inserts and after the cold pass, the cold "
            "client process, and this process (client, embedder and all)",
            "disk_mb": "blocks used by the collection's folder (our server's or embedded database)",
        },
        "points": [],
    }
