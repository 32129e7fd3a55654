"""The performance commands of ``briefings``: ``bench``, ``formats-bench``, ``first-ingest``, ``scale``, ``load``.

Owns only the translation from flags to :mod:`assistant.measure` runs and their printed or written reports; the
measuring itself lives in :mod:`assistant.measure`. Must not answer questions or open the index itself, and must
not read the environment: defaults come from :class:`assistant.settings.Settings`. The commands are registered
on the one ``briefings`` app by :func:`add_measure_commands`, after the everyday verbs, so ``--help`` lists them
in that order.
"""

from __future__ import annotations

import functools
import json
import shlex
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from assistant.adapters.cli_common import settings_from, user_errors
from assistant.errors import ConfigurationError


def add_measure_commands(app: typer.Typer) -> None:
    """Register ``bench``, ``formats-bench``, ``first-ingest``, ``scale`` and ``load`` on ``app``."""
    app.command("bench")(bench_command)
    app.command("formats-bench")(formats_bench_command)
    app.command("first-ingest")(first_ingest_command)
    app.command("scale")(scale_command)
    app.command("load")(load_command)


def write_report(path: Path, report: dict[str, Any]) -> None:
    """A command's JSON report, its folder made first (reports go to ``docs/`` or anywhere a user names)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2) + "\n")


def stop_cleanly_on_sigterm() -> None:
    """Long measurements start servers and fill temporary folders: a ``kill`` must clean up as Ctrl-C does."""
    import signal

    def interrupt(*_: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)


@user_errors
def bench_command(
    corpus: Annotated[
        list[Path] | None,
        typer.Option("--corpus", help="Corpus folder, repeatable (default: corpus/ and ../shared/corpora/news-2024q1)"),
    ] = None,
    questions: Annotated[
        list[Path] | None,
        typer.Option("--questions", help="Question set (JSONL), repeatable (default: each corpus's own)"),
    ] = None,
    json_out: Annotated[Path | None, typer.Option("--json", help="Write the bench report here")] = None,
    index: Annotated[
        Path | None,
        typer.Option("--index", help="Build the bench index here, kept afterwards (default: a temporary folder)"),
    ] = None,
    plot_out: Annotated[
        Path | None,
        typer.Option("--plot", help="Draw every speed figure into this PNG (default: the --json path, as .png)"),
    ] = None,
    suite_dir: Annotated[
        Path | None,
        typer.Option(
            "--suite-dir",
            exists=True,
            file_okay=False,
            help="Folder of the other measure reports (first_ingest.json, scale.json, load*.json, formats_bench.json) "
            "to gather and check the targets against (default: the --from-report folder, else the --json folder)",
        ),
    ] = None,
    from_report: Annotated[
        Path | None,
        typer.Option(
            "--from-report",
            help="Measure nothing: take the bench figures from this earlier bench report, gather the other reports "
            "and check the targets again, and redraw the plot (seconds, where measuring takes about 30 minutes)",
        ),
    ] = None,
) -> None:
    """Time ingest, queries, cold start and memory beside the plain LangChain pipeline (see docs/performance.md).

    The report also gathers the other measure reports found beside it and checks the speed targets."""
    from assistant.measure.bench import format_table
    from assistant.measure.bench_plot import plot
    from assistant.measure.bench_suite import format_targets

    if from_report is not None:
        refuse_measuring_flags(corpus=corpus, questions=questions, index=index)
        report = rebuilt_bench(from_report, suite_dir or from_report.parent)
    else:
        report = measured_bench(corpus, questions, index, suite_dir or (json_out.parent if json_out else None))
    if json_out:
        write_report(json_out, report)
    picture = plot_out or (json_out.with_suffix(".png") if json_out else None)
    if picture:
        plot(report, picture)
    typer.echo(format_table(report))
    typer.echo(format_targets(report["suite"]))


def refuse_measuring_flags(**given: object) -> None:
    """``--from-report`` measures nothing, so a flag that only shapes a measurement would be silently ignored."""
    named = [f"--{name}" for name, value in given.items() if value]
    if named:
        raise ConfigurationError(f"--from-report measures nothing: drop {', '.join(named)}")


def rebuilt_bench(earlier: Path, suite_dir: Path) -> dict[str, Any]:
    """An earlier bench report's measured figures, with the suite and targets built again from ``suite_dir``."""
    from assistant.measure.bench_suite import read_bench_report, with_suite

    return with_suite(read_bench_report(earlier), suite_dir)


