"""The ``briefings`` command: a thin adapter from arguments to :class:`BriefingService` and back.

User errors (the :mod:`assistant.errors` tree) become one line on stderr and exit status 1; there is never a
traceback for something the user can fix. Heavy imports happen inside commands so ``--help`` is instant.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from assistant.errors import BriefingsError, ConfigurationError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Briefings: answers about your briefing documents, with a verified citation for every claim.",
)

F = TypeVar("F", bound=Callable[..., Any])

IndexOption = Annotated[
    Path | None, typer.Option("--index", help="Index folder [default: $BRIEFINGS_INDEX or .briefings]")
]
LlmOption = Annotated[str | None, typer.Option("--llm", help="extractive (default), openai:MODEL or ollama:MODEL")]
ChromaOption = Annotated[
    str | None, typer.Option("--chroma-url", help="Use a Chroma server, e.g. http://127.0.0.1:8000")
]


def user_errors(command: F) -> F:
    """Turn the project's errors into ``error: <message>`` and exit 1, and Ctrl-C into exit 130."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except BriefingsError as error:
            typer.echo(f"error: {error}", err=True)
            raise typer.Exit(1) from None
        except KeyboardInterrupt:
            typer.echo("interrupted", err=True)
            raise typer.Exit(130) from None

    return wrapper  # type: ignore[return-value]


def settings_from(**overrides: Any) -> Any:
    """Settings from the environment, with the flags that were given taking precedence."""
    from pydantic import ValidationError

    from assistant.settings import Settings

    try:
        return Settings(**{name: value for name, value in overrides.items() if value is not None})
    except ValidationError as error:
        problem = error.errors()[0]
        where = ".".join(str(part) for part in problem["loc"]) or "settings"
        raise ConfigurationError(f"Invalid setting {where}: {problem['msg']}") from None


