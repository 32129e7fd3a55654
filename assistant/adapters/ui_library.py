"""The chat UI's *Briefings* panel: what is indexed, searched, opened, removed (after a confirmation) and added.

The same list and removal as ``briefings list``/``remove`` and ``/api/documents``, from the service; this module
owns only the panel's components and handlers. It sits inside the Gradio app, so the UI's login (``--auth``)
guards it like the chat. Removing asks first, in the page itself: *Remove* only arms a *Yes, remove* button
naming the briefing, and nothing leaves the index until that is clicked. Must not touch the index itself.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gradio as gr

from assistant.adapters.ui_article import article_html, missing_article_html
from assistant.adapters.ui_render import literal_markdown, problem_markdown, upload_message
from assistant.errors import BriefingsError, DocumentRejected
from assistant.service import Briefing, BriefingService

COLUMNS = ["date", "id", "title", "type", "pages", "chunks", "source", "indexed"]
SHOWN = 500  # rows the panel lists at once; the search narrows a larger library


def library_panel(
    blocks: gr.Blocks,
    service: BriefingService,
    article: gr.HTML,
    header: gr.Markdown,
    recount: Callable[[], str],
    upload_types: list[str],
) -> None:
    """Build the panel where it is called (inside ``blocks``); it opens articles in ``article`` and recounts
    ``header`` (with ``recount``) after a removal or an upload."""
    panel = LibraryPanel(service)
    with gr.Accordion("Briefings", open=False, elem_id="b-library"):
        with gr.Row(equal_height=True):
            search = gr.Textbox(placeholder="Search titles and ids", show_label=False, scale=3, elem_id="b-lib-search")
            upload = gr.UploadButton(
                "Upload a briefing", file_types=upload_types, type="filepath", scale=1, elem_id="b-lib-upload"
            )
        table = gr.Dataframe(headers=COLUMNS, interactive=False, wrap=True, max_height=320, elem_id="b-lib-table")
        with gr.Row(equal_height=True):
            chosen = gr.Dropdown(label="Briefing", choices=[], scale=3, elem_id="b-lib-doc")
            open_button = gr.Button("Open", scale=0, min_width=90, elem_id="b-lib-open")
            remove = gr.Button("Remove", variant="stop", scale=0, min_width=100, elem_id="b-lib-remove")
        confirm = gr.Button("Yes, remove", variant="stop", visible=False, elem_id="b-lib-confirm")
        cancel = gr.Button("Keep it", visible=False, elem_id="b-lib-cancel")
        status = gr.Markdown(elem_id="b-lib-status")

    listing = [table, chosen]
    blocks.load(panel.listed, search, listing, api_visibility="undocumented")
    search.change(panel.listed, search, listing, api_visibility="undocumented")
    table.select(panel.picked, None, chosen, api_visibility="undocumented")
    open_button.click(panel.opened, chosen, article, api_visibility="undocumented")
    asking = [confirm, cancel, status]
    remove.click(panel.asked, chosen, asking, api_visibility="undocumented")
    cancel.click(panel.kept, None, asking, api_visibility="undocumented")
    confirm.click(panel.removed, chosen, asking, api_visibility="undocumented").then(
        panel.listed, search, listing, api_visibility="undocumented"
    ).then(recount, None, header, api_visibility="undocumented")
    upload.upload(panel.uploaded, upload, status, api_visibility="undocumented").then(
        panel.listed, search, listing, api_visibility="undocumented"
    ).then(recount, None, header, api_visibility="undocumented")


class LibraryPanel:
    """The panel's handlers: service calls in, components' values out; project errors become a status line."""

    def __init__(self, service: BriefingService) -> None:
        self.service = service

    def listed(self, text: str) -> tuple[Any, Any]:
        """The table (newest first, narrowed by the search) and the same briefings to choose from."""
        try:
            page = self.service.briefings(text=text or "", limit=SHOWN)
        except BriefingsError:  # no index yet: an empty library, the header says how to start one
            return [], gr.update(choices=[], value=None)
        rows = [_row(briefing) for briefing in page.briefings]
        choices = [(f"{b.date or 'no date'} · {b.title} ({b.doc})", b.doc) for b in page.briefings]
        return rows, gr.update(choices=choices, value=None)

    def picked(self, event: gr.SelectData) -> Any:
        """Clicking a row chooses its briefing (the id is the row's second cell)."""
        row = getattr(event, "row_value", None)
        return row[1] if isinstance(row, list) and len(row) > 1 else gr.skip()

    def opened(self, doc: str | None) -> str:
        view = self.service.article(doc) if doc else None
        return article_html(view, 0, 0) if view is not None else missing_article_html(doc or "")

    def asked(self, doc: str | None) -> tuple[Any, Any, str]:
        """The confirmation, naming what would go; nothing is removed yet."""
        if not doc:
            return gr.update(visible=False), gr.update(visible=False), "Choose a briefing to remove first."
        question = f"Remove **{literal_markdown(doc)}**? It will never be cited again; an upload's file is deleted."
        return gr.update(visible=True, value=f"Yes, remove {doc}"), gr.update(visible=True), question

    def kept(self) -> tuple[Any, Any, str]:
        return gr.update(visible=False), gr.update(visible=False), "Nothing was removed."

    def removed(self, doc: str | None) -> tuple[Any, Any, str]:
        hidden = gr.update(visible=False)
        if not doc:
            return hidden, hidden, "Choose a briefing to remove first."
        try:
            gone = self.service.remove([doc])
        except BriefingsError as error:
            return hidden, hidden, problem_markdown(error)
        lines = [removed.describe() for removed in gone]  # "removed X (...)": the status starts a sentence
        return hidden, hidden, "\n\n".join(literal_markdown(line[:1].upper() + line[1:]) for line in lines)

    def uploaded(self, path: str | None) -> str:
        if not path:
            return ""
        try:
            added = self.service.add_document(Path(path).name, Path(path).read_bytes())
        except DocumentRejected as error:
            gr.Warning(html.escape(str(error)))
            return f"**Not added.** {literal_markdown(str(error))}"
        except BriefingsError as error:
            return problem_markdown(error)
        return upload_message(added)


def _row(briefing: Briefing) -> list[str]:
    source = "upload" if briefing.upload else briefing.source
    pages = str(briefing.pages) if briefing.pages else ""
    cells = [briefing.date or "", briefing.doc, briefing.title, briefing.type, pages, str(briefing.chunks), source]
    return [*cells, briefing.indexed or ""]
