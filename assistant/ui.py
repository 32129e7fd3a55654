"""The Gradio chat UI, mounted at ``/`` of the FastAPI app (placeholder until the UI lands)."""

from __future__ import annotations

from fastapi import FastAPI

from assistant.service import BriefingService


def mount(app: FastAPI, service: BriefingService) -> None:
    """Attach the UI to ``app``; the UI calls the same service object as the HTTP routes."""
