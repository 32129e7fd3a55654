"""The HTTP adapter: one FastAPI app for ``POST /api/ask``, its streaming twin, uploads, articles, status, health.

A thin translation between HTTP and :class:`BriefingService`: this module owns the routes, request and
response shapes, body limits, the bearer-token guard and the mapping of the :mod:`assistant.errors` tree to
HTTP statuses. It must not compute answers, touch the index or read the environment (the token comes from the
service's settings). The chat UI and Slack mount on the same app. When
``BRIEFINGS_API_TOKEN`` is set, every ``/api/`` route wants ``Authorization: Bearer <token>``; only
``GET /healthz`` is open, and it says nothing but whether the server can answer.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Iterator
from itertools import chain
from typing import Annotated, Any, Literal

from fastapi import Depends, FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, StreamingResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

from assistant.adapters.http_digest import add_digest_route
from assistant.errors import (
    AnswerBackendError,
    BriefingsError,
    DocumentRejected,
    EmbeddingMismatch,
    IndexLocked,
    IndexProblem,
    QuestionError,
    QuestionTooLong,
    StoreUnavailable,
    UnknownArticle,
)
from assistant.service import FORMATS, MAX_UPLOAD_BYTES, ArticleView, BriefingService, StreamEvent

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 256 * 1024  # generous for a question plus a long chat history; stops a body from eating memory
UPLOAD_PATH = "/api/documents"
MAX_UPLOAD_BODY_BYTES = MAX_UPLOAD_BYTES + 64 * 1024  # the file plus multipart boundaries and part headers
_UPLOAD_REQUEST = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {"file": {"type": "string", "format": "binary", "description": FORMATS}},
                }
            }
        },
    }
}
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
    if isinstance(error, IndexLocked):
        return 409
    if isinstance(error, UnknownArticle):
        return 404
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
    app.add_middleware(BodySizeLimit, limits=((UPLOAD_PATH, MAX_UPLOAD_BODY_BYTES), ("/api/", MAX_BODY_BYTES)))
    app.add_exception_handler(BriefingsError, _briefings_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _invalid_request)  # type: ignore[arg-type]
    guarded = [Depends(token_guard(service.settings.api_token))]

    @app.post("/api/ask", summary="Answer a question with citations", dependencies=guarded)
    def ask(body: AskRequest) -> dict[str, Any]:
        return service.ask(body.question, _history(body), body.since, body.until, body.llm).to_dict()

    @app.post(
        "/api/ask/stream",
        summary="Answer a question as server-sent events",
        description='`delta` events carry answer text (`{"text": ...}`); one `answer` event then carries the '
        "whole answer object, citations included. Deltas carry only text that is in the final answer: joined, "
        "they equal its `answer`. An LLM answer arrives sentence by sentence, each sentence sent only after the "
        "faithfulness guard kept it (markers already renumbered to the final citations), so a sentence the guard "
        "drops is never sent; an extractive answer, or a fallback to one, arrives as one delta. A failure after "
        'the stream has started arrives as an `error` event (`{"detail": ..., "status": ...}`).',
        dependencies=guarded,
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

    add_digest_route(app, service, guarded)

    @app.get("/healthz", summary="Readiness: whether the index can answer (no details; see /api/status)")
    def healthz() -> JSONResponse:
        try:
            service.stats()
        except BriefingsError:
            return JSONResponse({"ok": False}, status_code=503)
        return JSONResponse({"ok": True})

    @app.get("/api/status", summary="The index: counts, dates, embedding model, location", dependencies=guarded)
    def status() -> JSONResponse:
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

    @app.post(
        UPLOAD_PATH,
        summary="Add a briefing file to the corpus and the index",
        description=f"Multipart upload, field `file` ({FORMATS}, at most {MAX_UPLOAD_BYTES // 1024**2} MB). "
        "The file is saved in the corpus folder and answerable as soon as this returns. A file that is not a "
        "briefing is refused with 422 and nothing is saved; 409 while another ingest is writing; 413 when too big.",
        dependencies=guarded,
        openapi_extra=_UPLOAD_REQUEST,
    )
    async def add_document(request: Request) -> dict[str, Any]:
        filename, content = await _uploaded(request)
        added = await run_in_threadpool(service.add_document, filename, content)
        report = added.report
        return {"doc": added.doc, "added": report.added, "updated": report.updated, "chunks": report.chunks}

    @app.get(
        "/api/articles/{doc:path}",
        summary="An article's stored text, the text citation offsets index",
        description="`{doc, title, date, source, text, pages, parent, original}`: every citation's `quote` equals "
        "`text[start:end]`. `pages` are `[start, end]` offsets of a PDF's pages (empty for other types); `parent` "
        "is the e-mail an attachment came with; `original` says whether `GET /api/originals/{doc}` serves the file "
        "it was read from (PDF, Word and e-mail files). 404 when the index holds no such article.",
        dependencies=guarded,
    )
    def article(doc: str) -> dict[str, Any]:
        return _article_or_404(service, doc).to_dict()

    @app.get(
        "/api/originals/{doc:path}",
        summary="The PDF, Word or e-mail file an article was read from",
        description="404 for text articles (their file is their text), attachments and files no longer on disk.",
        dependencies=guarded,
        response_class=FileResponse,
    )
    def original(doc: str) -> FileResponse:
        view = _article_or_404(service, doc)
        if view.original is None or not view.original.is_file():
            raise HTTPException(404, f"No original file is kept for {doc}: its text is at /api/articles/{doc}")
        return FileResponse(view.original, filename=view.original.name)

    from assistant.adapters import ui
    from assistant.adapters.http_library import add_library_routes
    from assistant.adapters.slack import app as slack

    add_library_routes(app, service, guarded)

    slack.mount(app, service)
    ui.mount(app, service, auth=ui_auth)  # last: the UI owns "/" and must not shadow the routes above
    return app


def _article_or_404(service: BriefingService, doc: str) -> ArticleView:
    view = service.article(doc)
    if view is None:
        raise HTTPException(404, f"No article {doc} in the index")
    return view


def _history(body: AskRequest) -> list[dict[str, str]]:
    return [turn.model_dump() for turn in body.history]


async def _uploaded(request: Request) -> tuple[str, bytes]:
    """The uploaded file's name and bytes; its parts are spooled to disk, and at most the limit is read back."""
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise HTTPException(422, "Malformed request: send the briefing as multipart/form-data in a field named file")
    async with request.form(max_files=1, max_fields=10) as form:
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise HTTPException(422, "Malformed request: file: a briefing file is required in the field named file")
        content = await upload.read(MAX_UPLOAD_BYTES + 1)
        if len(content) > MAX_UPLOAD_BYTES:
            raise HTTPException(413, f"The file is over the upload limit of {MAX_UPLOAD_BYTES // 1024**2} MB")
        return upload.filename or "", content


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


