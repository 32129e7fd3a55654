"""Slack over real HTTP: the real app under uvicorn, requests signed as Slack signs them, Slack played locally.

A small HTTP server on 127.0.0.1 stands in for Slack's Web API (``auth.test``, ``chat.postMessage``) and for
``response_url``; it records every call, so a test can wait for the answer to arrive and look at it.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import logging
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
import uvicorn

from assistant.adapters.http import create_app
from assistant.adapters.slack.blocks import MAX_BLOCKS, MAX_SECTION_TEXT, answer_messages, feedback_ids, question_text
from assistant.adapters.slack.config import RedactSecrets
from assistant.adapters.slack.feedback import FeedbackStore, Vote, to_question
from assistant.adapters.slack.state import Conversations
from assistant.service import BriefingService
from assistant.settings import Settings
from assistant.types import Answer, Citation
from tests.conftest import PROJECT, SEED_DOC

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
TOKEN = "xoxb-1234-5678-briefingsTESTtoken"
REVOKED = "xoxb-1234-5678-revokedTESTtoken"
CARD = "How long was the call?"
SLOW = "slowly"  # a question containing this word takes SLOW_SECONDS to answer
SLOW_SECONDS = 3.5
WAIT = 20.0
_ts = itertools.count(1)


# ------------------------------------------------------------------------------- Slack stand-in
@dataclass
class Call:
    path: str
    body: dict[str, Any]
    headers: dict[str, str]
    at: float


class SlackStandIn:
    """Slack's Web API and response_url on loopback: answers auth.test, records everything."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self._changed = threading.Condition()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    @property
    def api_url(self) -> str:
        return f"{self.base}/api/"

    def response_url(self, name: str) -> str:
        return f"{self.base}/response/{name}"

    def wait_for(self, wanted: Callable[[Call], bool], count: int = 1, timeout: float = WAIT) -> list[Call]:
        with self._changed:
            self._changed.wait_for(lambda: len(self.matching(wanted)) >= count, timeout)
            found = self.matching(wanted)
        assert len(found) >= count, f"expected {count} matching call(s) within {timeout}s; got {self.calls}"
        return found

    def matching(self, wanted: Callable[[Call], bool]) -> list[Call]:
        return [call for call in list(self.calls) if wanted(call)]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _record(self, call: Call) -> None:
        with self._changed:
            self.calls.append(call)
            self._changed.notify_all()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                if "json" in self.headers.get("Content-Type", ""):
                    body = json.loads(raw or b"{}")
                else:
                    body = {key: values[0] for key, values in parse_qs(raw.decode()).items()}
                path = urlsplit(self.path).path  # the SDK adds ?team_id=... to Web API calls
                stand_in._record(Call(path, body, dict(self.headers), time.perf_counter()))
                self._reply(self._answer(path, body))

            def _answer(self, path: str, body: dict[str, Any]) -> dict[str, Any] | None:
                if path == "/api/auth.test":
                    if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                        return {"ok": False, "error": "invalid_auth"}
                    return {"ok": True, "url": "https://test.slack.com/", "team": "Test", "user": "briefings",
                            "team_id": "T0001", "user_id": "UBOT", "bot_id": "BBOT"}  # fmt: skip
                if path == "/api/chat.postMessage":
                    return {"ok": True, "channel": body.get("channel"), "ts": f"{time.time():.6f}", "message": body}
                if path.startswith("/api/"):
                    return {"ok": True}
                return None  # response_url: Slack answers plain "ok"

            def _reply(self, payload: dict[str, Any] | None) -> None:
                data = json.dumps(payload).encode() if payload is not None else b"ok"
                self.send_response(200)
                self.send_header("Content-Type", "application/json" if payload is not None else "text/plain")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler


