"""``briefings digest``: what the briefings of a time window say about a topic, as a dated timeline.

A thin adapter: flags become a :class:`DigestRequest`, the service builds the digest, this module only prints
it (a timeline grouped by day, or ``--json``: the object of ``POST /api/digest``). Bad dates, a limit out of
range and the like arrive as the project's errors and end as one line (``user_errors``); an empty window is
a digest with a note, printed as that note.
"""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from assistant.adapters.cli_common import ChromaOption, IndexOption, settings_from, user_errors
from assistant.service import Digest, DigestItem, DigestRequest

if TYPE_CHECKING:
    from assistant.settings import Settings

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
    post_slack: Annotated[
        str | None,
        typer.Option(
            "--post-slack",
            metavar="CHANNEL",
            help="Post it to this Slack channel (SLACK_BOT_TOKEN) instead of printing it; a channel gets each "
            "topic's digest of a window once, so a scheduled re-run posts nothing new",
        ),
    ] = None,
    index: IndexOption = None,
    chroma_url: ChromaOption = None,
) -> None:
    """Catch up: the key sentences of a window's briefings, verbatim and cited, merged and grouped by day."""
    from assistant.service import BriefingService

    settings = settings_from(index=index, chroma_url=chroma_url)
    digest = BriefingService(settings).digest(DigestRequest(topic, since, until, limit))
    if post_slack:
        typer.echo(_post(settings, post_slack, digest))
    elif as_json:
        typer.echo(json.dumps(digest.to_dict(), ensure_ascii=False, indent=2))
    else:
        typer.echo(timeline_text(digest))


def _post(settings: Settings, channel: str, digest: Digest) -> str:
    """One line for the log of a scheduled run: posted, already posted, or nothing to post."""
    from assistant.adapters.slack.digest import post_digest

    window = f"{digest.since} to {digest.until}"
    if not digest.items:
        return f"Nothing posted to {channel}: {digest.note or 'the digest is empty.'}"
    if post_digest(settings, channel, digest):
        return f"Posted the digest of {window} ({len(digest.items)} items) to {channel}"
    return f"Already posted the digest of {window} to {channel}; nothing sent"


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
    app.command("digest-set")(user_errors(digest_set_command))


def run_digest_eval(digests: Path, settings: Settings, json_out: Path | None, report: Path | None) -> None:
    """``briefings eval DIGESTS.jsonl``: digests scored beside the lead baseline (``eval`` hands a digest set here)."""
    from assistant.measure.digest_eval import evaluate_digests
    from assistant.service import BriefingService

    result = evaluate_digests(BriefingService(settings), digests, show_progress=sys.stderr.isatty())
    result["set"] = digests.name
    result["index"] = settings.location.describe()
    if json_out:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n")
    if report:
        from assistant.measure.digest_report import write_digest_markdown

        write_digest_markdown(result, report)
    typer.echo(digest_summary(result))


def digest_summary(result: dict[str, Any]) -> str:
    """One table: each kind of digest (and all together) against the lead baseline."""
    lines = [
        f"{'digests':<10}{'n':>5}{'recall@10':>11}{'lead@10':>9}{'recall@20':>11}{'lead@20':>9}"
        f"{'redund.':>9}{'window':>8}{'quotes':>8}{'p50 ms':>8}{'p95 ms':>8}"
    ]
    rows = [("all", result["digests"], result["digest"], result["lead"])]
    rows += [(kind, part["digests"], part, part["lead"]) for kind, part in result["by_kind"].items()]
    for name, count, ours, lead in rows:
        figures = [ours["fact_recall@10"], lead["fact_recall@10"], ours["fact_recall@20"], lead["fact_recall@20"]]
        checks = [ours["redundancy"], ours["window_precision"], ours["quote_verified"]]
        latency = ours["latency_ms"]
        lines.append(
            f"{name:<10}{count:>5}"
            + "".join(
                f"{_figure(value):>11}" if i % 2 == 0 else f"{_figure(value):>9}" for i, value in enumerate(figures)
            )
            + "".join(f"{_figure(value):>{width}}" for value, width in zip(checks, (9, 8, 8), strict=True))
            + f"{_figure(latency['p50']):>8}{_figure(latency['p95']):>8}"
        )
    return "\n".join(lines)


def _figure(value: object) -> str:
    if value is None:
        return "n/a"
    return f"{value:.3f}" if isinstance(value, float) and value <= 1.0 else str(value)


def digest_set_command(
    questions: Annotated[Path, typer.Argument(help="Question set whose questions carry meta.date (JSONL)")],
    out: Annotated[Path, typer.Option("--out", help="Write the digest set here (JSONL)")],
) -> None:
    """Build a digest set from a dated question set: each week's and month's answers, and each question as a topic."""
    from assistant.measure.digest_set import digest_set_from

    digests = digest_set_from(questions)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("".join(json.dumps(item, ensure_ascii=False) + "\n" for item in digests), encoding="utf-8")
    typer.echo(f"Wrote {len(digests)} digests to {out} (from {questions})", err=True)