@app.callback()
def main(verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log what happens")] = False) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@app.command("ingest")
@user_errors
def ingest_command(
    paths: Annotated[list[Path] | None, typer.Argument(help="Files or folders [default: corpus/]")] = None,
    index: IndexOption = None,
    chroma_url: ChromaOption = None,
    prune: Annotated[
        bool,
        typer.Option(
            "--prune",
            help="Also drop indexed articles whose files lay under the given folders (or were the given files) "
            "and are gone or no longer load; articles from anywhere else are kept",
        ),
    ] = False,
    rebuild: Annotated[
        bool,
        typer.Option(
            "--rebuild",
            help="Replace the whole index with the given paths, built beside the old one, which keeps answering "
            "until the new one is complete; an index that cannot be opened is moved aside into damaged-*/",
        ),
    ] = False,
) -> None:
    """Index articles incrementally: unchanged files are skipped, changed ones replaced."""
    from assistant.adapters.console import print_ingest_report, tqdm_progress
    from assistant.service import BriefingService

    settings = settings_from(index=index, chroma_url=chroma_url)
    targets = list(paths) if paths else [settings.corpus]
    report = BriefingService(settings).ingest(targets, prune=prune, progress=tqdm_progress, rebuild=rebuild)
    print_ingest_report(report, settings.location.describe())


@app.command("ask")
@user_errors
def ask_command(
    question: Annotated[str, typer.Argument(help="The question, in quotes")],
    index: IndexOption = None,
    chroma_url: ChromaOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the answer object as JSON")] = False,
    since: Annotated[str | None, typer.Option("--since", help="Only articles dated on or after YYYY-MM-DD")] = None,
    until: Annotated[str | None, typer.Option("--until", help="Only articles dated on or before YYYY-MM-DD")] = None,
    llm: LlmOption = None,
) -> None:
    """Answer one question with numbered, verified citations."""
    from assistant.adapters.console import print_answer
    from assistant.service import BriefingService

    settings = settings_from(index=index, chroma_url=chroma_url, llm=llm)
    answer = BriefingService(settings).ask(question, since=since, until=until)
    if as_json:
        typer.echo(json.dumps(answer.to_dict(), ensure_ascii=False, indent=2))
    else:
        print_answer(answer)


@app.command("eval")
@user_errors
def eval_command(
    questions: Annotated[Path, typer.Argument(help="Question set (JSONL)")],
    index: IndexOption = None,
    chroma_url: ChromaOption = None,
    json_out: Annotated[Path | None, typer.Option("--json", help="Write the report object here")] = None,
    report: Annotated[Path | None, typer.Option("--report", help="Write a Markdown report (+ PNG chart) here")] = None,
    llm: LlmOption = None,
) -> None:
    """Score answers, citations, abstention and latency against a question set."""
    from assistant.adapters.console import print_eval_summary
    from assistant.measure.evaluation import evaluate
    from assistant.service import BriefingService

    settings = settings_from(index=index, chroma_url=chroma_url, llm=llm)
    result = evaluate(BriefingService(settings), questions, show_progress=sys.stderr.isatty())
    if json_out:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(json.dumps(result, ensure_ascii=False, indent=2))
    if report:
        from assistant.measure.report import write_markdown

        write_markdown(result, report, title=f"Evaluation of {questions.name}")
    print_eval_summary(result)


@app.command("tune")
@user_errors
def tune_command(
    questions: Annotated[list[Path], typer.Argument(help="Question sets (JSONL) with gold answers")],
    index: IndexOption = None,
    out: Annotated[Path | None, typer.Option("--out", help="Write the fitted model here [default: print it]")] = None,
    hide_evidence: Annotated[
        bool,
        typer.Option(help="Also ask each answerable question with its evidence articles hidden, as a near miss"),
    ] = True,
) -> None:
    """Fit evidence ranking and abstention on question sets (``make calibrate`` makes the shipped model)."""
    from assistant.measure.tune import fit
    from assistant.service import BriefingService

    service = BriefingService(settings_from(index=index))
    sources = [f"{path.name} on {service.settings.location.describe()}" for path in questions]
    model = fit(service, questions, sources, hide_evidence)
    if out:
        out.write_text(model.to_json() + "\n")
        typer.echo(f"Wrote {out} (fitted on {', '.join(sources)})", err=True)
    else:
        typer.echo(model.to_json())


@app.command("serve")
@user_errors
def serve_command(
    host: Annotated[str, typer.Option("--host", help="Address to bind")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port to listen on")] = 7860,
    index: IndexOption = None,
    chroma_url: ChromaOption = None,
    llm: LlmOption = None,
    auth: Annotated[
        str | None,
        typer.Option("--auth", envvar="BRIEFINGS_AUTH", help="USER:PASSWORD for the chat UI's login page"),
    ] = None,
    insecure: Annotated[
        bool, typer.Option("--insecure", help="Allow a non-loopback --host without --auth and BRIEFINGS_API_TOKEN")
    ] = False,
) -> None:
    """Serve the chat UI (/), the HTTP API (/api/ask, /docs) and /healthz on HOST:PORT."""
    import uvicorn

    from assistant.adapters.exposure import ensure_port_free, guard_exposure, parse_auth
    from assistant.adapters.http import create_app
    from assistant.service import BriefingService

    settings = settings_from(index=index, chroma_url=chroma_url, llm=llm)
    ui_auth = parse_auth(auth) if auth else None
    guard_exposure(host, ui_auth is not None, settings.api_token is not None, insecure)
    ensure_port_free(host, port)
    service = BriefingService(settings)
    try:
        service.warm_up()
    except BriefingsError as error:  # serve anyway: /api/status and the UI say why it is not ready
        typer.echo(f"warning: {error}", err=True)
    url = f"http://{f'[{host}]' if ':' in host else host}:{port}/"
    typer.echo(f"\n  Briefings is ready: {url}\n  HTTP API docs: {url}docs    (Ctrl-C stops the server)\n")
    # keep-alive longer than clients' idle gaps, so a busy client never races a closing connection
    uvicorn.run(create_app(service, ui_auth=ui_auth), host=host, port=port, log_level="warning", timeout_keep_alive=60)


# ------------------------------------------------------------------------------------ feedback
feedback_app = typer.Typer(no_args_is_help=True, help="Votes (👍/👎) given to answers in Slack.")
app.add_typer(feedback_app, name="feedback")


@feedback_app.command("export")
@user_errors
def feedback_export_command(
    index: IndexOption = None,
    out: Annotated[Path | None, typer.Option("--out", help="Write the JSONL here [default: stdout]")] = None,
) -> None:
    """Export the votes as a question set (JSONL) for `briefings eval`; 👎 lines are flagged needs_review."""
    from assistant.adapters.slack.feedback import FeedbackStore, export_jsonl

    store = FeedbackStore.for_settings(settings_from(index=index))
    votes = store.votes()
    if out is None:
        written = export_jsonl(votes, sys.stdout)
    else:
        out.parent.mkdir(parents=True, exist_ok=True)
        with out.open("w", encoding="utf-8") as file:
            written = export_jsonl(votes, file)
    down = sum(vote.verdict == "down" for vote in votes)
    where = f" to {out}" if out else ""
    typer.echo(f"Exported {written} question(s){where} from {store.path} ({down} to review)", err=True)


# --------------------------------------------------------------------------------- performance
def stop_cleanly_on_sigterm() -> None:
    """Long measurements start servers and fill temporary folders: a ``kill`` must clean up as Ctrl-C does."""
    import signal

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)


@app.command("bench")
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
) -> None:
    """Time ingest, queries, cold start and memory beside the plain LangChain pipeline (see README, Performance)."""
    from assistant.measure.bench import default_corpora, default_question_files, ensure_empty, format_table, run_bench

    stop_cleanly_on_sigterm()

    settings = settings_from()
    corpora = list(corpus) if corpus else default_corpora(settings)
    question_files = list(questions) if questions else default_question_files(corpora)
    if index is not None:
        ensure_empty(index)
    report = run_bench(settings, corpora, question_files, index, say=lambda line: typer.echo(line, err=True))
    if json_out:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(json.dumps(report, indent=2) + "\n")
    typer.echo(format_table(report))