# ------------------------------------------------------------------------------------ live server
class RecordingService(BriefingService):
    """The real service, noting what it was asked (and answering one kind of question slowly)."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self.asked: list[tuple[str, list[dict[str, str]]]] = []

    def ask(self, question: str, history: Any = None, *args: Any, **kwargs: Any) -> Answer:
        self.asked.append((question, [dict(turn) for turn in history or ()]))
        if SLOW in question:
            time.sleep(SLOW_SECONDS)
        return super().ask(question, history, *args, **kwargs)


class LiveServer:
    """uvicorn serving the app on a free loopback port, in a thread."""

    def __init__(self, app: Any) -> None:
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning", log_config=None))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [sock]}, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + WAIT
        while not self.server.started:
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.02)
        self.http = httpx.Client(base_url=self.url, timeout=10)

    def close(self) -> None:
        self.http.close()
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture(scope="module")
def slack() -> Iterator[SlackStandIn]:
    stand_in = SlackStandIn()
    yield stand_in
    stand_in.close()


def with_slack(settings: Settings, **variables: str) -> Settings:
    """``settings`` as the server reads them when the operator also sets these ``SLACK_*`` variables."""
    return Settings(**settings.model_dump(exclude_unset=True), **variables)


def slack_configured(settings: Settings, api_url: str, token: str = TOKEN) -> Settings:
    """``settings`` with Slack's three variables set, the Web API at ``api_url``."""
    return with_slack(settings, SLACK_SIGNING_SECRET=SECRET, SLACK_BOT_TOKEN=token, SLACK_API_URL=api_url)


@pytest.fixture(scope="module")
def service(seed_settings: Settings, slack: SlackStandIn) -> RecordingService:
    recording = RecordingService(slack_configured(seed_settings, slack.api_url))
    recording.warm_up()
    return recording


@pytest.fixture(scope="module")
def server(service: RecordingService) -> Iterator[LiveServer]:
    """One configured server for the module (Slack settings are read once, when the app is built)."""
    live = LiveServer(create_app(service))
    yield live
    live.close()


# --------------------------------------------------------------------------------------- requests
def signature_headers(body: bytes, secret: str = SECRET, timestamp: int | None = None) -> dict[str, str]:
    """Exactly what Slack sends: v0=HMAC-SHA256(secret, "v0:{timestamp}:{body}")."""
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), b"v0:" + stamp.encode() + b":" + body, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": f"v0={digest}"}


def send_event(live: LiveServer, payload: dict[str, Any], **headers: str) -> httpx.Response:
    body = json.dumps(payload).encode()
    extra = {name.replace("_", "-"): value for name, value in headers.items()}
    return live.http.post(
        "/slack/events", content=body, headers={"Content-Type": "application/json", **signature_headers(body), **extra}
    )


def send_form(live: LiveServer, path: str, fields: dict[str, str]) -> httpx.Response:
    body = urlencode(fields).encode()
    headers = {"Content-Type": "application/x-www-form-urlencoded", **signature_headers(body)}
    return live.http.post(path, content=body, headers=headers)


def new_ts() -> str:
    return f"{int(time.time())}.{next(_ts):06d}"


def event_callback(event: dict[str, Any], event_id: str | None = None) -> dict[str, Any]:
    return {
        "token": "legacy-verification-token",
        "team_id": "T0001",
        "api_app_id": "A0001",
        "event": event,
        "type": "event_callback",
        "event_id": event_id or f"Ev{next(_ts):08d}",
        "event_time": int(time.time()),
        "authorizations": [{"team_id": "T0001", "user_id": "UBOT", "is_bot": True}],
    }


def mention(question: str, channel: str, ts: str, thread_ts: str | None = None, user: str = "U100") -> dict[str, Any]:
    event = {
        "type": "app_mention",
        "user": user,
        "text": f"<@UBOT> {question}",
        "ts": ts,
        "channel": channel,
        "event_ts": ts,
    }
    if thread_ts:
        event["thread_ts"] = thread_ts
    return event


def direct_message(text: str, channel: str, ts: str, **fields: Any) -> dict[str, Any]:
    return {
        "type": "message",
        "channel_type": "im",
        "user": "U100",
        "text": text,
        "ts": ts,
        "channel": channel,
        **fields,
    }


def posted(channel: str, thread_ts: str | None = None) -> Callable[[Call], bool]:
    def wanted(call: Call) -> bool:
        return (
            call.path == "/api/chat.postMessage"
            and call.body.get("channel") == channel
            and call.body.get("thread_ts") == thread_ts
        )

    return wanted


