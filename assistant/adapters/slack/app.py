"""Slack: ask the briefings by mentioning the bot, in a DM, or with a slash command; answers come in the thread.

A thin translation between Slack and :class:`BriefingService`: this module owns the routes, the bolt app
and the replies; the layout of a reply is :mod:`.blocks`, what is remembered between requests :mod:`.state`
and :mod:`.feedback`, the configuration and log redaction :mod:`.config`. It must not compute answers, touch
the index or read the environment.

Routes on the same FastAPI app as the API and the UI (all ``POST``):

- ``/slack/events``: the Events API (``app_mention``, ``message.im``, the ``url_verification`` challenge)
- ``/slack/commands``: the slash command, e.g. ``/briefings How long was the call?``
- ``/slack/interactions``: the 👍/👎 buttons under every answer

Why it is built this way:

- slack-bolt's ``AsyncApp`` speaks the protocol, and its request verification runs before anything else: the
  v0 signature (HMAC-SHA256 of ``v0:timestamp:body`` with the signing secret) must match and the timestamp
  be under five minutes old, or the answer is 401 and no listener runs.
- Without ``SLACK_SIGNING_SECRET`` and ``SLACK_BOT_TOKEN`` the routes answer 503 instead of trusting anyone.
- Slack gives an app three seconds to acknowledge. Listeners only acknowledge; the answer is produced in a
  lazy listener, and the CPU-bound ``BriefingService.ask`` runs in a worker thread so the event loop stays
  free to acknowledge the next request.
- Slack redelivers (retries carry ``X-Slack-Retry-Num``; duplicates happen): each event, each message, each
  slash command and each button click is handled at most once, even across a restart or several workers
  (the keys are kept in SQLite beside the index; see :mod:`.state`).
- A thread is a conversation: its last turns are kept in memory (bounded per thread and in number of
  threads) and passed to the service as history, so "who started it?" is understood.
- Replies to slash commands and clicks go to the request's ``response_url`` only when it is Slack's
  (``https://hooks.slack.com``) or the operator's ``SLACK_API_URL`` host: the payload never chooses where
  this server sends a request. Any other ``response_url`` is ignored with a warning and the reply goes to
  the user through the Web API (``chat.postEphemeral``) instead.
- A failure while answering shows the user one fixed line; the exception and its traceback go to the log
  only. The project's own ``BriefingsError`` messages are written for users and shown as they are.
- The bot token reaches Slack only in the Authorization header; it and the signing secret are taken from the
  settings once at mount, kept out of ``repr`` and scrubbed from every log record the Slack code (and
  slack-sdk/bolt) writes.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import re
import sqlite3
from collections.abc import Mapping
from typing import Any

import aiohttp
from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from slack_bolt.adapter.fastapi.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncApp
from slack_bolt.error import BoltError
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient
from yarl import URL

from assistant.adapters.slack.blocks import (
    FEEDBACK_DOWN,
    FEEDBACK_UP,
    Message,
    answer_messages,
    escape,
    question_text,
    text_message,
)
from assistant.adapters.slack.config import DEFAULT_API_URL, RedactSecrets, SlackConfig
from assistant.adapters.slack.digest import answer_digest_command, digest_command, digest_reply
from assistant.adapters.slack.feedback import FeedbackStore, Verdict
from assistant.adapters.slack.state import (
    Conversations,
    Deliveries,
    Place,
    delivery_key,
    from_a_person,
    message_key,
    place_of,
)
from assistant.errors import BriefingsError
from assistant.service import BriefingService
from assistant.types import Answer

SLACK_PATHS = ("/slack/events", "/slack/commands", "/slack/interactions")
SLACK_TIMEOUT_SECONDS = 10  # every Web API and response_url call
MAX_BODY_BYTES = 1024 * 1024  # Slack's payloads are a few KB; this stops a body from eating memory
SLACK_RESPONSE_HOST = "hooks.slack.com"  # where Slack's response_urls point (commands, actions, shortcuts)

USAGE = "Ask me about the briefings: mention me with a question, or type `/briefings How long was the call?`"
SORRY = "Sorry, something went wrong while answering. The details are in the server log."
AUTH_PROBLEM = ":warning: Briefings cannot use its Slack bot token; an admin should check SLACK_BOT_TOKEN."
THANKS: dict[Verdict, str] = {
    "up": "Thanks, your 👍 is recorded.",
    "down": "Thanks, your 👎 is recorded; this answer will be reviewed.",
}

log = logging.getLogger(__name__)
_slack_log = logging.getLogger(f"{__name__}.bolt")  # slack-bolt and slack-sdk log through this one

_REDACT = RedactSecrets()
for _logger in (log, _slack_log):
    _logger.addFilter(_REDACT)


# -------------------------------------------------------------------------------------- answering
class Responder:
    """Answers Slack questions with the one shared service; every method runs after Slack has its ack."""

    def __init__(
        self, service: BriefingService, feedback: FeedbackStore, deliveries: Deliveries, api_url: str = DEFAULT_API_URL
    ) -> None:
        self.service = service
        self.feedback = feedback
        self.deliveries = deliveries
        self.conversations = Conversations()
        self.api_url = api_url

    async def on_event(self, event: Mapping[str, Any], client: AsyncWebClient) -> None:
        """A mention or a DM: answered once, in its thread, with the thread's earlier turns as history."""
        if not from_a_person(event):
            return
        if not await asyncio.to_thread(self.deliveries.first_time, message_key(event)):
            return
        place = place_of(event)
        question = question_text(event.get("text"))
        if not question:
            await post(client, place, text_message(USAGE))
            return
        history = self.conversations.history(place.conversation)
        if not history and place.started_in:  # a thread on an answer in a DM continues the DM's conversation
            history = self.conversations.history(place.started_in)
        digest = await digest_reply(self, question, history)  # "what's new?": a timeline, not an answer
        if digest is not None:
            self.conversations.add(place.conversation, question, digest[1])
            for message in digest[0]:
                await post(client, place, message)
            return
        answer, messages = await self.answer(question, history, str(event.get("user")), place.conversation)
        if answer is not None:  # before posting: a follow-up typed as soon as the answer shows must see it
            self.conversations.add(place.conversation, question, answer.answer)
        for message in messages:
            await post(client, place, message)

    async def on_command(self, command: Mapping[str, Any], client: AsyncWebClient) -> None:
        """A slash command: the answer goes to its response_url, in the channel for everyone to see."""
        question = question_text(command.get("text"))
        if not question:
            return  # the acknowledgement already showed how to ask
        if (digest := digest_command(question)) is not None:  # "/briefings digest Red Sea since March 3"
            await answer_digest_command(self, command, digest, client)
            return
        user, channel = str(command.get("user_id", "")), str(command.get("channel_id", ""))
        answer, messages = await self.answer(question, [], user, f"{channel}:command", show_asker=True)
        for message in messages:
            response_type = "in_channel" if answer else "ephemeral"
            await self.reply(
                str(command.get("response_url", "")), channel, user, client, {**message, "response_type": response_type}
            )

    async def on_vote(self, body: Mapping[str, Any], action: Mapping[str, Any], client: AsyncWebClient) -> None:
        """A 👍/👎 click: stored, and thanked privately."""
        verdict: Verdict = "up" if action.get("action_id") == FEEDBACK_UP else "down"
        user = str((body.get("user") or {}).get("id", "unknown"))
        try:
            vote = await asyncio.to_thread(self.feedback.vote, str(action.get("value", "")), user, verdict)
            text = THANKS[verdict] if vote else "That answer is no longer on record, so the vote was not stored."
        except Exception:
            log.exception("Slack: could not store a vote in %s", self.feedback.path)
            text = "Sorry, the vote could not be stored."
        channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get("channel_id") or ""
        reply = {"response_type": "ephemeral", "replace_original": False, "text": text}
        await self.reply(str(body.get("response_url") or ""), str(channel), user, client, reply)

    async def answer(
        self, question: str, history: list[dict[str, str]], user: str, where: str, show_asker: bool = False
    ) -> tuple[Answer | None, list[Message]]:
        """The answer and its messages; a problem becomes a friendly message (and ``None``), never a traceback."""
        try:
            answer = await asyncio.to_thread(self.service.ask, question, history)
            feedback_id = await asyncio.to_thread(self._remember, answer, history, user, where)
            return answer, answer_messages(answer, feedback_id, user if show_asker else None)
        except BriefingsError as error:  # written for the person who asked
            return None, [text_message(f":warning: {error}")]
        except Exception:  # the detail is for the log only: it can name files, hosts or credentials
            log.exception("Slack: answering a question failed")
            return None, [text_message(SORRY)]

    def _remember(self, answer: Answer, history: list[dict[str, str]], user: str, where: str) -> str | None:
        """The feedback id for the buttons; without a writable store the answer is still shown, without buttons."""
        try:
            return self.feedback.remember(answer, history, user, where)
        except (sqlite3.Error, OSError) as error:
            log.warning(
                "Slack: feedback store %s unavailable (%s); answering without vote buttons", self.feedback.path, error
            )
            return None

    async def reply(self, response_url: str, channel: str, user: str, client: AsyncWebClient, message: Message) -> None:
        """To the response_url when it is Slack's; otherwise privately, through the Web API, or not at all."""
        if is_slack_response_url(response_url, self.api_url):
            await respond(response_url, message)
            return
        log.warning(
            "Slack: ignoring a response_url that is not Slack's (host %r); replying with chat.postEphemeral",
            _host(response_url),
        )
        if not (channel and user):
            log.warning("Slack: no channel and user to reply to instead; the reply is dropped")
            return
        visible = {key: value for key, value in message.items() if key in ("text", "blocks")}
        await _call_web_api(client.chat_postEphemeral, channel, channel=channel, user=user, **visible)


