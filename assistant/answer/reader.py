"""The reader at answer time: scores (question, sentence) pairs and marks the answer span in each.

Loads the shipped int8 ONNX file (``reader_model/``, made by ``briefings train``) with onnxruntime and the
packaged encoder's tokenizer: no torch, no download. A missing, damaged or mismatched file is a one-line
:class:`ReaderUnavailable` naming the rebuild command, never a fallback that silently answers worse.
It knows nothing of training, retrieval or what an answer looks like to a user: it returns numbers and
character offsets into the sentences it was given.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from assistant.errors import ReaderUnavailable
from index.model_cache import file_sha256

MODEL_DIR = Path(__file__).parent / "reader_model"
MODEL_FILE = "reader-int8.onnx"
META_FILE = "reader.json"
FORMAT = 1
MAX_SPAN_TOKENS = 16
REBUILD = "rebuild it with `make train-reader`"


@dataclass(frozen=True)
class Reading:
    """The reader's view of one sentence: how likely it answers, and the best span in it."""

    logit: float  # answers logit: > 0 means more likely than not that the sentence answers
    span_start: int  # character offsets into the sentence; -1 when no span could be read
    span_end: int
    span_probability: float  # P(start) * P(end) of the best span under the span head

    @property
    def probability(self) -> float:
        return 1.0 / (1.0 + math.exp(-self.logit))


class Reader:
    """One loaded reader; thread-safe for concurrent :meth:`read` calls (onnxruntime sessions are)."""

    def __init__(self, folder: Path = MODEL_DIR, threads: int | None = None) -> None:
        self.meta = read_meta(folder)
        model = folder / MODEL_FILE
        if file_sha256(model) != self.meta.get("sha256"):
            raise ReaderUnavailable(f"The reader model {model} does not match {folder / META_FILE}: {REBUILD}")
        self._session = _session(model, threads)
        self._tokenizer = _tokenizer(int(self.meta.get("max_tokens", 96)))

    @property
    def thresholds(self) -> dict[str, Any]:
        return dict(self.meta.get("thresholds") or {})

    def read(self, question: str, sentences: list[str]) -> list[Reading]:
        """One :class:`Reading` per sentence, in the order given."""
        if not sentences:
            return []
        encodings = self._tokenizer.encode_batch([(question, sentence) for sentence in sentences])
        width = max(len(e.ids) for e in encodings)
        feeds = {
            "input_ids": _padded([e.ids for e in encodings], width),
            "attention_mask": _padded([e.attention_mask for e in encodings], width),
            "token_type_ids": _padded([e.type_ids for e in encodings], width),
        }
        answers, starts, ends = self._session.run(None, feeds)
        return [
            _reading(float(answers[row]), starts[row], ends[row], encoding) for row, encoding in enumerate(encodings)
        ]


def read_meta(folder: Path) -> dict[str, Any]:
    """The model's metadata, or a one-line error saying what is wrong and how to rebuild."""
    meta_path, model = folder / META_FILE, folder / MODEL_FILE
    if not meta_path.is_file() or not model.is_file():
        raise ReaderUnavailable(f"The reader model is missing ({model}): {REBUILD}")
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ReaderUnavailable(f"The reader's {meta_path} cannot be read ({error}): {REBUILD}") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ReaderUnavailable(f"The reader model in {folder} is of another format than this version reads: {REBUILD}")
    return meta


def write_thresholds(folder: Path, fitted: dict[str, Any]) -> None:
    """Record fitted thresholds in ``reader.json`` (the model file, and so its checksum, is untouched)."""
    meta = read_meta(folder)
    meta["thresholds"] = fitted
    (folder / META_FILE).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")


def _reading(logit: float, start: np.ndarray, end: np.ndarray, encoding: Any) -> Reading:
    """The best span over the sentence's tokens (start ≤ end, at most :data:`MAX_SPAN_TOKENS` apart)."""
    inside = [
        i
        for i, (kind, (a, b)) in enumerate(zip(encoding.type_ids, encoding.offsets, strict=True))
        if kind == 1 and b > a
    ]
    if not inside:
        return Reading(logit, -1, -1, 0.0)
    first, last = inside[0], inside[-1] + 1
    start_p = _softmax(start[first:last])
    end_p = _softmax(end[first:last])
    scores = np.triu(np.outer(start_p, end_p)) - np.triu(np.outer(start_p, end_p), k=MAX_SPAN_TOKENS)
    best = int(scores.argmax())
    i, j = divmod(best, scores.shape[1])
    offsets = encoding.offsets
    return Reading(logit, offsets[first + i][0], offsets[first + j][1], float(scores[i, j]))


def _softmax(values: np.ndarray) -> np.ndarray:
    shifted = np.exp(values - values.max())
    result: np.ndarray = shifted / shifted.sum()
    return result


def _padded(rows: list[list[int]], width: int) -> np.ndarray:
    return np.array([row + [0] * (width - len(row)) for row in rows], dtype=np.int64)


def _session(model: Path, threads: int | None) -> Any:
    import onnxruntime

    options = onnxruntime.SessionOptions()
    if threads:
        options.intra_op_num_threads = threads
    options.log_severity_level = 3
    try:
        return onnxruntime.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])
    except Exception as error:  # onnxruntime raises its own untyped errors for damaged files
        raise ReaderUnavailable(
            f"The reader model {model} cannot be loaded ({type(error).__name__}): {REBUILD}"
        ) from None


@lru_cache(maxsize=2)
def _tokenizer(max_tokens: int) -> Any:
    """The packaged encoder's tokenizer, truncating only the sentence, as training did."""
    from tokenizers import Tokenizer

    from index.embedding import resolve_model

    tokenizer = Tokenizer.from_file(str(Path(resolve_model(None)[0]) / "tokenizer.json"))
    tokenizer.enable_truncation(max_tokens, strategy="only_second")
    tokenizer.no_padding()
    return tokenizer