def measured_bench(
    corpus: list[Path] | None, questions: list[Path] | None, index: Path | None, suite_dir: Path | None
) -> dict[str, Any]:
    """Run the bench on the given corpora and question sets (each corpus's own set by default)."""
    from assistant.measure.bench import default_corpora, default_question_files, ensure_empty, run_bench

    stop_cleanly_on_sigterm()

    settings = settings_from()
    corpora = list(corpus) if corpus else default_corpora(settings)
    question_files = list(questions) if questions else default_question_files(corpora)
    if index is not None:
        ensure_empty(index)
    say = functools.partial(typer.echo, err=True)
    return run_bench(settings, corpora, question_files, index, say=say, suite_dir=suite_dir)


@user_errors
def formats_bench_command(
    corpus: Annotated[
        Path | None,
        typer.Option("--corpus", help="Folder of .txt articles (default: ../shared/corpora/news-2024q1/articles)"),
    ] = None,
    articles: Annotated[int, typer.Option("--articles", min=1, help="How many articles, by sorted file name")] = 200,
    spread: Annotated[
        bool, typer.Option("--spread", help="Take them evenly spaced through the sorted files, not the first ones")
    ] = False,
    repeat: Annotated[int, typer.Option("--repeat", min=1, help="Timed runs of extraction and of each ingest")] = 3,
    json_out: Annotated[Path | None, typer.Option("--json", help="Write the report here")] = None,
) -> None:
    """Time PDF text extraction and PDF ingest beside the same articles as text, and check the text came back."""
    from assistant.measure.format_bench import default_corpus, format_table, run_formats_bench

    stop_cleanly_on_sigterm()

    command = shlex.join(["briefings", *sys.argv[1:]])
    say = functools.partial(typer.echo, err=True)
    report = run_formats_bench(settings_from(), corpus or default_corpus(), articles, repeat, spread, command, say)
    if json_out:
        write_report(json_out, report)
    typer.echo(format_table(report))


@user_errors
def first_ingest_command(
    corpus: Annotated[
        Path | None,
        typer.Option("--corpus", help="Folder of .txt articles (default: ../shared/corpora/news-2024q1/articles)"),
    ] = None,
    articles: Annotated[int, typer.Option("--articles", min=1, help="How many, evenly spaced by file name")] = 200,
    repeat: Annotated[int, typer.Option("--repeat", min=1, help="Timed runs of each side")] = 3,
    json_out: Annotated[Path | None, typer.Option("--json", help="Write the report here")] = None,
) -> None:
    """Wall time of a new process indexing N articles into a new index, ours beside the plain pipeline's."""
    from assistant.measure.bench import child_environment
    from assistant.measure.first_ingest import measure_first_ingest
    from assistant.measure.format_bench import default_corpus

    stop_cleanly_on_sigterm()

    settings = settings_from()
    say = functools.partial(typer.echo, err=True)
    report = measure_first_ingest(corpus or default_corpus(), articles, repeat, child_environment(settings), say)
    report["command"] = shlex.join(["briefings", *sys.argv[1:]])
    if json_out:
        write_report(json_out, report)
    typer.echo(
        f"first ingest of {report['articles']} articles, whole process: ours {report['ours_seconds']:.1f} s "
        f"(empty model cache {report['ours_empty_model_cache_seconds']:.1f} s), plain {report['plain_seconds']:.1f} s: "
        f"{report['speed_ratio']:.2f}x as fast"
    )


