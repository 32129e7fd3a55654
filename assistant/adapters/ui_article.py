"""The chat UI's article pane: a cited article shown whole, and the route that hands out its original file.

The pane shows the article's text exactly as citation offsets index it, the quote marked and, for a PDF,
where each page starts, so a reader can find the quote in the printed document. Page markers are empty
elements whose label comes from the stylesheet, so the pane's text (what is copied, searched or compared with
a quote) stays the article's text. A PDF, Word or e-mail article also links to the file it was read from,
served by ``GET /originals/{doc}`` behind the UI's own login: the API's copy of that route wants the API
token, which a browser does not have. Must not compute answers or read files other than the index names.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from fastapi import Depends, FastAPI
from fastapi.responses import FileResponse, PlainTextResponse
from fastapi.routing import APIRoute

from assistant.errors import BriefingsError
from assistant.service import ArticleView, BriefingService

ORIGINALS_PATH = "originals"  # relative to the UI's root, so the link also works when served under a prefix
ARTICLE_CSS = """
.b-page { display: block; margin: 0.3em 0 0.2em; border-top: 1px dashed var(--border-color-primary);
  text-align: right; font-size: 0.78em; color: var(--body-text-color-subdued); user-select: none; }
.b-page::before { content: "p. " attr(data-page); }
.b-original { font-size: 0.85em; margin: 0 0 0.5em; }
"""


def article_html(view: ArticleView, start: int, end: int) -> str:
    """The whole article with ``[start:end]`` marked (offsets clamped to the text) and its pages marked."""
    text = view.text
    start, end = max(0, min(start, len(text))), max(0, min(end, len(text)))
    meta = [view.doc, *([view.date] if view.date else [])]
    quoted_on = view.page_of(start)
    if quoted_on is not None:
        meta.append(f"quote on p. {quoted_on} of {len(view.pages)}")
    if view.parent:
        meta.append(f"attached to {view.parent}")
    return (
        f'<div class="b-article"><h3>{html.escape(view.title)}</h3>'
        f'<div class="b-meta">{html.escape(" · ".join(meta))}</div>{original_link(view)}'
        f'<div class="b-article-text">{marked_text(text, start, end, view.pages)}</div></div>'
    )


def missing_article_html(doc: str) -> str:
    return f'<div class="b-empty">{html.escape(doc or "That article")} is not in the index any more.</div>'


def original_link(view: ArticleView) -> str:
    """A link that downloads the file the article was read from; empty when none is kept for it."""
    if view.original is None:
        return ""
    href = html.escape(f"{ORIGINALS_PATH}/{quote(view.doc)}", quote=True)
    label = html.escape(f"Download the original ({view.original.name})")
    return f'<p class="b-original"><a href="{href}" target="_blank" rel="noopener noreferrer">{label}</a></p>'


def marked_text(text: str, start: int, end: int, pages: tuple[tuple[int, int], ...] = ()) -> str:
    """``text`` escaped, ``[start:end]`` in ``<mark>``, and an empty ``p. N`` marker where each page starts.

    A marker at the quote's start goes before the mark and one at its end after it, so the mark holds the
    quote and nothing else; a page that starts inside the quote gets its marker inside the mark.
    """
    markers = {page_start: number for number, (page_start, _) in enumerate(pages, 1) if 0 <= page_start <= len(text)}
    cuts = sorted({0, len(text), start, end, *markers})
    out: list[str] = []
    for index, at in enumerate(cuts):
        if at == end and start < end:
            out.append("</mark>")
        if at in markers:
            out.append(f'<span class="b-page" data-page="{markers[at]}" aria-label="page {markers[at]}"></span>')
        if at == start:
            out.append("<mark>" if start < end else "<mark></mark>")
        if index + 1 < len(cuts):
            out.append(html.escape(text[at : cuts[index + 1]]))
    return "".join(out)


def serve_originals(ui_app: FastAPI, service: BriefingService) -> None:
    """Add ``GET /originals/{doc}`` to the mounted UI app, behind the same login as the UI's own routes."""
    signed_in = _login_check(ui_app)

    @ui_app.get(f"/{ORIGINALS_PATH}/{{doc:path}}", dependencies=[Depends(signed_in)], include_in_schema=False)
    def original(doc: str) -> Any:
        try:
            view = service.article(doc)
        except BriefingsError as error:
            return PlainTextResponse(f"The index cannot be read: {error}", status_code=503)
        if view is None or view.original is None or not view.original.is_file():
            return PlainTextResponse(f"No original file is kept for {doc}.", status_code=404)
        return FileResponse(view.original, filename=view.original.name)


def _login_check(ui_app: FastAPI) -> Callable[..., Any]:
    """Gradio's own check of its login cookie (a no-op without auth), so the route and the UI never disagree.

    Gradio serves it as ``/gradio_api/login_check`` from a router it includes; newer FastAPI versions keep an
    included router's routes on the router itself (``original_router``) rather than copying them.
    """
    routes = list(ui_app.routes)
    while routes:
        route = routes.pop(0)
        if isinstance(route, APIRoute) and route.path.endswith("/login_check"):
            return route.endpoint
        included = getattr(route, "original_router", None)
        routes += getattr(included, "routes", [])
    raise RuntimeError("Gradio's login_check route is missing, so the originals cannot be guarded by the UI login")