def is_slack_response_url(url: str, api_url: str) -> bool:
    """Slack's response host over https, or the operator's ``SLACK_API_URL`` host; never one a payload picks."""
    try:
        target, api = URL(url), URL(api_url)
    except (TypeError, ValueError):
        return False
    if not target.absolute or target.user is not None or target.password is not None or not target.host:
        return False
    if (target.scheme, target.host, target.port) == ("https", SLACK_RESPONSE_HOST, 443):
        return True
    return (target.scheme, target.host, target.port) == (api.scheme, api.host, api.port)


def _host(url: str) -> str | None:
    try:
        return URL(url).host
    except (TypeError, ValueError):
        return None


async def post(client: AsyncWebClient, place: Place, message: Message) -> None:
    """``chat.postMessage`` into the place's thread; a refusal is logged (the user asked; there is no one to tell)."""
    await _call_web_api(
        client.chat_postMessage,
        place.channel,
        channel=place.channel,
        thread_ts=place.thread_ts,
        unfurl_links=False,
        unfurl_media=False,
        **message,
    )


async def _call_web_api(method: Any, where: str, **arguments: Any) -> None:
    try:
        await method(**arguments)
    except SlackApiError as error:
        log.warning("Slack: %s to %s failed: %s", method.__name__, where, error.response.get("error"))
    except (aiohttp.ClientError, TimeoutError) as error:
        log.warning("Slack: %s to %s failed: %r", method.__name__, where, error)


