"""Export a mean-pooled sentence-transformers model to ONNX once, optionally int8-quantised, and cache it.

sentence-transformers' own ONNX backend needs optimum, which cannot be installed beside
sentence-transformers 6, so the project owns this small step. The graph includes mean pooling and L2
normalisation, so onnxruntime returns finished embeddings; it also returns the token states, from which
ingest pools one vector per sentence of a chunk at no extra inference cost. The file is written to a temporary
name and renamed, so a crash mid-export never leaves a half-written model behind.
"""

from __future__ import annotations

import hashlib
import logging
import os
import warnings
from pathlib import Path

from index.errors import ConfigurationError

log = logging.getLogger(__name__)

EXPORT_VERSION = "2"  # 2: also outputs the token states, for per-sentence vectors


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "briefings" / "models"


def exported_model(model_dir: Path, cache_dir: Path | None, quantize: bool) -> Path:
    """Path of the ONNX file for ``model_dir``, exporting it first if it is not cached yet."""
    cache = cache_dir or default_cache_dir()
    target = cache / f"{_fingerprint(model_dir)}{'-int8' if quantize else ''}.onnx"
    if target.is_file():
        return target
    cache.mkdir(parents=True, exist_ok=True)
    log.info("exporting %s to ONNX (once) at %s", model_dir, target)
    full = cache / f"{_fingerprint(model_dir)}.onnx"
    if not full.is_file():
        _export(model_dir, full)
    if quantize:
        _quantize(full, target)
    return target


def _fingerprint(model_dir: Path) -> str:
    """Changes when the weights change, so a new model version is exported again."""
    digest = hashlib.sha256(f"{EXPORT_VERSION}:{model_dir.resolve()}".encode())
    for weights in sorted(model_dir.glob("*.safetensors")) + sorted(model_dir.glob("*.bin")):
        stat = weights.stat()
        digest.update(f"{weights.name}:{stat.st_size}:{int(stat.st_mtime)}".encode())
    return f"{model_dir.name}-{digest.hexdigest()[:12]}"


def _export(model_dir: Path, target: Path) -> None:
    try:
        import torch
        from transformers import AutoModel, AutoTokenizer
    except ImportError as error:
        raise ConfigurationError(
            f"Exporting the embedding model needs torch and transformers ({error}); "
            "or set BRIEFINGS_EMBEDDING_BACKEND=torch"
        ) from None

    class MeanPooled(torch.nn.Module):
        def __init__(self, encoder: torch.nn.Module) -> None:
            super().__init__()
            self.encoder = encoder

        def forward(self, input_ids, attention_mask, token_type_ids):  # type: ignore[no-untyped-def]
            hidden = self.encoder(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, dim=-1), hidden

    tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
    module = MeanPooled(AutoModel.from_pretrained(str(model_dir)).eval())
    sample = tokenizer(["an example sentence", "another"], padding=True, return_tensors="pt")
    dynamic = {name: {0: "batch", 1: "tokens"} for name in ("input_ids", "attention_mask", "token_type_ids")}
    dynamic["embedding"] = {0: "batch"}
    dynamic["tokens"] = {0: "batch", 1: "tokens"}
    partial = target.with_suffix(".partial")
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            module,
            (sample["input_ids"], sample["attention_mask"], sample["token_type_ids"]),
            str(partial),
            input_names=["input_ids", "attention_mask", "token_type_ids"],
            output_names=["embedding", "tokens"],
            dynamic_axes=dynamic,
            opset_version=17,
            dynamo=False,
        )
    partial.replace(target)


def _quantize(source: Path, target: Path) -> None:
    """Per-channel dynamic int8: cosine about 0.99 to the float model, about twice as fast."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    partial = target.with_suffix(".partial")
    logging.getLogger("root").setLevel(logging.ERROR)  # onnxruntime warns about pre-processing via root
    quantize_dynamic(str(source), str(partial), weight_type=QuantType.QInt8, per_channel=True)
    partial.replace(target)
