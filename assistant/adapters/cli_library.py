"""``briefings list`` and ``briefings remove``: what the index holds, and taking a briefing out of it.

A thin adapter like the rest of the command line: the list and the removal are the service's (the same the
HTTP API and the UI's Briefings panel use); this module owns the table, the confirmation and the wording. A
removal deletes files (an upload's), so it is shown and confirmed first unless ``--yes`` is given, and a
command that cannot ask (no terminal) refuses rather than guess. Also asks the question ``ingest --prune``
needs when a folder no longer holds any briefing (:func:`confirm_removal`).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from assistant.adapters.cli_common import ChromaOption, IndexOption, settings_from, user_errors
from assistant.errors import BriefingsError

if TYPE_CHECKING:
    from assistant.service import Briefing, BriefingService

YesOption = Annotated[bool, typer.Option("--yes", "-y", help="Remove without asking")]
_COLUMNS = ("date", "id", "type", "pages", "chunks", "source", "indexed", "title")


def add_library_commands(app: typer.Typer) -> None:
    """Register ``list`` and ``remove`` on the ``briefings`` app."""
    app.command("list")(user_errors(list_command))
    app.command("remove")(user_errors(remove_command))


def list_command(
    index: IndexOption = None,
    chroma_url: ChromaOption = None,
    since: Annotated[str | None, typer.Option("--since", help="Only briefings dated on or after YYYY-MM-DD")] = None,
    until: Annotated[str | None, typer.Option("--until", help="Only briefings dated on or before YYYY-MM-DD")] = None,
    text: Annotated[str, typer.Option("--search", help="Only briefings whose id or title holds this")] = "",
    as_json: Annotated[bool, typer.Option("--json", help="Print the list as JSON")] = False,
) -> None:
    """List the indexed briefings, newest first: id, title, date, type, pages, chunks, source, when indexed."""
    from assistant.service import BriefingService

    service = BriefingService(settings_from(index=index, chroma_url=chroma_url))
    page = service.briefings(since, until, text)
    if as_json:
        typer.echo(json.dumps(page.to_dict(), ensure_ascii=False, indent=2))
        return
    rows = [_row(briefing) for briefing in page.briefings]
    widths = [max([len(name), *(len(row[column]) for row in rows)]) for column, name in enumerate(_COLUMNS[:-1])]
    for row in [list(_COLUMNS), *rows]:
        typer.echo("  ".join([*(cell.ljust(width) for cell, width in zip(row, widths, strict=False)), row[-1]]))
    typer.echo(f"{page.total} briefing(s) in {service.settings.location.describe()}", err=True)


def remove_command(
    docs: Annotated[list[str], typer.Argument(help="Article ids, as `briefings list` shows them")],
    index: IndexOption = None,
    chroma_url: ChromaOption = None,
    yes: YesOption = False,
) -> None:
    """Remove briefings from the index (and an upload's file from the corpus folder); they are never cited again."""
    from assistant.service import BriefingService

    service = BriefingService(settings_from(index=index, chroma_url=chroma_url))
    going = service.briefings_named(docs)  # an unknown id ends it here, before anything is asked or removed
    for briefing in going:
        typer.echo(f"  {briefing.doc}  {briefing.date or '(no date)'}  {briefing.title}")
    confirm_removal(service, len(going), yes)
    for removed in service.remove([briefing.doc for briefing in going]):
        typer.echo(removed.describe())


def confirm_removal(service: BriefingService, count: int, yes: bool) -> None:
    """Ask before ``count`` briefings are removed; without a terminal, only ``--yes`` may go on."""
    if yes:
        return
    question = f"Remove {count} briefing(s) from {service.settings.location.describe()}?"
    if not sys.stdin.isatty():
        raise BriefingsError(f"{question} Nothing was removed: run it again with --yes to confirm")
    if not typer.confirm(question, default=False):
        raise BriefingsError("Nothing was removed")


def prune_emptied(service: BriefingService, paths: list[Path], yes: bool) -> bool:
    """``ingest --prune`` of folders that no longer hold a briefing: remove the articles that came from them.

    ``False`` when none did (the caller then reports the empty folder as before, so a typo still loses nothing).
    """
    docs = service.articles_from(paths)
    if not docs:
        return False
    where = ", ".join(str(path) for path in paths)
    typer.echo(f"{where} holds no briefings any more; {len(docs)} indexed briefing(s) came from there.")
    confirm_removal(service, len(docs), yes)
    removed = service.remove(docs, delete_files=False)
    typer.echo(f"Removed {len(removed)} briefing(s) whose files are gone from {where}")
    return True


def _row(briefing: Briefing) -> list[str]:
    source = "upload" if briefing.upload else briefing.source
    pages = str(briefing.pages) if briefing.pages else ""
    indexed = briefing.indexed or ""
    return [
        briefing.date or "",
        briefing.doc,
        briefing.type,
        pages,
        str(briefing.chunks),
        source,
        indexed,
        briefing.title,
    ]
