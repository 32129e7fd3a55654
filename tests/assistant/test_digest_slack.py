"""Digests in Slack, end to end: the slash command through a real server to a Slack stand-in on loopback, and
the scheduled post (``briefings digest --post-slack``) as a real subprocess, posted once per channel and window."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant.adapters.http import create_app
from assistant.adapters.slack.digest import digest_command
from assistant.service import BriefingService, DigestRequest
from assistant.settings import Settings
from tests.assistant.test_digest import ARTICLES
from tests.assistant.test_slack import (
    TOKEN,
    LiveServer,
    SlackStandIn,
    all_text,
    command_fields,
    event_callback,
    mention,
    new_ts,
    posted,
    send_event,
    send_form,
    slack_configured,
    to,
)
from tests.conftest import run_cli


@pytest.fixture(scope="module")
def stand_in() -> Iterator[SlackStandIn]:
    slack = SlackStandIn()
    yield slack
    slack.close()


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory, model_cache: Path, stand_in: SlackStandIn) -> Settings:
    folder = tmp_path_factory.mktemp("digest-slack-corpus")
    for name, text in ARTICLES.items():
        (folder / name).write_text(text, encoding="utf-8")
    plain = Settings(index=tmp_path_factory.mktemp("digest-slack") / "index", model_cache=model_cache)
    BriefingService(plain).ingest([folder])
    return slack_configured(plain, stand_in.api_url)


@pytest.fixture(scope="module")
def server(settings: Settings) -> Iterator[LiveServer]:
    live = LiveServer(create_app(BriefingService(settings)))
    yield live
    live.close()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("digest Red Sea since March 1 until March 7", DigestRequest("Red Sea", "March 1", "March 7")),
        ("digest since 2024-03-01", DigestRequest("", "2024-03-01")),
        ("Digest Ukraine", DigestRequest("Ukraine")),
        ("How long was the call?", None),
        ("digestion problems in cattle", None),
    ],
)
def test_slash_command_words(text: str, expected: DigestRequest | None) -> None:
    assert digest_command(text) == expected


def test_slash_digest_is_posted_in_the_channel_as_blocks(server: LiveServer, stand_in: SlackStandIn) -> None:
    fields = command_fields("digest Red Sea since March 1 until March 7", stand_in.response_url("digest"))
    acknowledged = send_form(server, "/slack/commands", fields)
    assert acknowledged.status_code == 200 and acknowledged.json()["response_type"] == "ephemeral"
    reply = stand_in.wait_for(to("/response/digest"))[0].body
    assert reply["response_type"] == "in_channel"
    assert reply["blocks"][0] == {
        "type": "header",
        "text": {"type": "plain_text", "text": "Digest on Red Sea, 2024-03-01 to 2024-03-07 (3 briefings)"},
    }
    shown = all_text(reply)
    assert "*2024-03-06*" in shown and "Houthi rebels fired two missiles" in shown
    assert "2 briefings: " in shown and "red1.txt" in shown and "red2.txt" in shown

    bad = command_fields("digest Red Sea since someday", stand_in.response_url("bad-digest"))
    assert send_form(server, "/slack/commands", bad).status_code == 200
    refused = stand_in.wait_for(to("/response/bad-digest"))[0].body
    assert refused["response_type"] == "ephemeral" and "must be a date" in all_text(refused)


def test_scheduled_digest_is_posted_once_per_channel_and_window(settings: Settings, stand_in: SlackStandIn) -> None:
    env = {"SLACK_BOT_TOKEN": TOKEN, "SLACK_API_URL": stand_in.api_url}
    args = ["digest", "--index", str(settings.index), "--since", "2024-03-01", "--until", "2024-03-07"]

    def posts() -> list[dict[str, object]]:
        return [call.body for call in stand_in.matching(to("/api/chat.postMessage")) if call.body["channel"] == "CNEWS"]

    first = run_cli(*args, "--post-slack", "CNEWS", env=env)
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith("Posted the digest of 2024-03-01 to 2024-03-07")
    assert len(posts()) == 1 and "Houthi rebels" in json.dumps(posts()[0]["blocks"])
    again = run_cli(*args, "--post-slack", "CNEWS", env=env)
    assert again.returncode == 0 and again.stdout.startswith("Already posted") and len(posts()) == 1
    quiet = run_cli("digest", "--index", str(settings.index), "--since", "2025-01-01", "--post-slack", "CNEWS", env=env)
    assert quiet.returncode == 0 and quiet.stdout.startswith("Nothing posted to CNEWS: No briefings are dated")
    no_token = run_cli(*args, "--post-slack", "CNEWS", env={"SLACK_API_URL": stand_in.api_url})
    assert no_token.returncode == 1 and no_token.stderr.startswith("error: --post-slack needs SLACK_BOT_TOKEN")
    assert len(posts()) == 1


def test_a_mention_asking_whats_new_gets_a_timeline_in_its_thread(server: LiveServer, stand_in: SlackStandIn) -> None:
    channel, ts = "CMENTION", new_ts()
    assert (
        send_event(server, event_callback(mention("what's new on the Red Sea this week?", channel, ts))).status_code
        == 200
    )
    first = stand_in.wait_for(posted(channel, ts))[0].body
    assert first["blocks"][0]["text"]["text"] == "Digest on Red Sea, 2024-03-01 to 2024-03-07 (3 briefings)"
    assert "1. Houthi rebels fired two missiles" in all_text(first)
    follow_up = mention("tell me more about the first one", channel, new_ts(), thread_ts=ts)
    assert send_event(server, event_callback(follow_up)).status_code == 200
    more = stand_in.wait_for(posted(channel, ts), count=2)[1].body
    assert more["blocks"][0]["text"]["text"].startswith("Digest on Houthi rebels fired two missiles")