def to(path: str) -> Callable[[Call], bool]:
    return lambda call: call.path == path


def all_text(message: dict[str, Any]) -> str:
    return json.dumps(message.get("blocks", []), ensure_ascii=False) + message.get("text", "")


def ask_in_channel(live: LiveServer, slack: SlackStandIn, question: str, channel: str) -> tuple[str, Call]:
    ts = new_ts()
    assert send_event(live, event_callback(mention(question, channel, ts))).status_code == 200
    return ts, slack.wait_for(posted(channel, ts))[0]


# ------------------------------------------------------------------------------------------ tests
def test_url_verification_challenge_is_echoed(server: LiveServer) -> None:
    challenge = "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"
    response = send_event(server, {"token": "legacy", "challenge": challenge, "type": "url_verification"})
    assert response.status_code == 200
    assert response.json() == {"challenge": challenge}


@pytest.mark.parametrize("kind", ["forged", "unsigned", "stale", "tampered"])
def test_unverified_requests_are_refused_and_never_answered(
    server: LiveServer, slack: SlackStandIn, service: RecordingService, kind: str
) -> None:
    channel = f"CREFUSED{kind.upper()}"
    form = "application/x-www-form-urlencoded"
    requests = [
        ("/slack/events", "application/json", json.dumps(event_callback(mention(CARD, channel, new_ts()))).encode()),
        ("/slack/commands", form, urlencode(command_fields(CARD, slack.response_url(channel))).encode()),
        ("/slack/interactions", form, urlencode(vote_fields("up", "nope", slack.response_url(channel))).encode()),
    ]
    asked_before = len(service.asked)
    for path, content_type, body in requests:
        headers = {"Content-Type": content_type}
        if kind == "forged":
            headers |= signature_headers(body, secret="not-the-signing-secret")
        elif kind == "stale":
            headers |= signature_headers(body, timestamp=int(time.time()) - 6 * 60)
        elif kind == "tampered":  # signed, then changed on the way
            headers |= signature_headers(body)
            body = body.replace(b"U100", b"U666")
        response = server.http.post(path, content=body, headers=headers)
        assert response.status_code in (401, 403), (path, response.status_code, response.text)
    ask_in_channel(server, slack, CARD, channel)  # a signed request afterwards is answered: the refusals were not
    assert len(service.asked) == asked_before + 1
    assert len(slack.matching(lambda call: channel in json.dumps(call.body) or channel in call.path)) == 1


def test_an_oversized_body_is_refused_before_it_is_read(server: LiveServer) -> None:
    body = b"{" + b" " * (2 * 1024 * 1024) + b"}"
    response = server.http.post("/slack/events", content=body, headers=signature_headers(body))
    assert response.status_code == 413


def test_mention_is_acknowledged_at_once_and_answered_in_its_thread(
    server: LiveServer, slack: SlackStandIn, capsys: pytest.CaptureFixture[str]
) -> None:
    channel, ts = "CANSWER", new_ts()
    started = time.perf_counter()
    response = send_event(server, event_callback(mention(CARD, channel, ts)))
    acked = time.perf_counter() - started
    assert response.status_code == 200 and acked < 3.0
    call = slack.wait_for(posted(channel, ts))[0]
    answered = call.at - started
    assert call.headers["Authorization"] == f"Bearer {TOKEN}"
    blocks = call.body["blocks"]
    kinds = [block["type"] for block in blocks]
    assert kinds[0] == "section" and kinds[-2:] == ["context", "actions"]
    quotes = [
        block["text"]["text"] for block in blocks if block["type"] == "section" and "\n> " in block["text"]["text"]
    ]
    assert quotes and quotes[0].startswith("*[1]*") and "2022-02-20" in quotes[0]
    assert "an hour and 45 minutes" in quotes[0]  # the cited sentence says it (the answer span may be tuned)
    assert SEED_DOC in json.dumps(blocks[-2])
    assert [button["action_id"] for button in blocks[-1]["elements"]] == ["feedback_up", "feedback_down"]
    assert call.body["unfurl_links"] is False
    with capsys.disabled():
        print(f"\n  slack: mention acknowledged in {acked * 1000:.0f} ms; answer posted after {answered * 1000:.0f} ms")


