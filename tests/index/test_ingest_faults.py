"""SIGKILL the real ``briefings ingest`` (and an upload) at random points: after every kill, a rebuild's
included, the index must open and answer, and the next run must finish it into exactly what a clean build
holds, with the lexical files matching the store."""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path

import pytest

from assistant.service import BriefingService
from assistant.settings import Settings
from index.embedding import Embedder
from index.ingest import GROUP_CHUNKS
from index.lexical import LexicalIndex, database_path, lexical_folder
from index.store import ChunkStore
from tests.conftest import PROJECT

CHUNK_SIZE, CHUNK_OVERLAP = 100, 20  # small chunks: several write groups from a corpus that embeds in seconds
TRIALS = 10
PLACES = "Velmora Ostrand Kelby Marisk Dunhallow Tarsen Quillon Brevik Astmoor Caldera Fennick Harrowgate".split()
THINGS = "grain convoy ferry bridge reservoir railway turbine harbour vaccine clinic school archive pipeline".split()
PEOPLE = "Ansel Quint|Mira Solberg|Tobias Renn|Ilka Varro|Dario Fenn|Agnes Loh|Petra Udall|Hedda Brun".split("|")
VERBS = "inspected|delayed|approved|reopened|expanded|suspended|audited|rebuilt|financed|rerouted".split("|")
UPLOAD_SCRIPT = (
    "import sys; from pathlib import Path; from assistant.settings import Settings; "
    "from assistant.service import BriefingService; "
    "BriefingService(Settings()).add_document(sys.argv[1], Path(sys.argv[2]).read_bytes())"
)

Rows = frozenset[tuple[str, str, int, int, str]]


def article_text(number: int, version: int, paragraphs: int = 10) -> str:
    """A briefing of its own: seeded sentences that no other article or version repeats."""
    rng = random.Random(number * 1000 + version)
    body = []
    for paragraph in range(paragraphs):
        sentences = [
            f"{rng.choice(PEOPLE)} {rng.choice(VERBS)} the {rng.choice(THINGS)} near {rng.choice(PLACES)} after "
            f"{rng.randint(2, 990)} {rng.choice(['days', 'tonnes', 'workers'])} in report {number}-{version}-"
            f"{paragraph}-{sentence}."
            for sentence in range(5)
        ]
        body.append(" ".join(sentences))
    title = f"{PLACES[number % len(PLACES)]} {THINGS[number * 7 % len(THINGS)]} briefing {number}"
    return f"date 2024-0{1 + number % 9}-{1 + number % 27:02d}\n{title}\n" + "\n\n".join(body) + "\n"


def write_version(corpus: Path, version: int) -> None:
    """Version 0 has articles 0-29; version 1 rewrites every third, drops article 29 and adds article 30."""
    corpus.mkdir(exist_ok=True)
    numbers = range(30) if version == 0 else [*range(29), 30]
    for path in corpus.glob("briefing_*.txt"):
        if int(path.stem.split("_")[1]) not in numbers:
            path.unlink()
    for number in numbers:
        edited = version == 1 and number % 3 == 0
        (corpus / f"briefing_{number:02d}.txt").write_text(article_text(number, 1 if edited else 0))


def settings_for(index: Path, model_cache: Path, corpus: Path) -> Settings:
    return Settings(
        index=index, corpus=corpus, model_cache=model_cache, chunk_size=CHUNK_SIZE, chunk_overlap=CHUNK_OVERLAP
    )


def environment(settings: Settings) -> dict[str, str]:
    return {
        **os.environ,
        "BRIEFINGS_INDEX": str(settings.index),
        "BRIEFINGS_CORPUS": str(settings.corpus),
        "BRIEFINGS_MODEL_CACHE": str(settings.model_cache),
        "BRIEFINGS_CHUNK_SIZE": str(CHUNK_SIZE),
        "BRIEFINGS_CHUNK_OVERLAP": str(CHUNK_OVERLAP),
    }


def start(command: list[str], settings: Settings) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        command, env=environment(settings), cwd=PROJECT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )


def run_to_end(command: list[str], settings: Settings) -> float:
    started = time.monotonic()
    process = start(command, settings)
    _, errors = process.communicate(timeout=300)
    assert process.returncode == 0, errors.decode()
    return time.monotonic() - started


def kill_after(process: subprocess.Popen[bytes], delay: float) -> bool:
    """SIGKILL ``process`` ``delay`` seconds after it started; False if it had already finished."""
    try:
        process.wait(timeout=delay)
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGKILL)
        process.wait()
        return True
    return False


def fresh_service(settings: Settings, embedder: Embedder) -> BriefingService:
    """A service that reads what the subprocesses wrote (not a cached Chroma view), sharing one loaded model."""
    from chromadb.api.client import SharedSystemClient

    SharedSystemClient.clear_system_cache()
    service = BriefingService(settings)
    vars(service)["embedder"] = embedder  # loading the same model again for every check only costs time
    return service


def assert_usable(settings: Settings, embedder: Embedder) -> None:
    """The killed index opens, its lexical index loads or builds, and a question gets an answer object, in a
    new process as a user's next command would (an embedded Chroma index is not shared live across processes,
    so this process's cached view of it is no test of what the files hold)."""
    command = [
        sys.executable,
        "-m",
        "assistant.adapters.cli",
        "ask",
        "Who inspected the grain convoy near Velmora?",
        "--json",
    ]
    asked = subprocess.run(command, env=environment(settings), cwd=PROJECT, capture_output=True, text=True, timeout=300)
    assert asked.returncode == 0, f"exit {asked.returncode}: {asked.stderr[-2000:]}"
    answer = json.loads(asked.stdout)
    assert answer["question"] and (answer["abstained"] or answer["citations"])


