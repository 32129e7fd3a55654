"""The folder of exported models that every index of a user shares: names, checksums and the export lock.

A cached file is named after what decides its bytes, never after where the model folder happens to be: the
model's weights and configuration by content, the export code's version, and the versions of the exporters
(torch traces the graph, onnxruntime quantises it). Two virtualenvs holding the same packaged model therefore
share one export, and upgrading torch or the model exports again.

Every file is written under a temporary name in the cache folder and renamed into place, with a checksum
beside it (``<file>.sha256``, in ``sha256sum`` format); a file that does not match its checksum is never
loaded. One lock file per cache key makes processes that build indexes at the same time export once.

Reads no environment (the folder comes from the caller's settings); must not import chromadb or the assistant.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path

from filelock import FileLock, Timeout

from index.errors import ConfigurationError

log = logging.getLogger(__name__)

EXPORT_INPUTS = ("*.safetensors", "*.bin", "config.json", "tokenizer_config.json")
EXPORTERS = ("torch", "onnxruntime")
LOCK_SECONDS = 900.0  # an export takes well under a minute on two cores; far longer means something is stuck
_verified: set[tuple[str, int, int, int]] = set()  # files this process hashed: path, inode, size, ctime


def cache_key(model_dir: Path, cache_dir: Path, export_version: str) -> str:
    """``<model name>-<digest>``; the name only helps a reader of the folder, the digest decides."""
    digest = hashlib.sha256(f"export {export_version}".encode())
    for package in EXPORTERS:
        digest.update(f"|{package} {_version(package)}".encode())
    digest.update(f"|model {_source_digest(model_dir, cache_dir)}".encode())
    return f"{_model_name(model_dir)}-{digest.hexdigest()[:16]}"


def _version(package: str) -> str:
    """From the package's metadata, so answering a question never imports torch just to name a file."""
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "absent"


def _model_name(model_dir: Path) -> str:
    """The folder's name, or the repository's for a Hugging Face cache snapshot (a folder named by commit).

    Only the folder's own name, never where it is: a model folder copied elsewhere keeps its exports.
    """
    folder = model_dir.resolve()
    if folder.parent.name == "snapshots" and folder.parent.parent.name.startswith("models--"):
        return folder.parent.parent.name.split("--")[-1]
    return folder.name


def _source_digest(model_dir: Path, cache_dir: Path) -> str:
    """A digest of the files the export reads, by content.

    Hashing MiniLM's 90 MB of weights takes about 0.13 s, which every question's process would pay; so the
    digest is remembered in the cache folder with each file's size and change time (ctime, which every write
    moves and no copy tool can set back, unlike the modification time), and the files are hashed again only
    when one of those changes.
    """
    inputs = sorted({path for pattern in EXPORT_INPUTS for path in model_dir.glob(pattern) if path.is_file()})
    stats = {path.name: [path.stat().st_size, path.stat().st_ctime_ns] for path in inputs}
    folder = str(model_dir.resolve())
    memo = cache_dir / "sources" / f"{hashlib.sha256(folder.encode()).hexdigest()[:16]}.json"
    try:
        recorded = json.loads(memo.read_text(encoding="utf-8"))
        if recorded["folder"] == folder and recorded["files"] == stats:
            return str(recorded["digest"])
    except (OSError, ValueError, KeyError, TypeError):
        pass  # no memo yet, or an unreadable one: hash the files
    digest = hashlib.sha256("".join(f"{path.name}:{file_sha256(path)}|" for path in inputs).encode()).hexdigest()
    memo.parent.mkdir(parents=True, exist_ok=True)
    _write_atomically(memo, json.dumps({"folder": folder, "files": stats, "digest": digest}))
    return digest


def partial_path(target: Path) -> Path:
    """Where a file is written before :func:`seal` moves it in: the same folder, so the rename is atomic."""
    return target.with_name(f"{target.name}.partial")


def seal(partial: Path, target: Path) -> None:
    """Record the finished file's checksum, then rename it into place.

    In this order a crash leaves at worst a checksum without its model, which reads as "not exported yet",
    never a model without a checksum, which would read as damaged.
    """
    digest = file_sha256(partial)
    _write_atomically(checksum_path(target), f"{digest}  {target.name}\n")
    partial.replace(target)
    _verified.add(_identity(target))


def checksum_path(model: Path) -> Path:
    return model.with_name(f"{model.name}.sha256")


def recorded_checksum(model: Path) -> str:
    """The sha256 written beside ``model`` when it was sealed; empty when there is none."""
    try:
        return checksum_path(model).read_text(encoding="utf-8").split(maxsplit=1)[0]
    except (OSError, IndexError):
        return ""


def is_intact(model: Path) -> bool:
    """Whether ``model`` exists and its bytes match the checksum written when it was sealed.

    The whole file is hashed (about 35 ms for the int8 MiniLM, 0.13 s for the float one), once per process
    for each version of the file (path, inode, size and change time, which every write or ``touch`` moves and
    no tool can set back). Comparing a recorded size and modification time instead would be free, but would
    miss a flipped bit or a same-size overwrite that kept the time (as ``cp -p`` or ``rsync`` do), and a
    damaged model may load and quietly compute wrong vectors into an index; onnxruntime reads the whole
    file right after anyway, so the hash mostly costs CPU, not disk.
    """
    if not model.is_file():
        return False
    if _identity(model) in _verified:
        return True
    expected = recorded_checksum(model)
    if not expected or file_sha256(model) != expected:
        return False
    _verified.add(_identity(model))
    return True


@contextmanager
def export_lock(cache_dir: Path, key: str) -> Iterator[None]:
    """Held while exporting ``key``; a second process waits here, then finds the file made and uses it."""
    lock = FileLock(str(cache_dir / f"{key}.lock"))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        log.info("waiting for another process that is exporting %s", key)
        try:
            lock.acquire(timeout=LOCK_SECONDS)
        except Timeout:
            raise ConfigurationError(
                f"Another process has been exporting the embedding model for over {LOCK_SECONDS:.0f} s "
                f"(lock {lock.lock_file}): stop it, or delete the lock file if no such process is left"
            ) from None
    try:
        yield
    finally:
        lock.release()


def _identity(path: Path) -> tuple[str, int, int, int]:
    stat = path.stat()
    return str(path.resolve()), stat.st_ino, stat.st_size, stat.st_ctime_ns


def file_sha256(path: Path) -> str:
    with path.open("rb") as stream:
        return hashlib.file_digest(stream, "sha256").hexdigest()


def _write_atomically(target: Path, text: str) -> None:
    """A small file under a name no other writer uses (processes may race to record the same digest)."""
    partial = target.with_name(f".{target.name}.{os.getpid()}.{threading.get_ident()}.partial")
    partial.write_text(text, encoding="utf-8")
    partial.replace(target)