def test_slow_answers_do_not_hold_up_the_acknowledgement(server: LiveServer, slack: SlackStandIn) -> None:
    channel, ts = "CSLOW", new_ts()
    started = time.perf_counter()
    assert send_event(server, event_callback(mention(f"{CARD} Tell me {SLOW}.", channel, ts))).status_code == 200
    assert time.perf_counter() - started < 1.0
    probe = time.perf_counter()  # while that answer is being worked out, the server keeps answering Slack at once
    assert send_event(server, {"challenge": "c", "type": "url_verification"}).status_code == 200
    assert time.perf_counter() - probe < 1.0
    call = slack.wait_for(posted(channel, ts))[0]
    assert call.at - started >= SLOW_SECONDS


def test_retries_and_duplicate_deliveries_are_answered_once(server: LiveServer, slack: SlackStandIn) -> None:
    channel, ts, lost_ts = "CRETRY", new_ts(), new_ts()
    delivery = event_callback(mention(CARD, channel, ts))
    assert send_event(server, delivery).status_code == 200
    assert send_event(server, delivery, X_Slack_Retry_Num="1", X_Slack_Retry_Reason="http_timeout").status_code == 200
    assert send_event(server, delivery).status_code == 200  # a plain duplicate
    first_seen_as_retry = event_callback(mention(CARD, channel, lost_ts))  # the first delivery never arrived
    assert (
        send_event(server, first_seen_as_retry, X_Slack_Retry_Num="2", X_Slack_Retry_Reason="http_error").status_code
        == 200
    )
    slack.wait_for(posted(channel, lost_ts))
    ask_in_channel(server, slack, CARD, "CRETRYSENTINEL")  # everything sent before it has been dealt with
    assert len(slack.matching(posted(channel, ts))) == 1
    assert len(slack.matching(posted(channel, lost_ts))) == 1


def test_bot_messages_and_edits_are_ignored(server: LiveServer, slack: SlackStandIn, service: RecordingService) -> None:
    channel = "DBOTS"
    ignored = [
        direct_message(CARD, channel, new_ts(), subtype="bot_message", bot_id="BOTHER", user=None),
        direct_message(CARD, channel, new_ts(), user="UBOT", bot_id="BBOT"),  # this bot's own answer
        direct_message(CARD, channel, new_ts(), bot_id="BOTHER"),  # another app posting as a user
        direct_message(CARD, channel, new_ts(), subtype="message_changed"),
    ]
    asked_before = len(service.asked)
    for event in ignored:
        assert send_event(server, event_callback(event)).status_code == 200
    assert send_event(server, event_callback(direct_message(CARD, channel, new_ts()))).status_code == 200
    slack.wait_for(posted(channel))  # a person's DM is answered in the DM itself, not in a thread
    ask_in_channel(server, slack, CARD, "CBOTSENTINEL")
    assert len(slack.matching(posted(channel))) == 1
    assert len(service.asked) == asked_before + 2


def test_a_follow_up_in_the_thread_is_answered_with_the_thread_as_history(
    server: LiveServer, slack: SlackStandIn, service: RecordingService
) -> None:
    channel = "CTHREAD"
    thread, first = ask_in_channel(server, slack, CARD, channel)
    assert (
        send_event(server, event_callback(mention("Who started it?", channel, new_ts(), thread_ts=thread))).status_code
        == 200
    )
    follow_up = slack.wait_for(posted(channel, thread), count=2)[1]
    _, history = next(entry for entry in reversed(service.asked) if entry[0] == "Who started it?")
    assert history[0] == {"role": "user", "content": CARD}
    assert history[1]["role"] == "assistant" and history[1]["content"] == first.body["text"]
    assert follow_up.body["blocks"][-1]["type"] == "actions"
    ask_in_channel(server, slack, "Who started it?", channel)  # a new thread starts without history
    assert next(entry for entry in reversed(service.asked) if entry[0] == "Who started it?")[1] == []


