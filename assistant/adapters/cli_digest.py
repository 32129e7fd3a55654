"""``briefings digest``: what the briefings of a time window say about a topic, as a dated timeline.

A thin adapter: flags become a :class:`DigestRequest`, the service builds the digest, this module only prints
it (a timeline grouped by day, or ``--json``: the object of ``POST /api/digest``). Bad dates, a limit out of
range and the like arrive as the project's errors and end as one line (``user_errors``); an empty window is
a digest with a note, printed as that note.
"""

from __future__ import annotations

import json
import textwrap
from typing import Annotated

import typer

from assistant.adapters.cli_common import ChromaOption, IndexOption, settings_from, user_errors
from assistant.service import Digest, DigestItem, DigestRequest

WIDTH = 100


def digest_command(
    topic: Annotated[str, typer.Argument(help="What the digest is about; leave out for everything")] = "",
    since: Annotated[
        str | None,
        typer.Option("--since", help="First day: YYYY-MM-DD, 'March 3', 'Monday' [default: a week before --until]"),
    ] = None,
    until: Annotated[
        str | None, typer.Option("--until", help="Last day, as --since [default: the newest briefing's date]")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", help="At most this many items (the most salient)")] = 10,
    as_json: Annotated[bool, typer.Option("--json", help="Print the digest object as JSON")] = False,
    index: IndexOption = None,
    chroma_url: ChromaOption = None,
) -> None:
    """Catch up: the key sentences of a window's briefings, verbatim and cited, merged and grouped by day."""
    from assistant.service import BriefingService

    service = BriefingService(settings_from(index=index, chroma_url=chroma_url))
    digest = service.digest(DigestRequest(topic, since, until, limit))
    if as_json:
        typer.echo(json.dumps(digest.to_dict(), ensure_ascii=False, indent=2))
    else:
        typer.echo(timeline_text(digest))


def timeline_text(digest: Digest) -> str:
    """The digest as plain text: a heading, then each day with its items and where each is quoted from."""
    lines = [digest.heading]
    if digest.note:
        lines += ["", digest.note]
    for day, items in digest.days():
        lines += ["", day]
        for item in items:
            lines += _item_lines(item)
    if digest.more:
        lines += ["", f"More: ask again with --limit {digest.limit + 10}."]
    return "\n".join(lines)


def _item_lines(item: DigestItem) -> list[str]:
    text = textwrap.fill(item.text, width=WIDTH, initial_indent="  • ", subsequent_indent="    ")
    sources = [f"{citation.title} ({citation.doc} [{citation.start}:{citation.end}])" for citation in item.citations]
    reported = f"{item.briefings} briefings: " if item.briefings > 1 else ""
    where = textwrap.fill(
        reported + "; ".join(sources), width=WIDTH, initial_indent="    — ", subsequent_indent="      "
    )
    return [text, where]


def add_digest_commands(app: typer.Typer) -> None:
    """Register ``digest`` on the one ``briefings`` app."""
    app.command("digest")(user_errors(digest_command))
