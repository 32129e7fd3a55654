"""``GET /api/documents`` and ``DELETE /api/documents/{doc}``: the library of briefings over HTTP.

The routes sit beside the upload (``POST /api/documents``) and behind the same bearer token; the list and the
removal are the service's, as for ``briefings list``/``remove`` and the UI's Briefings panel. An unknown id is
404 and removes nothing; a removal while an ingest or upload is writing is 409 (the project's errors are mapped
to statuses by :mod:`assistant.adapters.http`). Must not touch the index itself or read the environment.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import FastAPI, Query
from fastapi.params import Depends

from assistant.service import BriefingService

MAX_LIST_PAGE = 500  # the most one request lists; a client pages on with ``offset``


def add_library_routes(app: FastAPI, service: BriefingService, guarded: list[Depends]) -> None:
    """Register the list and the removal on ``app``; ``guarded`` is the API's token check."""

    @app.get(
        "/api/documents",
        summary="The indexed briefings, newest first, paged and filtered",
        description="`{total, offset, limit, documents: [{doc, title, date, type, pages, chunks, source, upload, "
        "indexed, parent}]}`. `since`/`until` (YYYY-MM-DD, inclusive) keep briefings dated in that range; `q` keeps "
        "those whose id or title holds it (any case); `total` counts every match, `documents` one page of them.",
        dependencies=guarded,
    )
    def list_documents(
        since: Annotated[str | None, Query(description="Only briefings dated on or after YYYY-MM-DD")] = None,
        until: Annotated[str | None, Query(description="Only briefings dated on or before YYYY-MM-DD")] = None,
        q: Annotated[str, Query(max_length=200, description="Text the id or title holds")] = "",
        offset: Annotated[int, Query(ge=0)] = 0,
        limit: Annotated[int, Query(ge=1, le=MAX_LIST_PAGE)] = 50,
    ) -> dict[str, Any]:
        return service.briefings(since, until, q, offset, limit).to_dict()

    @app.delete(
        "/api/documents/{doc:path}",
        summary="Remove a briefing from the index; it is never cited again",
        description="Removes the article's chunks from Chroma and the lexical index (an e-mail's attachments go "
        "with it) and, for an upload, its file from the corpus folder: `{removed: [{doc, title, chunks, "
        "deleted_file, kept_file}]}`. 404 for an id the index does not hold (nothing is removed); 409 while "
        "another ingest or upload is writing. Other servers on the index stop citing it within seconds.",
        dependencies=guarded,
    )
    def remove_document(doc: str) -> dict[str, Any]:
        return {"removed": [removed.to_dict() for removed in service.remove([doc])]}