def rows(settings: Settings, embedder: Embedder) -> Rows:
    """Every chunk of a finished index, after checking that its lexical index mirrors exactly those, is synced
    with the store's generation and records every article's state as the store does."""
    fresh_service(settings, embedder)
    store = ChunkStore.open(settings.location, embedder)
    chunks = list(store.iter_chunks())
    found = frozenset((c.id, c.doc, c.start, c.end, c.text) for c in chunks)
    assert len(found) == len(chunks), "duplicate chunks"
    saved = LexicalIndex(database_path(lexical_folder(settings.index)))
    assert saved.generation == store.generation, "the lexical index is not synced with the store's generation"
    assert frozenset((c.id, c.doc, c.start, c.end, c.text) for c in saved.all_chunks()) == found
    assert_lexical_whole(settings, store)
    assert all(record.content_hash != "pending" for record in store.article_records().values())
    return found


def assert_lexical_whole(settings: Settings, store: ChunkStore) -> None:
    """No full-text row without its chunk (or the other way round), and every article's recorded state is the
    store's: what a clean build holds."""
    with closing(sqlite3.connect(database_path(lexical_folder(settings.index)))) as db:
        [(chunks, indexed)] = db.execute("select (select count(*) from chunks), (select count(*) from chunk_terms)")
        states = {doc: state.split(" ")[0] for doc, state in db.execute("select doc, state from docs")}
    assert chunks == indexed
    assert states == {doc: record.content_hash for doc, record in store.article_records().items()}


@pytest.mark.slow
def test_killed_ingests_and_uploads_always_finish_into_a_clean_build(tmp_path: Path, model_cache: Path) -> None:
    corpus = tmp_path / "corpus"
    trial = settings_for(tmp_path / "trial", model_cache, corpus)
    ingest = [sys.executable, "-m", "assistant.adapters.cli", "ingest", str(corpus), "--prune"]
    rng = random.Random(20240301)
    timings: dict[str, float] = {}

    embedder = BriefingService(trial).embedder  # exports the model into the shared cache before anything is timed
    write_version(corpus, 0)
    timings["clean full build"] = run_to_end(ingest, trial)
    clean = {0: rows(trial, embedder)}
    assert len(clean[0]) > 2 * GROUP_CHUNKS, "the corpus must span several write groups"
    write_version(corpus, 1)
    timings["clean update"] = run_to_end(ingest, trial)
    reference = settings_for(tmp_path / "reference", model_cache, corpus)
    fresh_service(reference, embedder).ingest([corpus])  # version 1 built from scratch, in this process
    clean[1] = rows(reference, embedder)
    assert rows(trial, embedder) == clean[1]

    landed, attempts, version, durations = 0, 0, 1, dict(timings)
    while landed < TRIALS and attempts < 2 * TRIALS:  # a run that ends before its kill is retried, not counted
        version, rebuild = 1 - version, attempts % 3 == 2  # always a version change; every third a rebuild
        attempts += 1
        write_version(corpus, version)
        kind = "clean full build" if rebuild else "clean update"
        process, started = start([*ingest, "--rebuild"] if rebuild else ingest, trial), time.monotonic()
        if kill_after(process, rng.uniform(0.05, 0.9) * durations[kind]):
            landed += 1
            assert_usable(trial, embedder)  # a rebuild too: it writes beside the live index until its swap
        else:  # the machine is less busy than when measured: aim within this run's length next time
            assert process.returncode == 0, process.communicate()[1].decode()
            durations[kind] = min(durations[kind], time.monotonic() - started)
        run_to_end(ingest, trial)
        assert rows(trial, embedder) == clean[version], f"attempt {attempts} ({'rebuild' if rebuild else 'update'})"
    assert landed == TRIALS, f"only {landed} of {attempts} kills landed before the ingest finished"

    upload = [sys.executable, "-c", UPLOAD_SCRIPT]
    uploads = tmp_path / "uploads"
    uploads.mkdir()
    for number in range(4):
        (uploads / f"upload_{number}.txt").write_text(article_text(100 + number, 0, paragraphs=40))
    timings["clean upload"] = run_to_end([*upload, "upload_0.txt", str(uploads / "upload_0.txt")], trial)
    upload_kills = 0
    for number in range(1, 4):
        arguments = [*upload, f"upload_{number}.txt", str(uploads / f"upload_{number}.txt")]
        upload_kills += kill_after(start(arguments, trial), rng.uniform(0.3, 0.95) * timings["clean upload"])
        assert_usable(trial, embedder)
        run_to_end(arguments, trial)
    uploaded = settings_for(tmp_path / "uploaded", model_cache, uploads)
    fresh_service(uploaded, embedder).ingest([uploads])
    assert rows(trial, embedder) == clean[version] | rows(uploaded, embedder)
    timings["kills landed"], timings["attempts"], timings["upload kills landed"] = landed, attempts, upload_kills
    print("fault test timings (s):", {name: round(seconds, 1) for name, seconds in timings.items()})