def test_a_dm_is_one_conversation_and_a_thread_in_it_continues_it(
    server: LiveServer, slack: SlackStandIn, service: RecordingService
) -> None:
    channel = "DCHAT"

    def history_of(question: str) -> list[dict[str, str]]:
        return next(entry for entry in reversed(service.asked) if entry[0] == question)[1]

    assert send_event(server, event_callback(direct_message(CARD, channel, new_ts()))).status_code == 200
    slack.wait_for(posted(channel))
    assert send_event(server, event_callback(direct_message("Who started it?", channel, new_ts()))).status_code == 200
    slack.wait_for(posted(channel), count=2)
    assert [turn["content"] for turn in history_of("Who started it?")][::2] == [CARD]
    thread = new_ts()  # someone replies in a thread under one of the answers
    follow_up = direct_message("And where did they meet before that?", channel, new_ts(), thread_ts=thread)
    assert send_event(server, event_callback(follow_up)).status_code == 200
    slack.wait_for(posted(channel, thread))
    assert [turn["content"] for turn in history_of(follow_up["text"])][::2] == [CARD, "Who started it?"]


def new_trigger_id() -> str:
    """Slack gives every invocation and click its own trigger_id."""
    return f"{next(_ts)}.{time.time_ns()}.trigger"


def command_fields(text: str, response_url: str, channel: str = "CCMD") -> dict[str, str]:
    return {
        "token": "legacy", "team_id": "T0001", "team_domain": "test", "channel_id": channel, "channel_name": "general",
        "user_id": "U100", "user_name": "ada", "command": "/briefings", "text": text, "api_app_id": "A0001",
        "response_url": response_url, "trigger_id": new_trigger_id(),
    }  # fmt: skip


def test_slash_command_is_answered_through_its_response_url(server: LiveServer, slack: SlackStandIn) -> None:
    started = time.perf_counter()
    response = send_form(server, "/slack/commands", command_fields(CARD, slack.response_url("command")))
    assert response.status_code == 200 and time.perf_counter() - started < 3.0
    assert response.json()["response_type"] == "ephemeral"  # "looking…", seen by the asker only
    reply = slack.wait_for(to("/response/command"))[0].body
    assert reply["response_type"] == "in_channel"
    assert "<@U100> asked: How long was the call?" in all_text(reply)
    assert "an hour and 45 minutes" in all_text(reply) and SEED_DOC in all_text(reply)
    usage = send_form(server, "/slack/commands", command_fields("  ", slack.response_url("empty")))
    assert "/briefings How long was the call?" in usage.json()["text"]


def vote_fields(verdict: str, feedback_id: str, response_url: str, user: str = "U100") -> dict[str, str]:
    payload = {
        "type": "block_actions",
        "team": {"id": "T0001", "domain": "test"},
        "user": {"id": user, "username": "ada", "team_id": "T0001"},
        "api_app_id": "A0001",
        "token": "legacy",
        "container": {"type": "message", "message_ts": "1.1", "channel_id": "CVOTE", "is_ephemeral": False},
        "trigger_id": new_trigger_id(),
        "channel": {"id": "CVOTE", "name": "general"},
        "response_url": response_url,
        "actions": [{"action_id": f"feedback_{verdict}", "block_id": "feedback", "value": feedback_id,
                     "type": "button", "action_ts": "1.2"}],
    }  # fmt: skip
    return {"payload": json.dumps(payload)}


