"""``POST /api/digest``: the digest object of DESIGN.md over HTTP, documented in the OpenAPI page.

Translation only: the body becomes a :class:`DigestRequest`, the service builds the digest. Bad dates and
dates in the wrong order are the project's ``QuestionError`` (422 with the one-line reason, through the app's
error handler); a window without briefings is a 200 with no items and a ``note``.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel, Field

from assistant.service import BriefingService, DigestRequest

_DESCRIPTION = (
    "The key sentences of the briefings dated in `[since, until]` (inclusive; default: the week up to the newest "
    "briefing), about `topic` (empty: everything). Every item's `text` is the verbatim quote of its first citation "
    "(`text == article[start:end]`); further citations are briefings reporting the same fact. Items are the "
    "`limit` most salient, in date order; `more` says whether a larger `limit` would add some. `since`/`until` "
    "also take 'March 3', 'Monday' or 'yesterday' (relative to the newest briefing). A window without briefings, "
    "or without any about the topic, returns no items and a `note` saying so; unreadable dates or dates in the "
    "wrong order return 422."
)


class DigestBody(BaseModel):
    topic: str = Field("", max_length=500, description="What the digest is about; empty for everything.")
    since: str | None = Field(None, description="First day, YYYY-MM-DD (inclusive).", examples=["2024-01-01"])
    until: str | None = Field(None, description="Last day, YYYY-MM-DD (inclusive).", examples=["2024-01-07"])
    limit: int = Field(10, ge=1, le=100, description="At most this many items (the most salient).")


def add_digest_route(app: FastAPI, service: BriefingService, guarded: list[Any]) -> None:
    """Register ``POST /api/digest`` on ``app`` behind the same token guard as ``/api/ask``."""

    @app.post(
        "/api/digest",
        summary="A dated, cited digest of a topic over a time window",
        description=_DESCRIPTION,
        dependencies=guarded,
    )
    def digest(body: DigestBody) -> dict[str, Any]:
        return service.digest(DigestRequest(body.topic, body.since, body.until, body.limit)).to_dict()
