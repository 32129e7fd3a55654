"""Digests in Slack: ``/briefings digest TOPIC since DATE [until DATE]``, and a digest posted to a channel on a
schedule (``briefings digest ... --post-slack CHANNEL``, run by cron or a systemd timer).

Owns the Block Kit layout of a digest (a header, then each day and its items, each item's sources in a context
line), reading the slash command's words, and remembering which digests went to which channel: a scheduled run
that comes round again for the same channel, topic and window posts nothing, so a re-run or an overlapping
timer never posts twice. The post is marked only after Slack accepted it, so a failed post is retried by the
next run. Must not build digests (the service does) or read the environment (settings carry the token).
"""

from __future__ import annotations

import asyncio
import html
import re
import sqlite3
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assistant.adapters.slack.blocks import Message, text_message
from assistant.adapters.slack.config import SlackConfig
from assistant.errors import BriefingsError, ConfigurationError
from assistant.service import Digest, DigestRequest

if TYPE_CHECKING:
    from slack_sdk.web.async_client import AsyncWebClient

    from assistant.adapters.slack.app import Responder
    from assistant.settings import Settings

MAX_ITEMS = 20  # two blocks an item, a block a day: well inside Slack's 50 blocks per message
POSTS_FILE = "slack-digests.sqlite3"
TIMEOUT_SECONDS = 30
_COMMAND = re.compile(r"^\s*digest\b(?P<rest>.*)$", re.IGNORECASE | re.DOTALL)
_UNTIL = re.compile(r"\b(?:until|to|till)\s+(?P<until>.+?)\s*$", re.IGNORECASE)
_SINCE = re.compile(r"\b(?:since|from)\s+(?P<since>.+?)\s*$", re.IGNORECASE)


def digest_command(text: str) -> DigestRequest | None:
    """``digest Red Sea since March 3 until March 9`` as a request; ``None`` when the text is not a digest."""
    match = _COMMAND.match(text)
    if match is None:
        return None
    rest, since, until = match["rest"].strip(), None, None
    if found := _UNTIL.search(rest):
        rest, until = rest[: found.start()].strip(), found["until"]
    if found := _SINCE.search(rest):
        rest, since = rest[: found.start()].strip(), found["since"]
    return DigestRequest(rest, since, until)


def digest_message(digest: Digest) -> Message:
    """The digest in Block Kit: header, note, then each day with its items and where each is quoted from."""
    blocks: list[dict[str, Any]] = [{"type": "header", "text": {"type": "plain_text", "text": digest.heading[:150]}}]
    if digest.note:
        blocks.append(_section(_escape(digest.note)))
    shown = 0
    for day, items in digest.numbered():
        if shown >= MAX_ITEMS:
            break
        blocks.append(_section(f"*{day}*"))
        for number, item in items[: MAX_ITEMS - shown]:
            shown += 1
            blocks.append(_section(f"{number}. {_escape(item.text)}"))
            sources = "; ".join(f"_{_escape(c.title)}_ · {_escape(c.doc)} [{c.start}:{c.end}]" for c in item.citations)
            reported = f"{item.briefings} briefings: " if item.briefings > 1 else ""
            blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": (reported + sources)[:2000]}]})
    if digest.more or shown < len(digest.items):
        blocks.append(_section("_More: ask again with a narrower topic or window._"))
    return {"text": digest.heading, "blocks": blocks}


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text[:3000]}}


def _escape(text: str) -> str:
    """Slack's three control characters; nothing in a quote may become a mention or a link."""
    return html.escape(text, quote=False)


async def answer_digest_command(
    responder: Responder, command: Mapping[str, Any], request: DigestRequest, client: AsyncWebClient
) -> None:
    """A ``/briefings digest ...`` command: the digest in the channel, or a one-line problem to the asker only."""
    user, channel = str(command.get("user_id", "")), str(command.get("channel_id", ""))
    try:
        digest = await asyncio.to_thread(responder.service.digest, request)
        message: Message = {**digest_message(digest), "response_type": "in_channel"}
    except BriefingsError as error:  # written for the person who asked: a bad date, a limit out of range
        message = {**text_message(f":warning: {error}"), "response_type": "ephemeral"}
    await responder.reply(str(command.get("response_url", "")), channel, user, client, message)


# ------------------------------------------------------------------------------------- scheduled
class PostedDigests:
    """Which digests (channel, topic, window) were posted, in SQLite beside the index."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, timeout=30, isolation_level=None)
        self._db.execute("CREATE TABLE IF NOT EXISTS posted (key TEXT PRIMARY KEY, ts TEXT, posted_at REAL)")

    def posted(self, key: str) -> bool:
        return self._db.execute("SELECT 1 FROM posted WHERE key = ?", (key,)).fetchone() is not None

    def mark(self, key: str, ts: str) -> None:
        self._db.execute("INSERT OR IGNORE INTO posted VALUES (?, ?, ?)", (key, ts, time.time()))

    def close(self) -> None:
        self._db.close()


def post_digest(settings: Settings, channel: str, digest: Digest) -> bool:
    """Post ``digest`` to ``channel`` unless this channel already has this topic's digest of this window.

    Returns whether it posted. Slack's refusal (a wrong token, a channel the bot is not in) raises
    :class:`ConfigurationError` with Slack's reason, for the command line's one-line error.
    """
    from slack_sdk import WebClient
    from slack_sdk.errors import SlackApiError

    config = SlackConfig.from_settings(settings)
    if not config.bot_token:
        raise ConfigurationError(
            "--post-slack needs SLACK_BOT_TOKEN (and SLACK_API_URL for a Slack other than slack.com)"
        )
    key = f"{channel}|{digest.topic.lower()}|{digest.since}|{digest.until}"
    posts = PostedDigests(settings.index / POSTS_FILE)
    try:
        if posts.posted(key):
            return False
        client = WebClient(token=config.bot_token, base_url=config.api_url, timeout=TIMEOUT_SECONDS)
        try:
            sent = client.chat_postMessage(channel=channel, unfurl_links=False, **digest_message(digest))
        except SlackApiError as error:
            raise ConfigurationError(f"Slack refused the digest for {channel}: {error.response.get('error')}") from None
        except OSError as error:  # unreachable, timed out: nothing was posted, so the next run tries again
            raise ConfigurationError(f"Slack could not be reached at {config.api_url}: {error}") from None
        posts.mark(key, str(sent.get("ts", "")))
        return True
    finally:
        posts.close()


async def digest_reply(
    responder: Responder, question: str, history: list[dict[str, str]]
) -> tuple[list[Message], str] | None:
    """A mention or DM asking for a digest ("what's new?", "catch me up on ...", "more on the second one"): its
    message and the timeline text the thread keeps for follow-ups; ``None`` for a question to answer."""
    try:
        request = await asyncio.to_thread(responder.service.digest_request, question, history)
        if request is None:
            return None
        digest = await asyncio.to_thread(responder.service.digest, request)
    except BriefingsError as error:
        return [text_message(f":warning: {error}")], ""
    return [digest_message(digest)], "\n".join(digest.timeline_lines())
