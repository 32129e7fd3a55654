"""Slack under misuse and failure: what a failure shows, where replies may go, what a redelivery does.

The same harness as ``test_slack``: the real app under uvicorn, requests signed as Slack signs them, Slack's
Web API and ``response_url`` played by a recording server on loopback. A second recording server stands
for a host a forged ``response_url`` could point at; it must never hear from us.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from assistant.adapters.http import create_app
from assistant.adapters.slack.app import SORRY, is_slack_response_url
from assistant.adapters.slack.feedback import FeedbackStore
from assistant.adapters.slack.state import (
    MAX_CONVERSATIONS,
    MAX_TURNS,
    STATE_FILE,
    Conversations,
    Deliveries,
    delivery_key,
)
from assistant.settings import Settings
from assistant.types import Answer
from tests.assistant.test_slack import (
    CARD,
    LiveServer,
    RecordingService,
    SlackStandIn,
    all_text,
    ask_in_channel,
    command_fields,
    event_callback,
    feedback_ids,
    mention,
    new_ts,
    posted,
    send_event,
    signature_headers,
    slack_configured,
    to,
    vote_fields,
)

LEAK = "/secret/path token=abc"
EXPLODES = "explodes"  # a question with this word makes the service raise LEAK
BREAKS = "breaks"  # a question with this word gets an answer that cannot be laid out


class FailingService(RecordingService):
    """The real service, except for two kinds of question that fail in unexpected ways."""

    def ask(self, question: str, history: Any = None, *args: Any, **kwargs: Any) -> Answer:
        if EXPLODES in question:
            raise RuntimeError(LEAK)
        answer = super().ask(question, history, *args, **kwargs)
        return replace(answer, answer=None) if BREAKS in question else answer  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def slack() -> Iterator[SlackStandIn]:
    stand_in = SlackStandIn()
    yield stand_in
    stand_in.close()


@pytest.fixture
def elsewhere() -> Iterator[SlackStandIn]:
    """A listener on another loopback port: where a forged response_url points."""
    stand_in = SlackStandIn()
    yield stand_in
    stand_in.close()


@pytest.fixture(scope="module")
def service(seed_settings: Settings, slack: SlackStandIn) -> FailingService:
    failing = FailingService(slack_configured(seed_settings, slack.api_url))
    failing.warm_up()
    return failing


@contextmanager
def serving(service: RecordingService) -> Iterator[LiveServer]:
    """A freshly built app (Slack settings and state are read when the app is built)."""
    live = LiveServer(create_app(service))
    try:
        yield live
    finally:
        live.close()


@pytest.fixture(scope="module")
def server(service: FailingService) -> Iterator[LiveServer]:
    with serving(service) as live:
        yield live


def send_form(live: LiveServer, path: str, fields: dict[str, str], **headers: str) -> httpx.Response:
    body = urlencode(fields).encode()
    extra = {name.replace("_", "-"): value for name, value in headers.items()}
    return live.http.post(
        path,
        content=body,
        headers={"Content-Type": "application/x-www-form-urlencoded", **signature_headers(body), **extra},
    )


def ephemeral_to(channel: str) -> Any:
    return lambda call: call.path == "/api/chat.postEphemeral" and call.body.get("channel") == channel


# ------------------------------------------------------------------------------ failures shown
def test_an_unexpected_failure_shows_a_fixed_line_and_logs_the_detail(
    server: LiveServer, slack: SlackStandIn, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="assistant.adapters.slack.app")
    _, reply = ask_in_channel(server, slack, f"Why it {EXPLODES}?", "CEXPLODES")
    assert LEAK not in json.dumps(reply.body) and SORRY in all_text(reply.body)
    explodes = command_fields(f"{EXPLODES}?", slack.response_url("explodes"))
    assert send_form(server, "/slack/commands", explodes).status_code == 200
    command_reply = slack.wait_for(to("/response/explodes"))[0].body
    assert LEAK not in json.dumps(command_reply) and SORRY in all_text(command_reply)
    assert command_reply["response_type"] == "ephemeral"
    assert LEAK in caplog.text  # the detail is for whoever reads the log


def test_a_failure_after_the_service_answered_still_gets_the_fixed_line(
    server: LiveServer, slack: SlackStandIn
) -> None:
    _, reply = ask_in_channel(server, slack, f"{CARD} It {BREAKS}.", "CBREAKS")
    assert SORRY in all_text(reply.body)


def test_the_projects_own_errors_are_shown_as_written(
    server: LiveServer, slack: SlackStandIn, service: FailingService
) -> None:
    too_long = "why " * service.settings.max_question_chars
    _, reply = ask_in_channel(server, slack, too_long, "CTOOLONG")
    assert ":warning:" in reply.body["text"] and SORRY not in reply.body["text"]


# ------------------------------------------------------------------------------- response_url
def test_a_command_whose_response_url_is_not_slacks_is_answered_through_the_web_api(
    server: LiveServer, slack: SlackStandIn, elsewhere: SlackStandIn
) -> None:
    response = send_form(server, "/slack/commands", command_fields(CARD, elsewhere.response_url("x"), "CFORGED"))
    assert response.status_code == 200
    reply = slack.wait_for(ephemeral_to("CFORGED"))[0].body
    assert reply["user"] == "U100" and "an hour and 45 minutes" in all_text(reply)
    ask_in_channel(server, slack, CARD, "CFORGEDSENTINEL")
    assert elsewhere.calls == []


def test_a_click_whose_response_url_is_not_slacks_is_thanked_through_the_web_api(
    server: LiveServer, slack: SlackStandIn, elsewhere: SlackStandIn
) -> None:
    _, answer = ask_in_channel(server, slack, CARD, "CVOTE")
    [feedback_id] = feedback_ids(answer.body)
    forged = vote_fields("up", feedback_id, elsewhere.response_url("x"))
    assert send_form(server, "/slack/interactions", forged).status_code == 200
    thanks = slack.wait_for(ephemeral_to("CVOTE"))[0].body
    assert thanks["user"] == "U100" and "recorded" in thanks["text"]
    ask_in_channel(server, slack, CARD, "CVOTESENTINEL")
    assert elsewhere.calls == []


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("https://hooks.slack.com/commands/T1/2/abc", True),
        ("https://hooks.slack.com:443/actions/T1/2/abc", True),
        ("http://127.0.0.1:9000/response/x", True),  # the configured SLACK_API_URL host
        ("http://hooks.slack.com/commands/T1/2/abc", False),
        ("https://hooks.slack.com:8443/commands/T1/2/abc", False),
        ("https://hooks.slack.com.example.org/commands", False),
        ("https://user@hooks.slack.com/commands", False),
        ("https://example.org/?https://hooks.slack.com/", False),
        ("http://127.0.0.1:9001/response/x", False),
        ("http://localhost:9000/response/x", False),
        ("http://169.254.169.254/latest/meta-data", False),
        ("file:///etc/passwd", False),
        ("/relative/path", False),
        ("", False),
    ],
)
def test_only_slack_and_the_configured_api_host_receive_replies(url: str, allowed: bool) -> None:
    assert is_slack_response_url(url, "http://127.0.0.1:9000/api/") is allowed


# -------------------------------------------------------------------------------- redelivery
def test_a_retried_slash_command_is_answered_once(server: LiveServer, slack: SlackStandIn) -> None:
    fields = command_fields(CARD, slack.response_url("command-once"), "CCMDONCE")
    first = send_form(server, "/slack/commands", fields)
    retry = send_form(server, "/slack/commands", fields, X_Slack_Retry_Num="1", X_Slack_Retry_Reason="http_timeout")
    assert first.status_code == retry.status_code == 200 and retry.content == b""
    slack.wait_for(to("/response/command-once"))
    sentinel = command_fields(CARD, slack.response_url("command-sentinel"))
    assert send_form(server, "/slack/commands", sentinel).status_code == 200
    slack.wait_for(to("/response/command-sentinel"))
    assert len(slack.matching(to("/response/command-once"))) == 1


def test_a_repeated_click_is_recorded_and_thanked_once(
    server: LiveServer, slack: SlackStandIn, seed_settings: Settings
) -> None:
    _, answer = ask_in_channel(server, slack, CARD, "CCLICKONCE")
    [feedback_id] = feedback_ids(answer.body)
    fields = vote_fields("up", feedback_id, slack.response_url("click-once"))
    assert send_form(server, "/slack/interactions", fields).status_code == 200
    retry = send_form(server, "/slack/interactions", fields, X_Slack_Retry_Num="1")
    assert retry.status_code == 200
    slack.wait_for(to("/response/click-once"))
    sentinel = vote_fields("down", feedback_id, slack.response_url("click-sentinel"), user="U200")
    assert send_form(server, "/slack/interactions", sentinel).status_code == 200
    slack.wait_for(to("/response/click-sentinel"))
    assert len(slack.matching(to("/response/click-once"))) == 1
    votes = [vote for vote in FeedbackStore.for_settings(seed_settings).votes() if vote.answer_id == feedback_id]
    assert sorted((vote.user, vote.verdict) for vote in votes) == [("U100", "up"), ("U200", "down")]


def test_a_delivery_answered_before_a_restart_is_not_answered_again(
    service: FailingService, slack: SlackStandIn
) -> None:
    channel, ts = "CRESTART", new_ts()
    delivery = event_callback(mention(CARD, channel, ts))
    with serving(service) as before:
        assert send_event(before, delivery).status_code == 200
        slack.wait_for(posted(channel, ts))
    with serving(service) as after:  # a new app object on the same index folder
        assert send_event(after, delivery, X_Slack_Retry_Num="1").status_code == 200
        ask_in_channel(after, slack, CARD, "CRESTARTSENTINEL")
    assert len(slack.matching(posted(channel, ts))) == 1
    assert (service.settings.index / STATE_FILE).is_file()


# ---------------------------------------------------------------------------- state, no network
def test_delivery_keys_expire_so_the_table_stays_bounded(tmp_path: Path) -> None:
    deliveries = Deliveries(tmp_path / STATE_FILE, seconds=0.05)
    assert deliveries.first_time("a") and not deliveries.first_time("a")
    time.sleep(0.1)
    assert deliveries.first_time("b") and len(deliveries) == 1  # "a" was pruned by that insert
    assert deliveries.first_time("a")
    deliveries.close()


def test_each_kind_of_delivery_has_a_stable_key() -> None:
    assert delivery_key({"type": "event_callback", "event_id": "Ev1"}) == "event:Ev1"
    assert delivery_key({"type": "url_verification", "challenge": "c"}) is None
    command = {"command": "/briefings", "text": "q"}
    assert delivery_key({**command, "trigger_id": "1.2"}) == "command:1.2"
    assert delivery_key(command, "text=q") == delivery_key(command, "text=q") != delivery_key(command, "text=r")
    click = {"type": "block_actions", "user": {"id": "U1"}, "container": {"message_ts": "1.1"}}
    up = {**click, "actions": [{"action_id": "feedback_up", "action_ts": "2.2"}]}
    down = {**click, "actions": [{"action_id": "feedback_down", "action_ts": "2.2"}]}
    assert delivery_key(up) == delivery_key(dict(up)) != delivery_key(down)
    assert delivery_key({**up, "trigger_id": "3.3"}) == "action:3.3"


def test_an_unwritable_state_folder_falls_back_to_memory_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="assistant.adapters.slack.state")
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder", encoding="utf-8")
    deliveries = Deliveries.in_folder(blocked / "index")
    assert deliveries.path is None and "keeping it in memory" in caplog.text
    assert deliveries.first_time("a") and not deliveries.first_time("a")


def test_conversation_memory_is_bounded_per_thread_and_in_threads() -> None:
    conversations = Conversations()
    for number in range(MAX_TURNS + 10):
        conversations.add("busy", f"q{number}", f"a{number}")
    for number in range(MAX_CONVERSATIONS + 50):
        conversations.add(f"thread{number}", "q", "a")
        if number % 100 == 0:
            conversations.history("busy")  # in use: kept while idle threads are forgotten
    history = conversations.history("busy")
    assert len(history) == MAX_TURNS and len(conversations) == MAX_CONVERSATIONS
    last = MAX_TURNS + 9
    assert history[-2:] == [{"role": "user", "content": f"q{last}"}, {"role": "assistant", "content": f"a{last}"}]
    assert conversations.history("thread0") == []