def test_votes_are_stored_and_exported_as_a_question_set(
    server: LiveServer, slack: SlackStandIn, seed_settings: Settings, tmp_path: Path
) -> None:
    _, liked = ask_in_channel(server, slack, CARD, "CVOTE")
    _, disliked = ask_in_channel(server, slack, "What is the capital of Peru?", "CVOTE")
    assert "The briefings don't say" in disliked.body["blocks"][0]["text"]["text"]
    [liked_id], [disliked_id] = feedback_ids(liked.body), feedback_ids(disliked.body)
    for verdict, feedback_id, name in (("up", liked_id, "vote-up"), ("down", disliked_id, "vote-down")):
        assert (
            send_form(
                server, "/slack/interactions", vote_fields(verdict, feedback_id, slack.response_url(name))
            ).status_code
            == 200
        )
        thanks = slack.wait_for(to(f"/response/{name}"))[0].body
        assert thanks["response_type"] == "ephemeral" and "recorded" in thanks["text"]
    votes = {vote.answer_id: vote for vote in FeedbackStore.for_settings(seed_settings).votes()}
    assert votes[liked_id].verdict == "up" and votes[liked_id].question == CARD and votes[liked_id].user == "U100"
    assert votes[liked_id].citations[0]["doc"] == SEED_DOC and votes[liked_id].time
    assert votes[disliked_id].verdict == "down" and votes[disliked_id].abstained

    out = tmp_path / "feedback.jsonl"
    command = [
        sys.executable,
        "-m",
        "assistant.adapters.cli",
        "feedback",
        "export",
        "--index",
        str(seed_settings.index),
        "--out",
        str(out),
    ]
    done = subprocess.run(command, cwd=PROJECT, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    lines = {line["id"]: line for line in map(json.loads, out.read_text(encoding="utf-8").splitlines())}
    up = lines[f"feedback-{votes[liked_id].id}"]
    assert up["question"] == CARD and up["type"] == "feedback" and up["answerable"] is True
    assert up["answers"] == [votes[liked_id].answer] and up["evidence"][0]["doc"] == SEED_DOC
    assert up["evidence"][0]["quote"] == votes[liked_id].citations[0]["quote"]
    down = lines[f"feedback-{votes[disliked_id].id}"]
    assert down["answers"] == [] and down["evidence"] == [] and down["needs_review"] is True
    assert down["rejected"]["abstained"] is True


def test_a_vote_for_an_unknown_answer_is_not_stored(server: LiveServer, slack: SlackStandIn) -> None:
    assert (
        send_form(
            server, "/slack/interactions", vote_fields("up", "unknown", slack.response_url("stale-vote"))
        ).status_code
        == 200
    )
    assert "not stored" in slack.wait_for(to("/response/stale-vote"))[0].body["text"]


def test_secrets_never_reach_the_logs(
    server: LiveServer, slack: SlackStandIn, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    ask_in_channel(server, slack, CARD, "CLOGS")
    logging.getLogger("assistant.adapters.slack.app").warning("a careless line with %s and %s", TOKEN, SECRET)
    assert caplog.records, "expected debug logging from slack-sdk"
    assert TOKEN not in caplog.text and SECRET not in caplog.text and "(redacted)" in caplog.text


# -------------------------------------------------------------------------- other configurations
@pytest.mark.parametrize("configured", [{}, {"SLACK_SIGNING_SECRET": SECRET}, {"SLACK_BOT_TOKEN": TOKEN}])
def test_without_configuration_slack_answers_503(seed_settings: Settings, configured: dict[str, str]) -> None:
    live = LiveServer(create_app(BriefingService(with_slack(seed_settings, **configured))))
    try:
        for path in ("/slack/events", "/slack/commands", "/slack/interactions"):
            body = json.dumps({"challenge": "c", "type": "url_verification"}).encode()
            response = live.http.post(path, content=body, headers=signature_headers(body))
            assert response.status_code == 503 and "Slack is not configured" in response.text
    finally:
        live.close()


def test_oauth_client_settings_are_warned_about_at_mount(
    seed_settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    oauth = with_slack(
        slack_configured(seed_settings, "http://127.0.0.1:9/api/"),
        SLACK_CLIENT_ID="123.456",
        SLACK_CLIENT_SECRET="client-secret",
    )
    create_app(BriefingService(oauth))
    assert "SLACK_CLIENT_ID/SLACK_CLIENT_SECRET are set" in caplog.text and "client-secret" not in caplog.text


def test_a_refused_bot_token_is_logged_and_the_server_keeps_serving(
    seed_settings: Settings, slack: SlackStandIn, caplog: pytest.LogCaptureFixture
) -> None:
    live = LiveServer(create_app(BriefingService(slack_configured(seed_settings, slack.api_url, REVOKED))))
    try:
        response = send_event(live, event_callback(mention(CARD, "CREVOKED", new_ts())))
        assert response.status_code == 200  # acknowledged, so Slack does not retry a request that cannot succeed
        assert "invalid_auth" in caplog.text and REVOKED not in caplog.text
        assert send_event(live, {"challenge": "still", "type": "url_verification"}).json() == {"challenge": "still"}
        assert live.http.get("/healthz").status_code == 200
        assert not slack.matching(lambda call: call.body.get("channel") == "CREVOKED")
    finally:
        live.close()


def test_an_unreachable_web_api_is_logged_and_left_to_slack_to_retry(
    seed_settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        nowhere = f"http://127.0.0.1:{closed.getsockname()[1]}/api/"
    live = LiveServer(create_app(BriefingService(slack_configured(seed_settings, nowhere))))
    try:
        response = send_event(live, event_callback(mention(CARD, "CNOWHERE", new_ts())))
        assert response.status_code == 500 and "Traceback" not in response.text
        assert f"cannot reach the Web API at {nowhere}" in caplog.text and TOKEN not in caplog.text
        assert send_event(live, {"challenge": "up", "type": "url_verification"}).json() == {"challenge": "up"}
    finally:
        live.close()


# ---------------------------------------------------------------------------- pieces, no network
def test_slack_text_becomes_the_question() -> None:
    assert question_text("<@UBOT>  How long was   the call?") == "How long was the call?"
    assert question_text("<!here> what did <https://ex.org/a|the report> say about Q&amp;A &lt;2&gt;?") == (
        "what did the report say about Q&A <2>?"
    )
    assert question_text("<@UBOT>") == ""


def test_long_answers_are_split_within_slack_limits() -> None:
    quote = "A very long sentence about the call, repeated. " * 120  # about 5,600 characters
    citations = tuple(
        Citation(n, f"doc{n}.txt", "A title & <more>", "2022-02-20", 0, len(quote), 0.9, quote) for n in range(1, 31)
    )
    answer = Answer("Why?", "word " * 2000 + "&" * 4000, False, citations, (), "extractive", {})
    messages = answer_messages(answer, "feedbackid")
    assert len(messages) > 1
    for message in messages:
        assert len(message["blocks"]) <= MAX_BLOCKS
        for block in message["blocks"]:
            if block["type"] == "section":
                assert 0 < len(block["text"]["text"]) <= MAX_SECTION_TEXT
    assert [block["type"] for message in messages for block in message["blocks"]].count("actions") == 1
    assert messages[-1]["blocks"][-1]["type"] == "actions"
    shown = "".join(
        block["text"]["text"] for message in messages for block in message["blocks"] if block["type"] == "section"
    )
    assert "A title &amp; &lt;more&gt;" in shown and "<more>" not in shown


def test_conversation_memory_is_bounded() -> None:
    conversations = Conversations(capacity=2, turns=4)
    for number in range(3):
        conversations.add("t1", f"q{number}", f"a{number}")
    assert [turn["content"] for turn in conversations.history("t1")] == ["q1", "a1", "q2", "a2"]
    conversations.add("t2", "q", "a")
    conversations.add("t3", "q", "a")
    assert conversations.history("t1") == []


def test_redaction_covers_any_slack_token() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "token %s", ("xoxp-999-abc",), None)
    RedactSecrets().filter(record)
    assert "xoxp-999-abc" not in record.getMessage()


def test_a_follow_up_vote_is_exported_as_a_conversation() -> None:
    history = ({"role": "user", "content": CARD}, {"role": "assistant", "content": "an hour and 45 minutes"})
    citation = {"doc": SEED_DOC, "quote": "the call was initiated by the French side", "start": 0, "end": 1}
    vote = Vote(
        7,
        "id",
        "U1",
        "up",
        "2024-01-01T00:00:00+00:00",
        "Who started it?",
        "the French side",
        False,
        (citation,),
        history,
    )
    line = to_question(vote)
    assert line["id"] == "feedback-7" and line["type"] == "feedback"
    assert line["turns"][0] == {"user": CARD}
    assert line["turns"][1]["answers"] == ["the French side"] and line["turns"][1]["evidence"][0]["doc"] == SEED_DOC