@app.command("scale")
@user_errors
def scale_command(
    sizes: Annotated[str, typer.Option("--sizes", help="Collection sizes to measure at, increasing")] = (
        "10000,100000,300000,1000000"
    ),
    chroma_url: Annotated[
        str | None,
        typer.Option("--chroma-url", help="Chroma server to fill a scratch collection on (default: a temporary one)"),
    ] = None,
    json_out: Annotated[Path | None, typer.Option("--json", help="Write the results here (after every size)")] = None,
    plot_out: Annotated[Path | None, typer.Option("--plot", help="Draw the curves into this PNG")] = None,
    queries: Annotated[int, typer.Option("--queries", min=1, help="Timed queries per size")] = 200,
    recall_queries: Annotated[
        int, typer.Option("--recall-queries", min=1, help="Of those, how many are checked against exact search")
    ] = 100,
    text_chars: Annotated[
        int, typer.Option("--text-chars", min=0, help="Characters of text per synthetic chunk (0: none)")
    ] = 800,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the synthetic vectors and texts")] = 0,
) -> None:
    """Insert rate, dense query latency and recall@10 of Chroma as it grows (see README, Performance)."""
    from assistant.measure.scale_bench import SyntheticChunks, parse_sizes, plot, run_scale

    stop_cleanly_on_sigterm()

    data = SyntheticChunks(seed=seed, text_chars=text_chars)
    candidates = settings_from().candidates

    def save(report: dict[str, Any]) -> None:  # after every size, so a long run that dies keeps its results
        typer.echo(f"scale: {report['points'][-1]['size']:,} chunks measured", err=True)
        if json_out:
            json_out.parent.mkdir(parents=True, exist_ok=True)
            json_out.write_text(json.dumps(report, indent=2) + "\n")
        if plot_out:
            plot(report, plot_out)

    say = functools.partial(typer.echo, err=True)
    report = run_scale(parse_sizes(sizes), chroma_url, queries, recall_queries, candidates, data, say, save)
    typer.echo(f"{'chunks':>10}  {'inserts/s':>10}  {'p50 ms':>7}  {'p95 ms':>7}  recall@10")
    for point in report["points"]:
        rate = point["inserts_per_second"] or 0
        typer.echo(
            f"{point['size']:>10,}  {rate:>10,.0f}  {point['query_p50_ms']:>7.2f}  {point['query_p95_ms']:>7.2f}  "
            f"{point['recall_at_10']:.3f}"
        )


@app.command("load")
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
        str | None, typer.Option("--token", envvar="BRIEFINGS_API_TOKEN", help="Bearer token, if the server wants one")
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

    from assistant.measure.bench import read_questions
    from assistant.measure.load import LoadPlan, format_summary, run_load, upload_files

    stop_cleanly_on_sigterm()

    from assistant.adapters.exposure import is_loopback

    host = httpx.URL(url).host
    if not host or not (is_loopback(host) or allow_remote):
        raise ConfigurationError(f"Refusing to load {url}: only this machine's servers by default (--allow-remote)")
    asked = read_questions([questions or settings_from().corpus / "questions.jsonl"])
    files = upload_files(upload or [])
    report = run_load(LoadPlan(url.rstrip("/"), asked, concurrency, seconds, timeout, token, files, server_pid))
    if json_out:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(json.dumps(report, indent=2) + "\n")
    typer.echo(format_summary(report))


def run() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    run()
