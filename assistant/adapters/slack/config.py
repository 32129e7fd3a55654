"""The Slack adapter's configuration and its secret hygiene.

Owns :class:`SlackConfig` (the Slack part of :class:`~assistant.settings.Settings`, taken once when the routes
are mounted) and :class:`RedactSecrets`, the log filter that keeps the bot token and the signing secret out
of every record the Slack code writes. Must not read the environment (the settings object already did), talk
to Slack or answer anything.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field

from assistant.settings import Settings

DEFAULT_API_URL = "https://slack.com/api/"

_TOKEN = re.compile(r"xox[a-z]-[A-Za-z0-9-]+")


@dataclass(frozen=True)
class SlackConfig:
    """The three settings of the contract (``SLACK_SIGNING_SECRET``, ``SLACK_BOT_TOKEN``, ``SLACK_API_URL``).

    ``wants_oauth`` records that ``SLACK_CLIENT_ID`` and ``SLACK_CLIENT_SECRET`` are both set, which makes
    slack-bolt expect multi-workspace installs that Briefings does not support.
    """

    signing_secret: str | None = field(default=None, repr=False)
    bot_token: str | None = field(default=None, repr=False)
    api_url: str = DEFAULT_API_URL
    wants_oauth: bool = False

    @classmethod
    def from_settings(cls, settings: Settings) -> SlackConfig:
        api_url = (settings.slack_api_url or "").strip() or DEFAULT_API_URL
        return cls(
            (settings.slack_signing_secret or "").strip() or None,
            (settings.slack_bot_token or "").strip() or None,
            api_url if api_url.endswith("/") else api_url + "/",
            bool(settings.slack_client_id and settings.slack_client_secret),
        )

    @property
    def missing(self) -> list[str]:
        """Names of the required variables that are unset (names only: never values)."""
        wanted = {"SLACK_SIGNING_SECRET": self.signing_secret, "SLACK_BOT_TOKEN": self.bot_token}
        return [name for name, value in wanted.items() if not value]


class RedactSecrets(logging.Filter):
    """Scrub Slack tokens (and the configured secrets) from log records before any handler sees them."""

    def __init__(self) -> None:
        super().__init__()
        self._secrets: set[str] = set()

    def add(self, *secrets: str | None) -> None:
        self._secrets.update(secret for secret in secrets if secret)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = _TOKEN.sub("xox?-(redacted)", message)
        for secret in self._secrets:
            clean = clean.replace(secret, "(redacted)")
        if clean != message:
            record.msg, record.args = clean, None
        return True
