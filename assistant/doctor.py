"""``briefings doctor``: is this machine and this index ready, and if not, what to do about each part.

An operator's first question after an install, an upgrade or a failed start. Each check is one line: what was
looked at, what was found and, when it is not right, the command or setting that puts it right. Checks never
change anything: no index is created, no model exported or downloaded, the lexical index is only read. A check
that cannot run because an earlier one failed says so instead of failing again. Must not import adapters.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from assistant.answer.confidence import load_model
from assistant.settings import Settings
from index.embedding import resolve_model
from index.errors import BriefingsError
from index.lexical import LexicalDamaged, LexicalIndex, database_path, lexical_folder
from index.store import ChunkStore

Status = Literal["ok", "warn", "fail"]
PYTHON = (3, 11)
CHROMIUM = Path("/usr/bin/chromium")  # what the browser tests drive
MODEL_FILES = ("config.json", "tokenizer.json")


@dataclass(frozen=True)
class Check:
    """One line of the report: ``fix`` says what to do when ``status`` is not ok."""

    name: str
    status: Status
    found: str
    fix: str = ""

    def line(self) -> str:
        mark = {"ok": "ok  ", "warn": "warn", "fail": "FAIL"}[self.status]
        return f"{mark}  {self.name}: {self.found}" + (f" -> {self.fix}" if self.fix else "")


def checks(settings: Settings, open_store: Callable[[], ChunkStore]) -> list[Check]:
    """Every check in order; ``open_store`` opens the index as the service would (loading the embedder)."""
    found = [python_check(), model_check(settings), scoring_model_check(settings), reader_check(settings)]
    found.append(name_words_check())
    models_ok = found[1].status == "ok"
    found += index_checks(settings, open_store) if models_ok else [_skipped("index", "the embedding model")]
    found += [chromium_check(), slack_check(settings)]
    return found


def python_check() -> Check:
    version = ".".join(str(part) for part in sys.version_info[:3])
    if sys.version_info[:2] == PYTHON:
        return Check("python", "ok", version)
    return Check("python", "fail", version, "Briefings needs Python 3.11: `make clean install` with python3.11")


def model_check(settings: Settings) -> Check:
    try:
        folder, identity = resolve_model(settings.embedding_model)
    except (BriefingsError, ImportError) as error:
        return Check("embedding model", "fail", str(error), "`make install`, or set BRIEFINGS_EMBEDDING_MODEL")
    missing = [name for name in MODEL_FILES if not (Path(folder) / name).is_file()]
    if missing:
        fix = "reinstall the package that ships it (`make clean install`)"
        return Check("embedding model", "fail", f"{identity} at {folder} lacks {', '.join(missing)}", fix)
    return Check("embedding model", "ok", f"{identity} ({settings.embedding_backend}) at {folder}")


def scoring_model_check(settings: Settings) -> Check:
    try:
        load_model(settings.scoring_model)
    except (OSError, ValueError, KeyError) as error:
        fix = "unset BRIEFINGS_SCORING_MODEL, or write one with `briefings tune --out`"
        return Check("answer model", "fail", f"cannot be read ({error})", fix)
    return Check("answer model", "ok", str(settings.scoring_model or "the shipped assistant/answer/model.json"))


def reader_check(settings: Settings) -> Check:
    """The reader model's files are there and match their card (the checksum is read, nothing is loaded)."""
    from assistant.answer.reader import MODEL_DIR, MODEL_FILE, REBUILD, read_meta
    from index.model_cache import file_sha256

    folder = settings.reader_model or MODEL_DIR
    try:
        meta = read_meta(folder)
    except BriefingsError as error:
        return Check("reader model", "fail" if settings.answerer == "reader" else "warn", str(error), REBUILD)
    if file_sha256(folder / MODEL_FILE) != meta.get("sha256"):
        return Check("reader model", "fail", f"{folder / MODEL_FILE} does not match its reader.json", REBUILD)
    thresholds = meta.get("thresholds") or "none fitted (defaults)"
    return Check("reader model", "ok", f"{folder / MODEL_FILE}, thresholds {thresholds}")


def name_words_check() -> Check:
    """The shipped list of words news writes as names, which checks lower-case names against the corpus."""
    from assistant.text.name_words import REBUILD, SHIPPED, shipped_words

    try:
        count = len(shipped_words())
    except BriefingsError as error:
        return Check("name words", "fail", str(error), REBUILD)
    return Check("name words", "ok", f"{count} words in {SHIPPED}")


def index_checks(settings: Settings, open_store: Callable[[], ChunkStore]) -> list[Check]:
    """Opens the index and counts it, then compares the lexical index with it."""
    where = settings.location.describe()
    try:
        ChunkStore.require_present(settings.location)
        store = open_store()
        articles, chunks = store.counts()
    except BriefingsError as error:
        return [Check("index", "fail", str(error)), _skipped("lexical index", "the index")]  # the error says what to do
    if not articles:
        return [
            Check("index", "warn", f"{where} is empty", "`briefings ingest FOLDER`"),
            lexical_check(settings, store),
        ]
    return [Check("index", "ok", f"{where}: {articles} articles, {chunks} chunks"), lexical_check(settings, store)]


def lexical_check(settings: Settings, store: ChunkStore) -> Check:
    path = database_path(lexical_folder(settings.index))
    if not path.is_file():
        return Check("lexical index", "warn", f"no {path} yet", "built from Chroma by the next ingest or question")
    try:
        lexical = LexicalIndex(path)
        chunks, generation = lexical.count(), lexical.generation
    except LexicalDamaged as error:
        return Check("lexical index", "warn", str(error), "`briefings ingest` builds it again from Chroma")
    stored = store.counts()[1]
    if generation == store.generation and chunks == stored:
        return Check("lexical index", "ok", f"{chunks} chunks, in step with Chroma")
    found = f"{chunks} chunks at generation {generation[:8] or '-'}, Chroma {stored} at {store.generation[:8] or '-'}"
    return Check("lexical index", "warn", found, "`briefings ingest` (or the next question) brings it in step")


def chromium_check() -> Check:
    if CHROMIUM.is_file() or shutil.which("chromium"):
        return Check("chromium", "ok", "present, for the browser tests")
    return Check("chromium", "warn", "missing; only the browser tests need it", "`make browser-deps`")


def slack_check(settings: Settings) -> Check:
    secret, token = settings.slack_signing_secret, settings.slack_bot_token
    if not secret and not token:
        return Check("slack", "ok", "not configured (the Slack routes answer 503)")
    if not secret or not token:
        missing = "SLACK_SIGNING_SECRET" if not secret else "SLACK_BOT_TOKEN"
        return Check("slack", "fail", f"{missing} is not set, so Slack stays off", f"set {missing} as well")
    if not token.startswith("xoxb-"):
        return Check("slack", "warn", "SLACK_BOT_TOKEN is not a bot token (xoxb-…)", "use the Bot User OAuth Token")
    if settings.slack_client_id or settings.slack_client_secret:
        fix = "unset SLACK_CLIENT_ID and SLACK_CLIENT_SECRET"
        return Check("slack", "warn", "OAuth client settings make slack-bolt expect installs", fix)
    return Check("slack", "ok", "signing secret and bot token set (checked with Slack on the first event)")


def _skipped(name: str, after: str) -> Check:
    return Check(name, "warn", f"not checked, as {after} is not usable", "fix that first")
