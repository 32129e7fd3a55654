"""The cold half of ``briefings scale``: a fresh process opens the collection and asks every question once.

Run as ``python -m assistant.measure.scale_cold LOCATION COLLECTION QUERIES.npy K`` (LOCATION: a server URL or
an embedded index folder); prints one JSON object. A new process has no Chroma client, no loaded HNSW index
and (after the caller evicted the page cache) no file pages, so its first query pays for loading what the
search needs, and the rest of the pass for what was not loaded yet.

Also the helpers that make and read that state: evicting a folder from the page cache, finding our
``chroma run`` process, reading a process's memory and a folder's size on disk.

Owns: that process's timings and its peak memory. Must not write to the collection.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from assistant.measure.stats import percentiles
from index.chroma_client import ChromaEmbeddingFunction, StoreLocation, connect
from index.store import ChunkStore

DROP_CACHES = Path("/proc/sys/vm/drop_caches")


def process_memory_mb(pid: int | str = "self") -> dict[str, float]:
    """VmRSS (now) and VmHWM (peak) of a process, in MB, from ``/proc``."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            fields[name] = round(int(value.split()[0]) / 1024, 1)
    return {"rss_mb": fields.get("VmRSS", 0.0), "peak_rss_mb": fields.get("VmHWM", 0.0)}


def evict_page_cache(folder: Path, drop_caches: bool) -> dict[str, Any]:
    """Drop ``folder``'s file pages from the page cache (``POSIX_FADV_DONTNEED``), then (``drop_caches``) try
    the kernel's whole page cache, which needs root and slows everything else on the machine for a while."""
    os.sync()
    files = 0
    for path in folder.rglob("*"):
        if path.is_file():
            descriptor = os.open(path, os.O_RDONLY)
            try:
                os.posix_fadvise(descriptor, 0, 0, os.POSIX_FADV_DONTNEED)
                files += 1
            finally:
                os.close(descriptor)
    dropped = "not asked"
    if drop_caches:
        try:
            DROP_CACHES.write_text("1\n")
            dropped = "done"
        except OSError as error:
            dropped = f"not permitted ({error.strerror or error})"
    return {"evicted": True, "files_evicted": files, "drop_caches": dropped}


def pid_running(data: Path) -> int | None:
    """The ``chroma run`` process serving ``data`` (found by its command line)."""
    for status in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            words = status.read_bytes().split(b"\0")
        except OSError:
            continue
        if b"run" in words and str(data).encode() in words:
            return int(status.parent.name)
    return None


def folder_mb(folder: Path) -> float:
    return round(sum(path.stat().st_blocks * 512 for path in folder.rglob("*") if path.is_file()) / 2**20, 1)


def cold_pass(where: str, name: str, queries: np.ndarray, k: int) -> dict[str, Any]:
    began = time.perf_counter()
    location = StoreLocation(Path(where), where) if "://" in where else StoreLocation(Path(where))
    client = connect(location)
    collection = client.get_collection(name, embedding_function=ChromaEmbeddingFunction(None))  # type: ignore[arg-type]
    store = ChunkStore(client, collection, collection, location)
    opened = time.perf_counter()
    store.dense_search(queries[0], k)
    first = time.perf_counter()
    latencies = []
    for vector in queries[1:]:
        start = time.perf_counter()
        store.dense_search(vector, k)
        latencies.append((time.perf_counter() - start) * 1000)
    p50, p95 = percentiles(latencies, (50, 95)) or (0.0, 0.0)
    return {
        "open_ms": round((opened - began) * 1000, 1),
        "first_query_ms": round((first - opened) * 1000, 1),
        "query_p50_ms": round(p50, 2),
        "query_p95_ms": round(p95, 2),
        "client": process_memory_mb(),
    }


if __name__ == "__main__":
    where, name, queries_file, k = sys.argv[1:5]
    print(json.dumps(cold_pass(where, name, np.load(queries_file), int(k))))