async def respond(response_url: str, body: dict[str, Any]) -> None:
    """POST to a response_url (slash commands, button clicks): no token needed, valid for 30 minutes."""
    try:
        client = AsyncWebhookClient(url=response_url, timeout=SLACK_TIMEOUT_SECONDS, logger=_slack_log)
        result = await client.send_dict(body)
    except (aiohttp.ClientError, TimeoutError) as error:
        log.warning("Slack: response_url unreachable: %r", error)
        return
    if result.status_code != 200:
        log.warning("Slack: response_url refused the reply: %s %s", result.status_code, result.body[:200])


# ------------------------------------------------------------------------------------------ bolt
def build_bolt_app(config: SlackConfig, responder: Responder) -> AsyncApp:
    """The bolt app: verification and url_verification built in; acks at once, answers lazily."""
    bolt = AsyncApp(
        name="briefings.slack",
        logger=_slack_log,
        token=config.bot_token,
        signing_secret=config.signing_secret,
        user_facing_authorize_error_message=AUTH_PROBLEM,
    )
    # Set on bolt's own client rather than passing one: bolt also reads SLACK_BOT_TOKEN and warns that a given
    # client makes it "unused". Every per-request client copies these two.
    bolt.client.base_url = config.api_url
    bolt.client.timeout = SLACK_TIMEOUT_SECONDS

    async def once_per_delivery(body: dict[str, Any], request: Any, next: Any) -> BoltResponse | None:
        key = delivery_key(body, request.raw_body)
        if key is not None and not await asyncio.to_thread(responder.deliveries.first_time, key):
            retry = (request.headers.get("x-slack-retry-num") or ["-"])[0]
            log.info("Slack: %s delivered again (retry %s); already handled", key, retry)
            return BoltResponse(status=200, body="")
        await next()
        return None

    async def ack_now(ack: Any) -> None:
        await ack()

    async def ack_command(ack: Any, command: dict[str, Any]) -> None:
        question = question_text(command.get("text"))
        await ack(
            response_type="ephemeral", text=f":mag: Looking in the briefings: {escape(question)}" if question else USAGE
        )

    async def answer_event(event: dict[str, Any], client: AsyncWebClient) -> None:
        await responder.on_event(event, client)

    async def answer_command(command: dict[str, Any], client: AsyncWebClient) -> None:
        await responder.on_command(command, client)

    async def store_vote(body: dict[str, Any], action: dict[str, Any], client: AsyncWebClient) -> None:
        await responder.on_vote(body, action, client)

    async def explain_failure(error: Exception) -> None:
        if isinstance(error, (aiohttp.ClientError, TimeoutError)):  # Slack answers 500 with a retry later
            log.error(
                "Slack: cannot reach the Web API at %s (%r): check SLACK_API_URL and the network", config.api_url, error
            )
        else:
            log.error("Slack: handling a request failed", exc_info=error)

    bolt.error(explain_failure)
    bolt.middleware(once_per_delivery)
    bolt.event("app_mention")(ack=ack_now, lazy=[_logged(answer_event)])
    bolt.event("message")(ack=ack_now, lazy=[_logged(answer_event)])  # every message event is acked; DMs answered
    bolt.command(re.compile(r"^/"))(ack=ack_command, lazy=[_logged(answer_command)])  # whatever the command's name
    bolt.action(re.compile(f"^({FEEDBACK_UP}|{FEEDBACK_DOWN})$"))(ack=ack_now, lazy=[_logged(store_vote)])
    return bolt


