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

IndexOption = Annotated[Path | None, typer.Option("--index", help="Index folder [default: $BRIEFINGS_INDEX or .briefings]")]
LlmOption = Annotated[str | None, typer.Option("--llm", help="extractive (default), openai:MODEL or ollama:MODEL")]
ChromaOption = Annotated[str | None, typer.Option("--chroma-url", help="Use a Chroma server, e.g. http://127.0.0.1:8000")]


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

    from assistant.config import Settings

    try:
        return Settings(**{name: value for name, value in overrides.items() if value is not None})
    except ValidationError as error:
        problem = error.errors()[0]
        where = ".".join(str(part) for part in problem["loc"]) or "settings"
        raise ConfigurationError(f"Invalid setting {where}: {problem['msg']}") from None


@app.callback()
def main(verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log what happens")] = False) -> None:
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@app.command("ingest")
@user_errors
def ingest_command(
    paths: Annotated[list[Path] | None, typer.Argument(help="Files or folders [default: corpus/]")] = None,
    index: IndexOption = None,
    chroma_url: ChromaOption = None,
    prune: Annotated[bool, typer.Option("--prune", help="Drop indexed articles whose files are gone")] = False,
    rebuild: Annotated[bool, typer.Option("--rebuild", help="Delete the index first and build it anew")] = False,
) -> None:
    """Index articles incrementally: unchanged files are skipped, changed ones replaced."""
    from assistant.console import print_ingest_report, tqdm_progress
    from assistant.service import BriefingService
    from index.store import ChunkStore

    settings = settings_from(index=index, chroma_url=chroma_url)
    targets = list(paths) if paths else [settings.corpus]
    if rebuild:
        ChunkStore.drop(settings.location)
    report = BriefingService(settings).ingest(targets, prune=prune, progress=tqdm_progress)
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
    from assistant.console import print_answer
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
    from assistant.console import print_eval_summary
    from assistant.evaluation import evaluate
    from assistant.service import BriefingService

    settings = settings_from(index=index, chroma_url=chroma_url, llm=llm)
    result = evaluate(BriefingService(settings), questions, show_progress=sys.stderr.isatty())
    if json_out:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(json.dumps(result, ensure_ascii=False, indent=2))
    if report:
        from assistant.eval_report import write_markdown

        write_markdown(result, report, title=f"Evaluation of {questions.name}")
    print_eval_summary(result)


@app.command("serve")
@user_errors
def serve_command(
    host: Annotated[str, typer.Option("--host", help="Address to bind")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port to listen on")] = 7860,
    index: IndexOption = None,
    chroma_url: ChromaOption = None,
    llm: LlmOption = None,
) -> None:
    """Serve the HTTP API (and the chat UI) on HOST:PORT."""
    import uvicorn

    from assistant.api import create_app
    from assistant.service import BriefingService

    settings = settings_from(index=index, chroma_url=chroma_url, llm=llm)
    service = BriefingService(settings)
    try:
        service.warm_up()
    except BriefingsError as error:  # serve anyway: /healthz says why it is not ready
        typer.echo(f"warning: {error}", err=True)
    typer.echo(f"Briefings is serving on http://{host}:{port}/", err=True)
    uvicorn.run(create_app(service), host=host, port=port, log_level="warning")


def run() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    run()
