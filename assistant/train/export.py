"""The trained reader as the shipped artefact: an int8 ONNX file, checked against the torch model.

The graph takes the tokenizer's three inputs and returns the answers logit and the start/end logits, so
inference needs onnxruntime and the packaged tokenizer only. Quantisation is the encoder's own
(:func:`index.onnx_export.quantize_int8`: per-channel dynamic int8). Before the file is accepted, both models
read the held-back pairs and must agree (answers-logit correlation and the same best span on nearly all
positives); a quantised file that disagrees is an error, not a silent loss of quality.
"""

from __future__ import annotations

import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from assistant.errors import ReaderUnavailable
from assistant.train.examples import Pair
from assistant.train.fit import collate, encode_pairs
from index.onnx_export import quantize_int8

MIN_LOGIT_CORRELATION = 0.97
MIN_SPAN_AGREEMENT = 0.85
LOGIT_TOLERANCE = 0.1
SHOWN_SPAN_CONFIDENCE = 0.2  # the lowest span confidence the answer step could show


@dataclass(frozen=True)
class ExportCheck:
    logit_correlation: float
    span_agreement: float
    pairs: int
    largest_logit_difference: float

    @property
    def logits_agree(self) -> bool:
        """The export's rule: a high correlation, or, where logits barely vary (a few smoke steps, a handful
        of pairs) and any correlation is noise, every int8 logit within :data:`LOGIT_TOLERANCE` of the trained one."""
        return self.logit_correlation >= MIN_LOGIT_CORRELATION or self.largest_logit_difference <= LOGIT_TOLERANCE


def export_int8(net: Any, tokenizer: Any, target: Path, check_pairs: list[Pair]) -> ExportCheck:
    """Write ``target`` (int8 ONNX) and return how closely it matches ``net`` on ``check_pairs``."""
    import torch

    sample = collate(encode_pairs(tokenizer, check_pairs[:2]))
    names = ["input_ids", "attention_mask", "token_type_ids"]
    dynamic = {name: {0: "batch", 1: "tokens"} for name in names}
    dynamic.update({"answers": {0: "batch"}, "start": {0: "batch", 1: "tokens"}, "end": {0: "batch", 1: "tokens"}})
    with tempfile.TemporaryDirectory() as scratch:
        full = Path(scratch) / "reader.onnx"
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                net.eval(),
                tuple(sample[name] for name in names),
                str(full),
                input_names=names,
                output_names=["answers", "start", "end"],
                dynamic_axes=dynamic,
                opset_version=17,
                dynamo=False,
            )
        target.parent.mkdir(parents=True, exist_ok=True)
        quantize_int8(full, target)
    return _compare(net, tokenizer, target, check_pairs)


def _compare(net: Any, tokenizer: Any, model: Path, pairs: list[Pair]) -> ExportCheck:
    import onnxruntime
    import torch

    session = onnxruntime.InferenceSession(str(model), providers=["CPUExecutionProvider"])
    torch_logits: list[float] = []
    onnx_logits: list[float] = []
    agree = positives = 0
    for begin in range(0, len(pairs), 32):
        batch = collate(encode_pairs(tokenizer, pairs[begin : begin + 32]))
        inputs = {name: batch[name].numpy() for name in ("input_ids", "attention_mask", "token_type_ids")}
        with torch.no_grad():
            answers, start, end = (t.numpy() for t in net(*(batch[n] for n in inputs)))
        o_answers, o_start, o_end = session.run(None, inputs)
        torch_logits.extend(answers.tolist())
        onnx_logits.extend(o_answers.tolist())
        shown = _span_confidence(start, end) >= SHOWN_SPAN_CONFIDENCE
        for row, label in enumerate(batch["label"].tolist()):
            if label and shown[row]:
                positives += 1
                agree += int(start[row].argmax() == o_start[row].argmax() and end[row].argmax() == o_end[row].argmax())
    correlation = float(np.corrcoef(torch_logits, onnx_logits)[0, 1]) if len(torch_logits) > 2 else 1.0
    largest = max(abs(a - b) for a, b in zip(torch_logits, onnx_logits, strict=True))
    check = ExportCheck(correlation, agree / positives if positives else 1.0, len(pairs), largest)
    if not check.logits_agree or check.span_agreement < MIN_SPAN_AGREEMENT:
        raise ReaderUnavailable(
            f"the int8 reader disagrees with the trained one (answers-logit correlation {correlation:.3f}, "
            f"same span on {check.span_agreement:.0%} of confident positives): not shipped; train again"
        )
    return check


def _span_confidence(start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """Per row, P(best start) * P(best end): spans below :data:`SHOWN_SPAN_CONFIDENCE` are never shown, so
    whether the int8 model picks the same one does not matter (an untrained smoke model has only those)."""

    def top(logits: np.ndarray) -> np.ndarray:
        shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
        best: np.ndarray = (shifted / shifted.sum(axis=1, keepdims=True)).max(axis=1)
        return best

    confidence: np.ndarray = top(start) * top(end)
    return confidence
