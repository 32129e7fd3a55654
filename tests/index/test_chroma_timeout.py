"""A Chroma server that accepts connections but never answers must fail requests in seconds, not hang them."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from assistant.measure.chroma_server import chroma_server
from assistant.settings import Settings
from index.embedding import Embedder, load_embedder
from index.errors import StoreUnavailable
from index.store import ChunkStore, StoreLocation

TIMEOUT_SECONDS = 1.5
JOIN_SECONDS = 20.0


@pytest.fixture
def silent_server() -> Iterator[str]:
    """A loopback TCP server that accepts every connection, reads what is sent, and never replies."""
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()
    accepted: list[socket.socket] = []

    def accept() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    stop.set()
    thread.join(5)
    for connection in accepted:
        connection.close()
    listener.close()


class FreezableProxy:
    """Forwards loopback TCP to ``target`` until frozen; from then on it swallows the server's replies."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.frozen = threading.Event()
        self._target = target
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._stop = threading.Event()
        self._sockets: list[socket.socket] = []
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        self._listener.settimeout(0.1)
        while not self._stop.is_set():
            try:
                client = self._listener.accept()[0]
            except (TimeoutError, OSError):
                continue
            upstream = socket.create_connection(self._target)
            self._sockets += [client, upstream]
            threading.Thread(target=self._pump, args=(client, upstream, False), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, True), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket, replies: bool) -> None:
        try:
            while data := source.recv(65536):
                if not (replies and self.frozen.is_set()):
                    sink.sendall(data)
        except OSError:
            pass

    def close(self) -> None:
        self._stop.set()
        for connection in self._sockets:
            connection.close()
        self._listener.close()


def outcome_within(seconds: float, call: Callable[[], Any]) -> tuple[BaseException | None, float]:
    """The exception ``call`` raised (None if none) and how long it took; a daemon thread so a hang fails."""
    result: dict[str, Any] = {}

    def run() -> None:
        started = time.monotonic()
        try:
            call()
        except BaseException as error:
            result["error"] = error
        result["elapsed"] = time.monotonic() - started

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"still waiting for the server after {seconds:.0f} s"
    return result.get("error"), result["elapsed"]


@pytest.fixture
def embedder(model_cache: Path) -> Embedder:
    return load_embedder(None, "onnx-int8", cache_dir=model_cache)


def test_opening_a_server_that_never_answers_fails_in_seconds(
    silent_server: str, tmp_path: Path, embedder: Embedder
) -> None:
    location = StoreLocation(tmp_path, silent_server, chroma_timeout=TIMEOUT_SECONDS)

    error, elapsed = outcome_within(JOIN_SECONDS, lambda: ChunkStore.open(location, embedder))

    assert isinstance(error, StoreUnavailable)
    assert silent_server in str(error) and "\n" not in str(error)
    assert elapsed < 10


def test_a_server_that_stops_answering_mid_session_fails_requests_in_seconds(
    tmp_path: Path, embedder: Embedder
) -> None:
    with chroma_server() as url:
        host, port = url.removeprefix("http://").split(":")
        proxy = FreezableProxy((host, int(port)))
        try:
            location = StoreLocation(tmp_path, proxy.url, chroma_timeout=TIMEOUT_SECONDS)
            store = ChunkStore.open(location, embedder, create=True)
            assert store.counts() == (0, 0)

            proxy.frozen.set()
            error, elapsed = outcome_within(JOIN_SECONDS, store.counts)
        finally:
            proxy.close()

    assert isinstance(error, StoreUnavailable)
    assert proxy.url in str(error)
    assert elapsed < 10


def test_the_timeout_is_a_setting_carried_to_the_store(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("BRIEFINGS_CHROMA_TIMEOUT", "2.5")
    assert Settings(index=tmp_path).location.chroma_timeout == 2.5
    assert StoreLocation(tmp_path).chroma_timeout == 30.0
