"""The ONNX embedder's session pool: a session that fails to load must never leave callers waiting forever."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from index.embedding import OnnxEmbedder, _max_length, resolve_model
from index.onnx_export import exported_model

JOIN_SECONDS = 15.0


class FlakyEmbedder(OnnxEmbedder):
    """The real int8 model, except that the next ``failures`` session loads raise, each after ``release``."""

    failures = 0

    def __init__(self, *args: Any) -> None:
        self.release = threading.Event()
        self.release.set()
        self.loading = threading.Event()
        super().__init__(*args)

    def _new_session(self) -> Any:
        if self.failures > 0:
            self.failures -= 1
            self.loading.set()
            self.release.wait(JOIN_SECONDS)
            raise RuntimeError("model file unreadable")
        return super()._new_session()


@pytest.fixture
def embedder(model_cache: Path) -> FlakyEmbedder:
    """Two session slots; the constructor's probe fills the first."""
    model_dir, identity = resolve_model(None)
    onnx_path = exported_model(Path(model_dir), model_cache, quantize=True)
    tokenizer = Path(model_dir) / "tokenizer.json"
    return FlakyEmbedder(onnx_path, tokenizer, _max_length(Path(model_dir)), identity, "onnx-int8", 2)


def in_thread(call: Callable[[], Any]) -> tuple[threading.Thread, dict[str, Any]]:
    """Run ``call`` on a daemon thread (a hang must fail the test, not the suite); the dict gets its outcome."""
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["value"] = call()
        except Exception as error:
            outcome["error"] = error

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, outcome


def finished(thread: threading.Thread, outcome: dict[str, Any]) -> dict[str, Any]:
    thread.join(JOIN_SECONDS)
    assert not thread.is_alive(), "the call is still waiting for a session"
    return outcome


def test_a_failed_load_reaches_its_caller_and_frees_its_slot(embedder: FlakyEmbedder) -> None:
    embedder.failures = 1
    with embedder._session():  # every existing session is busy, so the next caller must load one
        failed = finished(*in_thread(lambda: embedder.embed_query("first")))
        assert isinstance(failed.get("error"), RuntimeError)

        later = finished(*in_thread(lambda: embedder.embed_query("second")))
    assert "error" not in later
    assert np.isclose(np.linalg.norm(later["value"]), 1.0, atol=1e-3)


def test_a_caller_waiting_for_a_slot_loads_a_session_when_another_load_fails(embedder: FlakyEmbedder) -> None:
    embedder.failures = 1
    embedder.release.clear()
    with embedder._session():
        loading, failing = in_thread(lambda: embedder.embed_query("first"))
        assert embedder.loading.wait(JOIN_SECONDS)
        waiting, waiter = in_thread(lambda: embedder.embed_query("second"))
        time.sleep(0.3)  # both slots are taken, so by now the second caller waits for one
        embedder.release.set()
        assert isinstance(finished(loading, failing).get("error"), RuntimeError)
        assert "value" in finished(waiting, waiter)
