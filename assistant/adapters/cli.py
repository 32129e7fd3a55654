"""The ``briefings`` command: a thin adapter from arguments to :class:`BriefingService` and back.

Owns the everyday verbs (``ingest``, ``ask``, ``eval``, ``tune``, ``serve``, ``feedback export``) and the entry
point; the performance verbs live in :mod:`assistant.adapters.cli_measure`, registered on the same app. Must not
compute answers or touch the index itself: every verb hands its flags, as settings, to the service or to
:mod:`assistant.measure`. User errors (the :mod:`assistant.errors` tree) become one line on stderr and exit
status 1; there is never a traceback for something the user can fix. Heavy imports happen inside commands so
``--help`` is instant.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from assistant.adapters.cli_common import ChromaOption, IndexOption, LlmOption, settings_from, user_errors
from assistant.adapters.cli_digest import add_digest_commands
from assistant.adapters.cli_doctor import add_doctor_command, show_version
from assistant.adapters.cli_library import YesOption, add_library_commands
from assistant.adapters.cli_measure import add_measure_commands
from assistant.adapters.cli_train import add_train_commands
from assistant.errors import BriefingsError, EmptyCorpus

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Briefings: answers about your briefing documents, with a verified citation for every claim.",
)


@app.callback()
def main(
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log what happens")] = False,
    _version: Annotated[
        bool, typer.Option("--version", callback=show_version, is_eager=True, help="Print the version and stop")
    ] = False,
) -> None:
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
    yes: YesOption = False,
) -> None:
    """Index articles incrementally: unchanged files are skipped, changed ones replaced."""
    from assistant.adapters.cli_library import prune_emptied
    from assistant.adapters.console import print_ingest_report, tqdm_progress
    from assistant.service import BriefingService

    settings = settings_from(index=index, chroma_url=chroma_url)
    targets = list(paths) if paths else [settings.corpus]
    service = BriefingService(settings)
    try:
        report = service.ingest(targets, prune=prune, progress=tqdm_progress, rebuild=rebuild)
    except EmptyCorpus:  # an existing folder emptied of briefings: pruning it means removing what came from it
        if prune and not rebuild and prune_emptied(service, targets, yes):
            return
        raise
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
    timings: Annotated[
        bool,
        typer.Option("--timings", help="Warm up as a server would, then print where the question's time went"),
    ] = False,
) -> None:
    """Answer one question with numbered, verified citations."""
    from assistant.adapters.console import print_answer, print_timings
    from assistant.service import BriefingService

    settings = settings_from(index=index, chroma_url=chroma_url, llm=llm)
    service = BriefingService(settings)
    if timings:  # without it the figures would be start-up: model, index and first-use imports
        service.warm_up()
    answer = service.ask(question, since=since, until=until)
    if as_json:
        typer.echo(json.dumps(answer.to_dict(), ensure_ascii=False, indent=2))
    else:
        print_answer(answer)
    if timings:
        print_timings(answer.timings_ms)


@app.command("eval")
@user_errors
def eval_command(
    questions: Annotated[Path, typer.Argument(help="Question set (JSONL)")],
    index: IndexOption = None,
    chroma_url: ChromaOption = None,
    json_out: Annotated[Path | None, typer.Option("--json", help="Write the report object here")] = None,
    report: Annotated[Path | None, typer.Option("--report", help="Write a Markdown report (+ PNG chart) here")] = None,
    llm: LlmOption = None,
    casual: Annotated[
        bool, typer.Option("--casual", help="Also ask every question as people type it; report both side by side")
    ] = False,
    answerer: Annotated[
        str | None, typer.Option("--answerer", help="rules (default) or reader: what picks the answer")
    ] = None,
) -> None:
    """Score answers, citations, abstention and latency against a question set (or digests against a digest set)."""
    from assistant.measure.digest_eval import is_digest_set

    if is_digest_set(questions):
        from assistant.adapters.cli_digest import run_digest_eval

        return run_digest_eval(questions, settings_from(index=index, chroma_url=chroma_url), json_out, report)
    from assistant.adapters.console import print_eval_summary
    from assistant.measure.evaluation import evaluate
    from assistant.service import BriefingService

    settings = settings_from(index=index, chroma_url=chroma_url, llm=llm, answerer=answerer)
    result = evaluate(BriefingService(settings), questions, show_progress=sys.stderr.isatty(), casual=casual)
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
        typer.Option("--auth", help=r"USER:PASSWORD for the chat UI's login page \[env var: BRIEFINGS_AUTH]"),
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

    settings = settings_from(index=index, chroma_url=chroma_url, llm=llm, auth=auth)
    ui_auth = parse_auth(settings.auth) if settings.auth else None
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


add_library_commands(app)
add_doctor_command(app)
add_digest_commands(app)
add_measure_commands(app)  # after the everyday verbs: `briefings --help` lists commands in this order
add_train_commands(app)


def run() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    run()