@user_errors
def scale_command(
    sizes: Annotated[str, typer.Option("--sizes", help="Collection sizes to measure at, increasing")] = (
        "10000,100000,1000000"
    ),
    chroma_url: Annotated[
        str | None,
        typer.Option("--chroma-url", help="Chroma server to fill a scratch collection on (default: a temporary one)"),
    ] = None,
    embedded: Annotated[
        bool, typer.Option("--embedded", help="Use an embedded database in a temporary folder instead of a server")
    ] = False,
    json_out: Annotated[Path | None, typer.Option("--json", help="Write the results here (after every size)")] = None,
    plot_out: Annotated[Path | None, typer.Option("--plot", help="Draw the curves into this PNG")] = None,
    queries: Annotated[
        int, typer.Option("--queries", min=1, help="Planted facts whose questions are asked at every size")
    ] = 200,
    corpus: Annotated[
        Path | None,
        typer.Option("--corpus", help="Real chunks come first (default: ../shared/corpora/news-2024q1/articles)"),
    ] = None,
    questions: Annotated[
        Path | None,
        typer.Option("--questions", help="Real questions (JSONL) (default: questions-dev.jsonl beside the corpus)"),
    ] = None,
    cache: Annotated[
        Path | None,
        typer.Option("--cache", help="Keep embedded vectors here for later runs (default: beside the model cache)"),
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the planted briefings")] = 0,
    drop_caches: Annotated[
        bool,
        typer.Option(
            "--drop-caches/--no-drop-caches", help="Before cold queries, also drop the kernel's page cache (root)"
        ),
    ] = True,
    ef_search: Annotated[
        int | None,
        typer.Option("--ef-search", min=1, help="Fixed HNSW search width (default: ours, growing with size)"),
    ] = None,
) -> None:
    """Insert rate, cold and warm latency, recall@10 and planted-fact hits as Chroma grows (docs/performance.md)."""
    from assistant.measure.format_bench import default_corpus
    from assistant.measure.scale_bench import ScaleConfig, parse_sizes, run_scale
    from assistant.measure.scale_plot import plot

    stop_cleanly_on_sigterm()

    settings = settings_from()
    articles = corpus or default_corpus()
    config = ScaleConfig(
        sizes=tuple(parse_sizes(sizes)),
        corpus=articles,
        questions=questions or articles.parent / "questions-dev.jsonl",
        cache=cache or settings.model_dir.parent / "scale-vectors",
        probes=queries,
        seed=seed,
        candidates=settings.candidates,
        chroma_url=chroma_url,
        embedded=embedded,
        drop_caches=drop_caches,
        ef_search=ef_search,
    )

    def save(report: dict[str, Any]) -> None:  # after every size, so a long run that dies keeps its results
        typer.echo(f"scale: {report['points'][-1]['size']:,} chunks measured", err=True)
        report["command"] = shlex.join(["briefings", *sys.argv[1:]])
        if json_out:
            write_report(json_out, report)
        if plot_out:
            plot(report, plot_out)

    report = run_scale(config, settings, functools.partial(typer.echo, err=True), save)
    typer.echo(
        f"{'chunks':>10}  {'inserts/s':>9}  {'ef_search':>9}  {'warm p50':>8}  {'cold 1st':>8}"
        "  recall@10  planted hit@10"
    )
    for point in report["points"]:
        rate, hits, cold = point["inserts_per_second"] or 0, point["hit_at_10"]["hnsw"]["planted"], point["cold"]
        typer.echo(
            f"{point['size']:>10,}  {rate:>9,.0f}  {point['ef_search']:>9,}  {point['query_p50_ms']:>8.2f}"
            f"  {cold['first_query_ms']:>8.1f}  {point['recall_at_10']:>9.3f}"
            f"  {'-' if hits is None else f'{hits:.3f}':>14}"
        )


@user_errors
def load_command(
    url: Annotated[
        str, typer.Option("--url", help="Base URL of a running `briefings serve`")
    ] = "http://127.0.0.1:7860",
    concurrency: Annotated[int, typer.Option("--concurrency", min=1, max=1000, help="Askers in flight at once")] = 50,
    seconds: Annotated[float, typer.Option("--seconds", min=0.1, help="How long to keep asking")] = 60.0,
    questions: Annotated[
        Path | None, typer.Option("--questions", help="Question set (JSONL) (default: corpus/questions.jsonl)")
    ] = None,
    json_out: Annotated[Path | None, typer.Option("--json", help="Write the report here")] = None,
    token: Annotated[
        str | None,
        typer.Option("--token", help=r"Bearer token, if the server wants one \[env var: BRIEFINGS_API_TOKEN]"),
    ] = None,
    timeout: Annotated[
        float, typer.Option("--timeout", min=0.1, help="Seconds one answer may take before it counts as an error")
    ] = 60.0,
    allow_remote: Annotated[
        bool, typer.Option("--allow-remote", help="Allow a server that is not on this machine")
    ] = False,
    upload: Annotated[
        list[Path] | None,
        typer.Option("--upload", help="Briefing file or folder to upload, one file after another, during the run"),
    ] = None,
    server_pid: Annotated[
        int | None, typer.Option("--server-pid", help="Sample this server process's memory (RSS) during the run")
    ] = None,
) -> None:
    """Ask a running server many questions at once; report throughput, p50/p95/p99 latency and errors.

    With ``--upload`` the server also indexes new briefings while it answers; with ``--server-pid`` the
    report shows its memory over the run."""
    import httpx

    from assistant.adapters.exposure import is_loopback
    from assistant.measure.load import LoadPlan, format_summary, run_load, upload_files
    from assistant.measure.questions import read_questions

    stop_cleanly_on_sigterm()

    host = httpx.URL(url).host
    if not host or not (is_loopback(host) or allow_remote):
        raise ConfigurationError(f"Refusing to load {url}: only this machine's servers by default (--allow-remote)")
    settings = settings_from()
    asked = read_questions([questions or settings.corpus / "questions.jsonl"])
    files = upload_files(upload or [])
    bearer = token if token is not None else settings.api_token
    report = run_load(LoadPlan(url.rstrip("/"), asked, concurrency, seconds, timeout, bearer, files, server_pid))
    if json_out:
        write_report(json_out, report)
    typer.echo(format_summary(report))
