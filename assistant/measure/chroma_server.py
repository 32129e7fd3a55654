"""A throwaway ``chroma run`` server on a free loopback port, for the scale check and the store contract tests.

Replicas in production point at a server someone runs and keeps (see docs/client-server.md); this
one lives in a temporary folder and dies with the ``with`` block, so a measurement never touches real data.

Owns: starting ``chroma run`` on 127.0.0.1, waiting until it answers, and stopping it.

Must not: bind anything but the loopback address, outlive the ``with`` block, or create collections (its users
do that through the store).
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from assistant.errors import ConfigurationError, StoreUnavailable

START_TIMEOUT_SECONDS = 60.0
STOP_TIMEOUT_SECONDS = 10.0


def chroma_executable() -> str:
    """The ``chroma`` CLI installed beside this interpreter (the project's venv), else the one on PATH."""
    beside = Path(sys.executable).with_name("chroma")
    if beside.is_file():
        return str(beside)
    found = shutil.which("chroma")
    if found is None:
        raise ConfigurationError("The `chroma` command is not installed: `pip install chromadb` provides it")
    return found


def free_port() -> int:
    """A port nothing listens on right now (the server binds it a moment later; a clash fails loudly)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for_heartbeat(url: str, process: subprocess.Popen[bytes] | None, timeout: float) -> None:
    """Poll ``/api/v2/heartbeat`` until the server answers; a server that exits or never answers is an error."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise StoreUnavailable(f"`chroma run` exited with status {process.returncode} before answering at {url}")
        try:
            if httpx.get(f"{url}/api/v2/heartbeat", timeout=2.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise StoreUnavailable(f"Chroma server at {url} did not answer within {timeout:.0f} s")


@contextmanager
def chroma_server(path: Path | None = None, log: Path | None = None) -> Iterator[str]:
    """Run ``chroma run`` on 127.0.0.1 with its data in ``path`` (default: a temporary folder); yields its URL."""
    with tempfile.TemporaryDirectory(prefix="briefings-chroma-") as scratch:
        data = path or Path(scratch) / "data"
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        command = [chroma_executable(), "run", "--path", str(data), "--host", "127.0.0.1", "--port", str(port)]
        with open(log or Path(scratch) / "chroma.log", "wb") as output:
            process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT)
            try:
                wait_for_heartbeat(url, process, START_TIMEOUT_SECONDS)
                yield url
            finally:
                stop(process)


def stop(process: subprocess.Popen[bytes]) -> None:
    """Terminate politely, then kill: a test run must never leave a server behind."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=STOP_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=STOP_TIMEOUT_SECONDS)
