"""Export a mean-pooled sentence-transformers model to ONNX once, optionally int8-quantised, and cache it.

sentence-transformers' own ONNX backend needs optimum, which cannot be installed beside
sentence-transformers 6, so the project owns this small step. The graph includes mean pooling and L2
normalisation, so onnxruntime returns finished embeddings; it also returns the token states, from which
ingest pools one vector per sentence of a chunk at no extra inference cost. Files are written to a temporary
name, checksummed and renamed, so a crash mid-export never leaves a half-written model behind; naming, checking
and locking the shared cache is :mod:`index.model_cache`'s job.

Owns the exported files in the cache folder its caller names; must not read the environment for that folder
(settings decide it) and must not import chromadb or the assistant's adapters.
"""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from index.errors import ConfigurationError
from index.model_cache import cache_key, export_lock, is_intact, partial_path, seal

log = logging.getLogger(__name__)

EXPORT_VERSION = "2"  # 2: also outputs the token states, for per-sentence vectors


def exported_model(model_dir: Path, cache_dir: Path, quantize: bool) -> Path:
    """Path of the ONNX file for ``model_dir``, exporting it first if the cache holds no intact copy.

    ``cache_dir`` comes from the caller's settings (``Settings.model_dir``): this module reads no environment.
    The unlocked first look serves the common case (exported long ago) without touching the lock file.
    """
    key = cache_key(model_dir, cache_dir, EXPORT_VERSION)
    target = cache_dir / f"{key}{'-int8' if quantize else ''}.onnx"
    if is_intact(target):
        return target
    cache_dir.mkdir(parents=True, exist_ok=True)
    with export_lock(cache_dir, key):
        if _usable(target):  # another process may have made it while this one waited
            return target
        full = cache_dir / f"{key}.onnx"
        if full == target or not _usable(full):  # the float model is also the int8 one's source
            log.info("exporting %s to ONNX (once) at %s", model_dir, full)
            _export(model_dir, full)
        if quantize:
            quantize_int8(full, target)
    return target


def _usable(model: Path) -> bool:
    """Intact, or absent; a damaged file is reported once and then replaced by the caller."""
    if is_intact(model):
        return True
    if model.is_file():
        log.warning("cached ONNX model %s does not match its checksum; making it again", model)
    return False


def _export(model_dir: Path, target: Path) -> None:
    """Trace the encoder with mean pooling and normalisation on top; the graph takes the inputs the model's
    tokenizer produces (BERT-like models take ``token_type_ids``, MPNet and RoBERTa-like ones do not)."""
    try:
        import torch
        from transformers import AutoModel, AutoTokenizer
    except ImportError as error:
        raise ConfigurationError(
            f"Exporting the embedding model needs torch and transformers ({error}); "
            "or set BRIEFINGS_EMBEDDING_BACKEND=torch"
        ) from None

    class MeanPooled(torch.nn.Module):
        def __init__(self, encoder: torch.nn.Module, input_names: list[str]) -> None:
            super().__init__()
            self.encoder = encoder
            self.input_names = input_names

        def forward(self, *inputs):  # type: ignore[no-untyped-def]
            named = dict(zip(self.input_names, inputs, strict=True))
            hidden = self.encoder(**named).last_hidden_state
            mask = named["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, dim=-1), hidden

    tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
    sample = tokenizer(["an example sentence", "another"], padding=True, return_tensors="pt")
    input_names = [name for name in tokenizer.model_input_names if name in sample]
    if "attention_mask" not in input_names:
        raise ConfigurationError(
            f"The tokenizer of {model_dir} returns no attention mask, which mean pooling needs: "
            "set BRIEFINGS_EMBEDDING_BACKEND=torch"
        )
    module = MeanPooled(_quietly_loaded(AutoModel, model_dir).eval(), input_names)
    dynamic = {name: {0: "batch", 1: "tokens"} for name in input_names}
    dynamic["embedding"] = {0: "batch"}
    dynamic["tokens"] = {0: "batch", 1: "tokens"}
    partial = partial_path(target)
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            module,
            tuple(sample[name] for name in input_names),
            str(partial),
            input_names=input_names,
            output_names=["embedding", "tokens"],
            dynamic_axes=dynamic,
            opset_version=17,
            dynamo=False,
        )
    seal(partial, target)


def _quietly_loaded(auto_model: Any, model_dir: Path) -> Any:
    """The model without transformers' per-tensor "Loading weights" bar: the export's own log line says what
    happens, and a one-line error printed after an export must stay one line."""
    from transformers.utils import logging as transformers_logging

    shown = transformers_logging.is_progress_bar_enabled()
    transformers_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
    try:
        return auto_model.from_pretrained(str(model_dir))
    finally:
        if shown:
            transformers_logging.enable_progress_bar()  # type: ignore[no-untyped-call]


def quantize_int8(source: Path, target: Path) -> None:
    """Per-channel dynamic int8: cosine about 0.99 to the float model, about twice as fast."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    partial = partial_path(target)
    with _quantizer_notes_dropped():
        quantize_dynamic(str(source), str(partial), weight_type=QuantType.QInt8, per_channel=True)
    seal(partial, target)


@contextmanager
def _quantizer_notes_dropped() -> Iterator[None]:
    """onnxruntime's quantizer logs its notes (e.g. "consider pre-processing") through the root logger.

    For the duration of the call, a filter on the root logger drops the quantizer's records below ERROR, and
    a placeholder handler keeps ``logging.warning`` from installing a default stderr handler on a process
    that has configured none; other loggers' records pass untouched, and both are removed afterwards.
    """
    import onnxruntime.quantization

    root = logging.getLogger()
    notes = _DropNotesFrom(str(Path(onnxruntime.quantization.__file__).parent))
    placeholder = logging.NullHandler() if not root.handlers else None
    root.addFilter(notes)
    if placeholder is not None:
        root.addHandler(placeholder)
    try:
        yield
    finally:
        root.removeFilter(notes)
        if placeholder is not None:
            root.removeHandler(placeholder)


class _DropNotesFrom(logging.Filter):
    """Drops records below ERROR logged from code under ``folder``."""

    def __init__(self, folder: str) -> None:
        super().__init__()
        self._prefix = os.path.join(folder, "")

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.ERROR or not record.pathname.startswith(self._prefix)
