"""The HTTP adapter: one FastAPI app for ``POST /api/ask`` and ``GET /healthz`` (the UI and Slack mount here too).

Routes translate the :mod:`assistant.errors` tree into HTTP statuses and call the one shared
:class:`BriefingService`; they hold no logic of their own.
"""

from __future__ import annotations

import logging
from typing import Any, Literal

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from assistant.errors import (
    AnswerBackendError,
    BriefingsError,
    EmbeddingMismatch,
    IndexProblem,
    QuestionError,
    QuestionTooLong,
    StoreUnavailable,
)
from assistant.service import BriefingService

log = logging.getLogger(__name__)


class HistoryTurn(BaseModel):
    role: Literal["user", "assistant"]
    content: str = Field(max_length=20_000)


class AskRequest(BaseModel):
    question: str = Field(description="The question about the briefings.")
    history: list[HistoryTurn] = Field(default_factory=list, description="Earlier turns, oldest first.")
    since: str | None = Field(None, description="Only articles dated on or after YYYY-MM-DD.")
    until: str | None = Field(None, description="Only articles dated on or before YYYY-MM-DD.")
    llm: str | None = Field(None, description="Answer mode for this question; default the server's.")


def status_for(error: BriefingsError) -> int:
    """The HTTP status that says what kind of problem a project error is."""
    if isinstance(error, QuestionTooLong):
        return 413
    if isinstance(error, QuestionError):
        return 422
    if isinstance(error, (IndexProblem, StoreUnavailable)) and not isinstance(error, EmbeddingMismatch):
        return 503
    if isinstance(error, AnswerBackendError):
        return 400
    return 500


def create_app(service: BriefingService) -> FastAPI:
    """The app ``briefings serve`` runs; tests build it the same way."""
    app = FastAPI(title="Briefings", version="0.1.0", description="Answers about briefings, with verified citations.")
    app.state.service = service

    @app.exception_handler(BriefingsError)
    async def _briefings_error(request: Request, error: BriefingsError) -> JSONResponse:
        return JSONResponse({"detail": str(error)}, status_code=status_for(error))

    @app.post("/api/ask", summary="Answer a question with citations")
    def ask(body: AskRequest) -> dict[str, Any]:
        history = [turn.model_dump() for turn in body.history]
        return service.ask(body.question, history, body.since, body.until, body.llm).to_dict()

    @app.get("/healthz", summary="Readiness: index loaded, counts, embedding model")
    def healthz() -> JSONResponse:
        try:
            stats = service.stats()
        except BriefingsError as error:
            return JSONResponse({"status": "not ready", "detail": str(error)}, status_code=503)
        return JSONResponse(
            {
                "status": "ok",
                "articles": stats.articles,
                "chunks": stats.chunks,
                "first_date": stats.first_date,
                "last_date": stats.last_date,
                "embedding_model": stats.embedding_model,
                "index": stats.location,
            }
        )

    from assistant import slack, ui

    slack.mount(app, service)
    ui.mount(app, service)  # last: the UI owns "/" and must not shadow the routes above
    return app
