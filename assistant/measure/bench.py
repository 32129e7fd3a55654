"""``briefings bench``: ingest speed, query latency, uploads, cold start and memory, beside the plain pipeline.

Both pipelines read the same files (through :func:`index.articles.load_article`), so "chars per second" means
characters of article text on both sides, and answer the same questions. Ours is measured end to end: ingest
is ``BriefingService.ingest`` (load, chunk, embed, write Chroma and the lexical index) into a fresh index, and a
query is ``BriefingService.ask`` (hybrid retrieval, evidence selection, a cited answer), where the plain
pipeline only retrieves; the two are timed in turn, question by question, once both indexes are built, so
a machine whose speed drifts during the long run weighs on both alike. Model loading is timed apart on both
sides. Cold start and peak memory are taken from fresh processes, because a process that has already run the
plain pipeline holds torch as well. Uploads into the built index are timed last, so no timed answer sees them.
The report keys are a contract (see DESIGN.md, "Bench report"); extra keys are informational: among them the
median time of each stage of an answer (``query_stages_p50_ms``) and the ``suite`` of the other measure reports
found beside this one, with the speed targets checked (:mod:`assistant.measure.bench_suite`).

Owns: the bench report, timing our pipeline in this process and in fresh child processes (cold start, peak
memory), and the terminal table of the report.

Must not: touch the user's index or Chroma server (it builds a fresh embedded index in a temporary folder, or in
an empty ``--index`` folder), judge whether a figure is fast enough (the tests check the report's shape only),
or give the plain pipeline anything of ours beyond reading the files (``bench_plain`` keeps it apart).
"""

from __future__ import annotations

import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from assistant.errors import BriefingsError, ConfigurationError
from assistant.measure.bench_plain import measure_plain
from assistant.measure.bench_suite import dig, shown, with_suite
from assistant.measure.questions import read_questions
from assistant.measure.stats import percentiles
from assistant.settings import Settings
from index.articles import Article, SourceFile, discover, load_article
from index.embedding import resolve_model

NEWS = Path("..") / "shared" / "corpora" / "news-2024q1"
QUESTION_FILES = ("questions-dev.jsonl", "questions.jsonl")
SUBPROCESS_TIMEOUT = 3600
# Asked untimed before timing, one per answer path that loads something lazily on first use (an entity
# question loads the span tagger, for instance); none is in a question set, so no timed question is cached.
WARM_UP_QUESTIONS = (
    "Who said what about it?",
    "When did it happen?",
    "How long did it last?",
    "How many were there?",
    "Where was it?",
    "What is the budget in dollars?",
)

UPLOADS = 5  # new briefings uploaded one after another into the built index, once the queries are timed
UPLOAD_MIN_CHARS = 3000  # several chunks each, like a real briefing rather than a one-line note

Say = Callable[[str], None]


# ----------------------------------------------------------------------------------------- inputs
def default_corpora(settings: Settings) -> list[Path]:
    """``corpus/`` and, when this checkout sits beside the shared corpora, the news articles."""
    news = NEWS / "articles"
    return [settings.corpus] + ([news] if news.is_dir() else [])


def default_question_files(corpora: Sequence[Path]) -> list[Path]:
    """Each corpus's own question set: in its folder or, for ``<set>/articles``, beside it (dev half first)."""
    found: list[Path] = []
    for folder in corpora:
        for candidate in [folder / name for name in QUESTION_FILES] + [folder.parent / n for n in QUESTION_FILES]:
            if folder.is_dir() and candidate.is_file():
                found.append(candidate)
                break
    return found


def load_corpus(corpora: Sequence[Path]) -> list[tuple[SourceFile, Article]]:
    """The articles both pipelines index, one per id as ingest keeps them (the last file with an id wins)."""
    sources, _ = discover(corpora)
    kept: dict[str, tuple[SourceFile, Article]] = {}
    for source in sources:
        loaded = load_article(source)
        if isinstance(loaded, Article):
            kept[loaded.id] = (source, loaded)
    if not kept:
        raise ConfigurationError(f"No loadable articles under {', '.join(map(str, corpora))}")
    return list(kept.values())


