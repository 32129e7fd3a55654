"""``briefings doctor`` and ``briefings --version``: what an operator runs first when something is off.

The checks are the service's (:mod:`assistant.doctor`, reached through :class:`BriefingService`); this module
prints one line per check and sets the exit status: 1 when any check failed, so a deploy script can stop on
it; warnings (no chromium on a server, a lexical index about to catch up) do not fail.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

import typer

from assistant.adapters.cli_common import ChromaOption, IndexOption, settings_from, user_errors


def package_version() -> str:
    """The installed distribution's version (what ``pip`` and bug reports name)."""
    try:
        return version("briefings")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown (not installed: run `make install`)"


def show_version(value: bool) -> None:
    """``--version``: print and stop before any command runs."""
    if value:
        typer.echo(f"briefings {package_version()}")
        raise typer.Exit()


def add_doctor_command(app: typer.Typer) -> None:
    app.command("doctor")(user_errors(doctor_command))


def doctor_command(index: IndexOption = None, chroma_url: ChromaOption = None) -> None:
    """Check Python, the model files, the index and its lexical twin, chromium and Slack; say how to fix each."""
    from assistant.service import BriefingService

    service = BriefingService(settings_from(index=index, chroma_url=chroma_url))
    typer.echo(f"briefings {package_version()}")
    found = service.checks()
    for check in found:
        typer.echo(check.line())
    failed = [check.name for check in found if check.status == "fail"]
    if failed:
        typer.echo(f"{len(failed)} check(s) failed: {', '.join(failed)}", err=True)
        raise typer.Exit(1)
