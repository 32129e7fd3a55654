"""Slack: ``/slack/events``, ``/slack/commands`` and interactivity (placeholder until Slack lands)."""

from __future__ import annotations

from fastapi import FastAPI

from assistant.service import BriefingService


def mount(app: FastAPI, service: BriefingService) -> None:
    """Attach the Slack routes to ``app``."""