# ------------------------------------------------------------------------------------------ ours
def measure_ours(settings: Settings, corpora: Sequence[Path], say: Say) -> tuple[dict[str, Any], OurAnswers]:
    """Ingest and re-ingest unchanged through :class:`BriefingService`, in this process; the warmed-up service
    comes back wrapped for timing its answers beside the plain pipeline's searches."""
    from assistant.service import BriefingService

    service = BriefingService(settings)
    say("briefings: loading the model")
    started = time.perf_counter()
    _ = service.embedder
    model_load_seconds = time.perf_counter() - started

    say("briefings: ingesting")
    started = time.perf_counter()
    report = service.ingest(list(corpora))
    ingest_seconds = time.perf_counter() - started
    started = time.perf_counter()
    service.ingest(list(corpora))
    reingest_seconds = time.perf_counter() - started

    service.warm_up()
    for question in WARM_UP_QUESTIONS:
        service.ask(question)
    measured = {
        "chunks": report.chunks,
        "chars": report.chars,
        "ingest_seconds": ingest_seconds,
        "reingest_unchanged_seconds": reingest_seconds,
        "model_load_seconds": model_load_seconds,
    }
    return measured, OurAnswers(service)


class OurAnswers:
    """Times ``BriefingService.ask`` one question at a time and keeps each answer's stage timings."""

    def __init__(self, service: Any) -> None:
        self.service = service
        self.latencies_ms: list[float] = []
        self.stage_timings_ms: list[dict[str, float]] = []

    def __call__(self, question: str) -> None:
        began = time.perf_counter()
        answer = self.service.ask(question)
        self.latencies_ms.append((time.perf_counter() - began) * 1000)
        self.stage_timings_ms.append(answer.timings_ms)


