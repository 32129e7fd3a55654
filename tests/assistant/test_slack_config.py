"""Slack's configuration comes from the one Settings object, as the operator's SLACK_* variables set it."""

from __future__ import annotations

import pytest

from assistant.adapters.slack.config import DEFAULT_API_URL, SlackConfig
from assistant.settings import Settings

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
TOKEN = "xoxb-1234-5678-briefingsTESTtoken"


def test_the_slack_variables_reach_the_config_through_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_SIGNING_SECRET", f" {SECRET} ")
    monkeypatch.setenv("SLACK_BOT_TOKEN", TOKEN)
    monkeypatch.setenv("SLACK_API_URL", "http://127.0.0.1:9000/api")
    config = SlackConfig.from_settings(Settings())
    assert (config.signing_secret, config.bot_token) == (SECRET, TOKEN)
    assert config.api_url == "http://127.0.0.1:9000/api/" and config.missing == [] and not config.wants_oauth
    assert SECRET not in repr(config) and TOKEN not in repr(config)


def test_unset_or_blank_variables_are_named_as_missing() -> None:
    config = SlackConfig.from_settings(Settings(slack_signing_secret="  ", slack_api_url=""))
    assert config.missing == ["SLACK_SIGNING_SECRET", "SLACK_BOT_TOKEN"] and config.api_url == DEFAULT_API_URL


def test_oauth_is_noticed_only_when_both_client_variables_are_set() -> None:
    assert not SlackConfig.from_settings(Settings(slack_client_id="123.456")).wants_oauth
    assert SlackConfig.from_settings(Settings(slack_client_id="123.456", slack_client_secret="shh")).wants_oauth
