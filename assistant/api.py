"""The HTTP adapter: one FastAPI app for ``POST /api/ask``, its streaming twin and ``GET /healthz``.

The chat UI and Slack mount on the same app. Routes translate the :mod:`assistant.errors` tree into HTTP
statuses and call the one shared :class:`BriefingService`; they hold no logic of their own. When
``BRIEFINGS_API_TOKEN`` is set, the asking routes want ``Authorization: Bearer <token>``.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Iterator
from itertools import chain
from typing import Annotated, Any, Literal

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

from assistant.errors import (
    AnswerBackendError,
    BriefingsError,
    DocumentRejected,
    EmbeddingMismatch,
    IndexProblem,
    QuestionError,
    QuestionTooLong,
    StoreUnavailable,
)
from assistant.service import BriefingService, StreamEvent

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 256 * 1024  # generous for a question plus a long chat history; stops a body from eating memory
_bearer = HTTPBearer(auto_error=False, description="Required when the server has BRIEFINGS_API_TOKEN set.")


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
    if isinstance(error, (QuestionError, DocumentRejected)):
        return 422
    if isinstance(error, (IndexProblem, StoreUnavailable)) and not isinstance(error, EmbeddingMismatch):
        return 503
    if isinstance(error, AnswerBackendError):
        return 400
    return 500


def create_app(service: BriefingService, ui_auth: tuple[str, str] | None = None) -> FastAPI:
    """The app ``briefings serve`` runs; tests build it the same way.

    ``ui_auth`` is the chat UI's user name and password (the API is guarded by the settings' token instead).
    """
    app = FastAPI(title="Briefings", version="0.1.0", description="Answers about briefings, with verified citations.")
    app.state.service = service
    app.add_middleware(BodySizeLimit, limit=MAX_BODY_BYTES, prefix="/api/")
    app.add_exception_handler(BriefingsError, _briefings_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _invalid_request)  # type: ignore[arg-type]
    require_token = token_guard(service.settings.api_token)

    @app.post("/api/ask", summary="Answer a question with citations", dependencies=[Depends(require_token)])
    def ask(body: AskRequest) -> dict[str, Any]:
        return service.ask(body.question, _history(body), body.since, body.until, body.llm).to_dict()

    @app.post(
        "/api/ask/stream",
        summary="Answer a question as server-sent events",
        description='`delta` events carry text as it is produced (`{"text": ...}`); one `answer` event then '
        "carries the whole answer object, citations included. A failure after the stream has started arrives "
        'as an `error` event (`{"detail": ..., "status": ...}`).',
        dependencies=[Depends(require_token)],
        response_class=StreamingResponse,
    )
    def ask_stream(body: AskRequest) -> StreamingResponse:
        events = service.stream(body.question, _history(body), body.since, body.until, body.llm)
        first = next(events, None)  # here, not in the stream: a bad question must still get its 4xx status
        started = (first,) if first is not None else ()
        return StreamingResponse(
            server_sent_events(chain(started, events)),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    @app.get("/healthz", summary="Readiness: index loaded, counts, embedding model")
    def healthz() -> JSONResponse:
        try:
            stats = service.stats()
        except BriefingsError as error:
            return JSONResponse({"status": "not ready", "index_loaded": False, "detail": str(error)}, status_code=503)
        return JSONResponse(
            {
                "status": "ok",
                "index_loaded": True,
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
    ui.mount(app, service, auth=ui_auth)  # last: the UI owns "/" and must not shadow the routes above
    return app


def _history(body: AskRequest) -> list[dict[str, str]]:
    return [turn.model_dump() for turn in body.history]


def server_sent_events(events: Iterator[StreamEvent]) -> Iterator[str]:
    """``delta`` and ``answer`` events in SSE framing; an error mid-stream becomes an ``error`` event.

    Once the first byte is sent the status is fixed at 200, so a later failure can only be reported in-band.
    """
    try:
        for event in events:
            if event.kind == "delta":
                yield _sse("delta", {"text": event.text})
            elif event.answer is not None:
                yield _sse("answer", event.answer.to_dict())
    except BriefingsError as error:
        yield _sse("error", {"detail": str(error), "status": status_for(error)})
    except Exception:
        log.exception("streamed answer failed")
        yield _sse("error", {"detail": "The answer failed on the server; its log has the details", "status": 500})


def _sse(kind: str, data: dict[str, Any]) -> str:
    return f"event: {kind}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


def token_guard(token: str | None) -> Any:
    """A dependency that wants ``Authorization: Bearer <token>`` when a token is configured, else nothing."""

    def require_token(
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> None:
        if token is None:
            return
        given = credentials.credentials if credentials is not None else ""
        if not secrets.compare_digest(given.encode(), token.encode()):
            raise HTTPException(
                401, "Missing or wrong API token: send Authorization: Bearer <token>", {"WWW-Authenticate": "Bearer"}
            )

    return require_token


async def _briefings_error(request: Request, error: BriefingsError) -> JSONResponse:
    return JSONResponse({"detail": str(error)}, status_code=status_for(error))


async def _invalid_request(request: Request, error: RequestValidationError) -> JSONResponse:
    """422 with a readable one-line reason first (``detail``) and FastAPI's itemised list after (``errors``)."""
    problems = error.errors()
    detail = "Malformed request: " + ("; ".join(_reason(problem) for problem in problems) or "unreadable body")
    return JSONResponse({"detail": detail, "errors": _jsonable(problems)}, status_code=422)


def _reason(problem: Any) -> str:
    if problem.get("type") == "json_invalid":
        return f"the body is not valid JSON ({problem.get('ctx', {}).get('error', 'decode error')})"
    where = ".".join(str(part) for part in problem.get("loc", ())[1:]) or "body"
    return f"{where}: {problem.get('msg', 'invalid')}"


def _jsonable(problems: Any) -> Any:
    """Validation problems can carry exceptions or bytes in ``ctx``/``input``; make them JSON-safe."""
    return json.loads(json.dumps(problems, default=str))


class BodySizeLimit:
    """Refuse request bodies over ``limit`` bytes under ``prefix`` with 413, before they are read into memory."""

    def __init__(self, app: ASGIApp, limit: int, prefix: str) -> None:
        self.app = app
        self.limit = limit
        self.prefix = prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(self.prefix):
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            response = JSONResponse({"detail": f"The request body is over {self.limit} bytes"}, status_code=413)
            await response(scope, receive, send)
            return
        await self.app(scope, self._counting(receive, scope, send), send)

    def _counting(self, receive: Receive, scope: Scope, send: Send) -> Receive:
        """A ``receive`` that stops a body without Content-Length (chunked) at the same limit."""
        seen = 0

        async def receive_limited() -> Any:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise HTTPException(413, f"The request body is over {self.limit} bytes")
            return message

        return receive_limited