def measure_uploads(service: Any, corpus: Sequence[tuple[SourceFile, Article]], folder: Path) -> dict[str, Any]:
    """Seconds from an upload's bytes to its being answerable, one upload at a time into the built index, through
    :func:`assistant.uploads.add_upload` (what ``POST /api/documents`` runs, without the HTTP layer).

    Each upload is the text of a corpus article (evenly spaced through those of several chunks) under a new name,
    so it is a new article of realistic size; nothing in ingest reuses work by text.
    """
    from assistant.uploads import add_upload

    articles = [article for _, article in corpus]
    long_enough = [article for article in articles if len(article.text) >= UPLOAD_MIN_CHARS] or articles
    picked = long_enough[:: max(1, len(long_enough) // UPLOADS)][:UPLOADS]
    seconds, chunks = [], []
    for number, article in enumerate(picked, start=1):
        began = time.perf_counter()
        added = add_upload(folder, f"bench-upload-{number}.txt", article.text.encode("utf-8"), service.ingest)
        seconds.append(time.perf_counter() - began)
        chunks.append(added.report.chunks)
    median = percentiles(seconds, (50,))
    return {
        "files": len(picked),
        "seconds_each": [round(value, 3) for value in seconds],
        "seconds_median": round(median[0], 3) if median else None,
        "seconds_max": round(max(seconds), 3) if seconds else None,
        "chunks_each": chunks,
        "how": "after the timed queries, each upload of a corpus article's text under a new name through "
        "add_upload (save, load, chunk, embed, write Chroma and the lexical index), one after another",
    }


def stage_p50s(timings: Sequence[dict[str, float]]) -> dict[str, float]:
    """Each stage's median over every answer; an answer that skipped a stage spent 0 ms in it."""
    names = list(dict.fromkeys(name for timing in timings for name in timing))
    medians = {name: percentiles([timing.get(name, 0.0) for timing in timings], (50,)) for name in names}
    return {name: round(median[0], 2) for name, median in medians.items() if median is not None}


def child_environment(settings: Settings) -> dict[str, str]:
    """The bench index and model cache for a fresh process; never a Chroma server the user has configured."""
    # The one place outside settings that reads the environment, on purpose: a child process needs the caller's
    # PATH, HOME, locale and virtualenv variables to start at all, and ``Settings`` holds only our own variables.
    # The child builds its own Settings from what is passed here (tests/test_layout.py allows this copy by name).
    env = {name: value for name, value in os.environ.items() if name != "BRIEFINGS_CHROMA_URL"}
    env.update(BRIEFINGS_INDEX=str(settings.index), BRIEFINGS_MODEL_CACHE=str(settings.model_dir), HF_HUB_OFFLINE="1")
    return env


def briefings_command() -> list[str]:
    """The installed ``briefings`` script beside this interpreter, else the module (same code either way)."""
    script = Path(sys.executable).with_name("briefings")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "assistant.adapters.cli"]


def run_child(command: list[str], settings: Settings, what: str) -> subprocess.CompletedProcess[str]:
    """Run ``command`` in a fresh process on the bench's index; a failure is an error quoting its last line."""
    finished = subprocess.run(
        command, env=child_environment(settings), capture_output=True, text=True, timeout=SUBPROCESS_TIMEOUT
    )
    if finished.returncode != 0:
        raise BriefingsError(f"bench: {what} failed: {last_line(finished.stderr)}")
    return finished


def measure_cold_start(settings: Settings, question: str) -> float:
    """Wall time of ``briefings ask`` in a new process: interpreter, imports, model, index, first answer."""
    started = time.perf_counter()
    run_child([*briefings_command(), "ask", question], settings, "`briefings ask`")
    return time.perf_counter() - started


def measure_peak_rss(settings: Settings, questions: Sequence[str], folder: Path) -> float:
    """Peak resident memory (MB) of a fresh process that loads the service and answers every question."""
    questions_file = folder / "questions.json"
    questions_file.write_text(json.dumps(list(questions)))
    command = [sys.executable, "-m", "assistant.measure.bench", "probe", str(questions_file)]
    finished = run_child(command, settings, "the memory probe")
    return float(json.loads(finished.stdout.strip().splitlines()[-1])["peak_rss_mb"])


def probe(questions_file: Path) -> None:
    """Entry point of the memory probe: a serving process's core, warmed up, answering the question set."""
    from assistant.service import BriefingService

    service = BriefingService(Settings())
    service.warm_up()
    for question in json.loads(questions_file.read_text()):
        service.ask(question)
    print(json.dumps({"peak_rss_mb": peak_rss_mb()}))


def peak_rss_mb() -> float:
    """This process's peak resident set size (Linux reports KiB, macOS bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


# ---------------------------------------------------------------------------------------- report
def run_bench(
    base: Settings,
    corpora: Sequence[Path],
    question_files: Sequence[Path],
    index: Path | None = None,
    say: Say = lambda _: None,
    suite_dir: Path | None = None,
) -> dict[str, Any]:
    """Measure both pipelines and return the bench report (DESIGN.md keys first, then extras).

    The ``suite`` gathers the other measure reports in ``suite_dir`` (none read when it is ``None``)."""
    questions = read_questions(question_files)
    corpus = load_corpus(corpora)
    corpus_chars = sum(len(article.text) for _, article in corpus)
    with tempfile.TemporaryDirectory(prefix="briefings-bench-") as scratch:
        folder = Path(scratch)
        settings = base.model_copy(
            update={"index": index or folder / "index", "chroma_url": None, "model_cache": base.model_dir.resolve()}
        )
        say(f"bench: {len(corpus)} articles, {corpus_chars:,} characters, {len(questions)} questions")
        ours, answers = measure_ours(settings, corpora, say)
        say("briefings: cold start (a new `briefings ask` process)")
        cold_start = measure_cold_start(settings, questions[0])
        say("briefings: peak memory (a new process answering every question)")
        peak_rss = measure_peak_rss(settings, questions, folder)
        model_dir, _ = resolve_model(settings.embedding_model)
        sources = [source for source, _ in corpus]
        say(f"both: {len(questions)} questions, ours and plain in turn")
        plain = measure_plain(sources, questions, model_dir, folder / "plain", WARM_UP_QUESTIONS, say, answers)
        ours |= {"latencies_ms": answers.latencies_ms, "stage_timings_ms": answers.stage_timings_ms}
        say(f"briefings: {UPLOADS} uploads into the built index, one after another")
        ours["upload"] = measure_uploads(answers.service, corpus, folder / "uploads")
    report = build_report(settings, corpus_chars, len(corpus), questions, ours, cold_start, peak_rss, plain)
    return with_suite(report, suite_dir)


def build_report(
    settings: Settings,
    corpus_chars: int,
    docs: int,
    questions: Sequence[str],
    ours: dict[str, Any],
    cold_start: float,
    peak_rss: float,
    plain: Any,
) -> dict[str, Any]:
    our_cps = corpus_chars / ours["ingest_seconds"]
    plain_cps = plain.chars / plain.ingest_seconds
    our_p50, our_p95 = percentiles(ours["latencies_ms"], (50, 95)) or (0.0, 0.0)
    plain_p50, plain_p95 = percentiles(plain.latencies_ms, (50, 95)) or (0.0, 0.0)
    return {
        "corpus_docs": docs,
        "corpus_chars": corpus_chars,
        "chunks": ours["chunks"],
        "ingest_seconds": round(ours["ingest_seconds"], 3),
        "chars_per_second": round(our_cps, 1),
        "reingest_unchanged_seconds": round(ours["reingest_unchanged_seconds"], 3),
        "query_p50_ms": round(our_p50, 2),
        "query_p95_ms": round(our_p95, 2),
        "cold_start_seconds": round(cold_start, 3),
        "peak_rss_mb": round(peak_rss, 1),
        "plain": {
            "ingest_seconds": round(plain.ingest_seconds, 3),
            "chars_per_second": round(plain_cps, 1),
            "query_p50_ms": round(plain_p50, 2),
            "query_p95_ms": round(plain_p95, 2),
            "chunks": plain.chunks,
            "model_load_seconds": round(plain.model_load_seconds, 3),
            "what": "RecursiveCharacterTextSplitter(1000, 200) -> HuggingFaceEmbeddings (torch) -> "
            "langchain_chroma.Chroma -> similarity_search(k=4): retrieval only",
        },
        "ratios": {
            "ingest_speed": round(our_cps / plain_cps, 3),
            "query_p50": round(our_p50 / plain_p50, 3) if plain_p50 > 0 else None,
        },
        "questions": len(questions),
        "model_load_seconds": round(ours["model_load_seconds"], 3),
        "query": "BriefingService.ask: hybrid retrieval + evidence selection + cited answer, warm; timed in turn "
        "with the plain pipeline's search for the same question (ours first for every other question)",
        "query_stages_p50_ms": stage_p50s(ours.get("stage_timings_ms", [])),
        "upload": ours.get("upload"),
        "query_stages_of": "each answer's timings_ms (retrieve, answer and total, and the stages timed inside "
        "them), the median over the timed questions; medians of parts do not add up to the median total",
        "peak_rss_of": "a fresh process: BriefingService warmed up, answering every question (no HTTP layer)",
        "settings": {
            "embedding_backend": settings.embedding_backend,
            "embedding_model": settings.embedding_model or "packaged all-MiniLM-L6-v2",
            "chunk_size": settings.chunk_size,
            "chunk_overlap": settings.chunk_overlap,
            "candidates": settings.candidates,
        },
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
    }


def format_table(report: dict[str, Any]) -> str:
    """The report as a small table for the terminal."""
    plain, ratios = report["plain"], report["ratios"]
    rows = [
        ("", "briefings", "plain LangChain", "ours/plain"),
        ("ingest (s)", f"{report['ingest_seconds']:.2f}", f"{plain['ingest_seconds']:.2f}", ""),
        (
            "ingest (chars/s)",
            f"{report['chars_per_second']:,.0f}",
            f"{plain['chars_per_second']:,.0f}",
            f"{ratios['ingest_speed']:.2f}x (higher is better)",
        ),
        (
            "query p50 (ms)",
            f"{report['query_p50_ms']:.1f}",
            f"{plain['query_p50_ms']:.1f}",
            f"{ratios['query_p50']:.2f}x (lower is better)" if ratios["query_p50"] is not None else "-",
        ),
        ("query p95 (ms)", f"{report['query_p95_ms']:.1f}", f"{plain['query_p95_ms']:.1f}", ""),
        ("re-ingest unchanged (s)", f"{report['reingest_unchanged_seconds']:.2f}", "-", ""),
        ("one upload, slowest (s)", shown(dig(report, "upload", "seconds_max"), "s"), "-", ""),
        ("cold start to 1st answer (s)", f"{report['cold_start_seconds']:.2f}", "-", ""),
        ("peak RSS answering (MB)", f"{report['peak_rss_mb']:.0f}", "-", ""),
        ("chunks", f"{report['chunks']:,}", f"{plain['chunks']:,}", ""),
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = [
        "  ".join(cell.ljust(widths[i]) if i == 0 else cell.rjust(widths[i]) for i, cell in enumerate(row))
        for row in rows
    ]
    lines.append(
        f"{report['corpus_docs']:,} articles, {report['corpus_chars']:,} characters, "
        f"{report['questions']} questions; ours answers with citations, plain only retrieves"
    )
    return "\n".join(line.rstrip() for line in lines)


def last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "no output"


def ensure_empty(folder: Path) -> None:
    """Refuse a folder that holds anything: the bench builds a fresh index and must not mix with another."""
    if folder.exists() and any(folder.iterdir()):
        raise ConfigurationError(f"--index {folder} is not empty: the bench builds a fresh index; pick a new folder")


if __name__ == "__main__" and len(sys.argv) == 3 and sys.argv[1] == "probe":
    probe(Path(sys.argv[2]))