def too_large(limit: int) -> str:
    """The 413 message in the units people think in (an upload's limit reads "10 MB", not a byte count)."""
    size = f"{limit / 1024**2:.0f} MB" if limit >= 1024**2 else f"{limit / 1024:.0f} kB"
    return f"The request body is larger than this route accepts ({size}): send a smaller briefing or question"


class BodySizeLimit:
    """Refuse request bodies over a path's limit with 413, before they are read into memory.

    ``limits`` pairs path prefixes with byte limits; the first prefix that matches decides, and paths that
    match none are not limited here.
    """

    def __init__(self, app: ASGIApp, limits: tuple[tuple[str, int], ...]) -> None:
        self.app = app
        self.limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        limit = self._limit_for(scope)
        if limit is None:
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            response = JSONResponse({"detail": too_large(limit)}, status_code=413)
            await response(scope, receive, send)
            return
        await self.app(scope, self._counting(receive, limit), send)

    def _limit_for(self, scope: Scope) -> int | None:
        if scope["type"] != "http":
            return None
        return next((limit for prefix, limit in self.limits if scope["path"].startswith(prefix)), None)

    @staticmethod
    def _counting(receive: Receive, limit: int) -> Receive:
        """A ``receive`` that stops a body without Content-Length (chunked) at the same limit."""
        seen = 0

        async def receive_limited() -> Any:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise HTTPException(413, too_large(limit))
            return message

        return receive_limited