def _logged(function: Any) -> Any:
    """Lazy listeners run after the response is sent: an unexpected error is logged with its traceback."""

    @functools.wraps(function)  # bolt reads the wrapped function's parameter names to inject arguments
    async def wrapper(**kwargs: Any) -> None:
        try:
            await function(**kwargs)
        except Exception:
            log.exception("Slack: %s failed", function.__name__)

    return wrapper


# ----------------------------------------------------------------------------------------- mount
def mount(app: FastAPI, service: BriefingService) -> None:
    """Attach the Slack routes to ``app``; without configuration they answer 503."""
    handler = _handler(SlackConfig.from_settings(service.settings), service)

    async def slack(request: Request) -> Response:
        if handler is None:
            return JSONResponse({"detail": "Slack is not configured"}, status_code=503)
        if int(request.headers.get("content-length") or 0) > MAX_BODY_BYTES:  # the server has checked it is a number
            return JSONResponse({"detail": "Request body too large"}, status_code=413)
        return await handler.handle(request)

    for path in SLACK_PATHS:
        app.add_api_route(
            path, slack, methods=["POST"], include_in_schema=False, name=path.strip("/").replace("/", "_")
        )


def _handler(config: SlackConfig, service: BriefingService) -> AsyncSlackRequestHandler | None:
    if config.missing:
        log.info("Slack is not configured (%s unset): /slack/* answer 503", ", ".join(config.missing))
        return None
    _REDACT.add(config.signing_secret, config.bot_token)
    if config.wants_oauth:
        log.warning("Slack: SLACK_CLIENT_ID/SLACK_CLIENT_SECRET are set, which makes slack-bolt expect OAuth installs")
    try:
        deliveries = Deliveries.in_folder(service.settings.index)
        feedback = FeedbackStore.for_settings(service.settings)
        bolt = build_bolt_app(config, Responder(service, feedback, deliveries, config.api_url))
    except BoltError as error:
        log.error("Slack could not start (%s): /slack/* answer 503", error)
        return None
    log.info(
        "Slack: listening at %s; Web API %s; the bot token is checked on the first event",
        ", ".join(SLACK_PATHS),
        config.api_url,
    )
    return AsyncSlackRequestHandler(bolt)
