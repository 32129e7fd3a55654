"""The Gradio chat UI, mounted at ``/`` of the FastAPI app.

A thin adapter like the others: it calls the same :class:`BriefingService` object as the HTTP routes and
owns only the page's layout, its event handlers and each session's state; how answers, sources and articles
look is :mod:`assistant.adapters.ui_render`. It must not compute answers, touch the index or read the
environment. The chat streams each answer through ``service.stream`` and keeps a plain transcript beside the
rendered one, so follow-up questions reach the service as clean history.
Each session keeps only its latest ``MAX_TURNS`` turns, and an abandoned session's state is freed after
``SESSION_TTL_SECONDS``, so a long-running server's memory stays bounded.
Every cited sentence is shown inside its passage and opens the whole article with the quote highlighted
(:mod:`assistant.adapters.ui_article`, which also serves a PDF, Word or e-mail article's original file).
Project errors become gentle messages; nothing the user does shows a traceback.
"""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import gradio as gr
from fastapi import FastAPI
from starlette.routing import Mount

from assistant.adapters.ui_article import ARTICLE_CSS, article_html, missing_article_html, serve_originals
from assistant.adapters.ui_digest import digest_turn_values, with_dates
from assistant.adapters.ui_library import library_panel
from assistant.adapters.ui_render import (
    CSS,
    HOW_TO_INGEST,
    NO_ARTICLE,
    NO_SOURCES,
    answer_markdown,
    citation_card,
    literal_markdown,
    nearest_html,
    problem_markdown,
    sources_html,
    upload_message,
)
from assistant.errors import BriefingsError, DocumentRejected, IndexProblem, QuestionError
from assistant.service import FORMATS, MAX_UPLOAD_BYTES, BriefingService
from assistant.types import Answer

log = logging.getLogger(__name__)

EXAMPLE_QUESTIONS = (
    "How long was the call?",
    "Who initiated the call?",
    "When did the two presidents meet in Moscow?",
    "What did Putin say about the Donbas?",
)
UPLOAD_TYPES = re.findall(r"\.\w+", FORMATS)  # the suffixes the service takes, as Gradio's file picker wants them
MAX_TURNS = 20  # question/answer pairs kept per session: in the chat, its transcript and its answers' sources
SESSION_TTL_SECONDS = 3600  # an idle session's state (transcript, answers) is freed after an hour
MAX_SESSIONS = 1000  # sessions whose state is held at once; beyond it the least recently used is dropped
UPLOAD_CACHE = (3600, 3600)  # hourly, Gradio's temporary copies of uploads over an hour old go: the corpus has its own
SOURCES_JS = """
element.addEventListener('click', (event) => {
  const card = event.target.closest('[data-doc]');
  if (card) trigger('click', {doc: card.dataset.doc, start: Number(card.dataset.start), end: Number(card.dataset.end)});
});
element.addEventListener('keydown', (event) => {
  if ((event.key === 'Enter' || event.key === ' ') && event.target.matches('[data-doc]')) {
    event.preventDefault();
    event.target.click();
  }
});
"""
ARTICLE_JS = """
watch('value', () => {
  const box = element.querySelector('.b-article-text');
  const quote = element.querySelector('mark');
  if (!box || !quote) return;
  box.scrollTop = Math.max(0, quote.offsetTop - box.clientHeight / 3);
  element.scrollIntoView({block: 'nearest', behavior: 'smooth'});
});
"""


def mount(app: FastAPI, service: BriefingService, auth: tuple[str, str] | None = None) -> None:
    """Attach the UI to ``app`` at ``/``; ``auth`` (user, password) puts Gradio's login page in front of it.

    The login also guards ``/originals/{doc}``, which the article pane links to for downloading a file.
    """
    gr.mount_gradio_app(
        app,
        build(service),
        path="/",
        auth=auth,
        auth_message="Briefings: sign in to ask questions." if auth else None,
        css=CSS + ARTICLE_CSS,
        footer_links=[],
        run_history=False,
        max_file_size=MAX_UPLOAD_BYTES,
        ssr_mode=False,
        mcp_server=False,
    )
    serve_originals(_mounted_at_root(app), service)


def _mounted_at_root(app: FastAPI) -> FastAPI:
    """The Gradio app just mounted at ``/`` (the last mount there), to which UI-only routes are added."""
    for route in reversed(app.routes):
        if isinstance(route, Mount) and route.path == "" and isinstance(route.app, FastAPI):
            return route.app
    raise RuntimeError("the UI is not mounted at /")


def build(service: BriefingService) -> gr.Blocks:
    """The page: header, chat with examples and filters, upload, and the sources and article panes."""
    adapter = ChatAdapter(service)
    blocks = gr.Blocks(title="Briefings", analytics_enabled=False, delete_cache=UPLOAD_CACHE)
    with blocks:
        # plain {"role", "content"} turns, as the service wants its history
        transcript = gr.State([], time_to_live=SESSION_TTL_SECONDS)
        # chat message index -> Answer, so clicking an old answer shows its sources
        answers = gr.State({}, time_to_live=SESSION_TTL_SECONDS)
        header = gr.Markdown(adapter.header, elem_id="b-header")
        with gr.Row(equal_height=False):
            with gr.Column(scale=3):
                chat = gr.Chatbot(
                    label="Chat",
                    elem_id="b-chat",
                    height=480,
                    layout="bubble",
                    latex_delimiters=[],
                    examples=[{"text": question} for question in EXAMPLE_QUESTIONS],
                    feedback_options=None,
                    placeholder="**Ask about the briefings.** Every answer quotes its source sentence.",
                    buttons=["copy"],
                )
                with gr.Row():
                    question = gr.Textbox(
                        placeholder="Ask a question, e.g. How long was the call?",
                        show_label=False,
                        scale=5,
                        elem_id="b-question",
                        autofocus=True,
                    )
                    ask = gr.Button("Ask", variant="primary", scale=1, min_width=80, elem_id="b-ask")
                with gr.Row(equal_height=True):
                    since = gr.DateTime(
                        label="From date", include_time=False, type="string", min_width=180, elem_id="b-since"
                    )
                    until = gr.DateTime(
                        label="To date", include_time=False, type="string", min_width=180, elem_id="b-until"
                    )
                    clear = gr.Button("Clear chat", variant="secondary", scale=0, min_width=140, elem_id="b-clear")
                with gr.Accordion("Add a briefing", open=False, elem_id="b-add"):
                    upload = gr.File(
                        label=f"A {FORMATS} file; it is indexed at once",
                        file_types=UPLOAD_TYPES,
                        type="filepath",
                        elem_id="b-upload",
                    )
                    upload_status = gr.Markdown(elem_id="b-upload-status")
                article = gr.HTML(NO_ARTICLE, elem_id="b-article", js_on_load=ARTICLE_JS, render=False)
                library_panel(blocks, service, article, header, adapter.header, UPLOAD_TYPES)
            with gr.Column(scale=2):
                sources = gr.HTML(NO_SOURCES, elem_id="b-sources", js_on_load=SOURCES_JS)
                article.render()  # type: ignore[no-untyped-call]

        turn_inputs = [question, chat, transcript, answers, since, until]
        turn_outputs = [question, chat, transcript, answers, sources]
        cleared = [question, chat, transcript, answers, sources, article]
        question.submit(adapter.answer_turn, turn_inputs, turn_outputs, api_visibility="undocumented")
        ask.click(adapter.answer_turn, turn_inputs, turn_outputs, api_visibility="undocumented")
        chat.example_select(adapter.example_text, None, question, api_visibility="undocumented").then(
            adapter.answer_turn, turn_inputs, turn_outputs, api_visibility="undocumented"
        )
        chat.select(adapter.sources_of_message, answers, sources, api_visibility="undocumented")
        chat.clear(adapter.cleared, None, cleared, api_visibility="undocumented")  # the chat's own bin icon
        clear.click(adapter.cleared, None, cleared, api_visibility="undocumented")
        sources.click(adapter.open_citation, None, article, api_visibility="undocumented")
        upload.upload(adapter.add_briefing, upload, [upload_status, upload, header], api_visibility="undocumented")
    blocks.state_session_capacity = MAX_SESSIONS  # what `launch(state_session_capacity=...)` sets; mounting has none
    return blocks


class ChatAdapter:
    """The UI's event handlers: service calls in, components' values out."""

    def __init__(self, service: BriefingService) -> None:
        self.service = service

    def header(self) -> str:
        """Recomputed on every page load, so it counts briefings added since the server started."""
        try:
            stats = self.service.stats()
        except IndexProblem:
            return f"# Briefings\n{HOW_TO_INGEST}"
        except BriefingsError as error:
            return f"# Briefings\nThe index cannot be read: {literal_markdown(str(error))}"
        noun = "briefing" if stats.articles == 1 else "briefings"
        if stats.first_date and stats.first_date != stats.last_date:
            dated = f", dated {stats.first_date} to {stats.last_date}"
        else:
            dated = f", dated {stats.first_date}" if stats.first_date else ""
        return (
            f"# Briefings\n**{stats.articles} {noun} indexed**{dated}. Answers quote their sources word for word; "
            "click a source to read it in its article. HTTP API: [/docs](/docs)."
        )

    def answer_turn(
        self,
        question: str,
        messages: list[dict[str, Any]],
        transcript: list[dict[str, str]],
        answers: dict[int, Answer],
        since: str | None,
        until: str | None,
    ) -> Iterator[tuple[Any, ...]]:
        """Stream one answer into the chat: the user's turn at once, text as it comes, then the citations."""
        try:
            question = self.service.validate(question)
        except QuestionError as error:
            gr.Warning(html.escape(str(error)))
            yield (gr.skip(),) * 5
            return
        messages, answers = latest_turns(messages, answers, MAX_TURNS - 1)
        transcript = transcript[-2 * (MAX_TURNS - 1) :]  # also the history the service reads
        messages = [*messages, {"role": "user", "content": question}]
        reply = {"role": "assistant", "content": "_Searching the briefings…_"}
        yield "", [*messages, reply], transcript, answers, gr.skip()
        routed = self._digest_turn(question, messages, transcript, answers, since, until)
        if routed is not None:
            yield routed
            return
        text = ""
        try:
            for event in self.service.stream(question, transcript, since or None, until or None):
                if event.kind == "delta":
                    text += event.text
                    streamed = {**reply, "content": literal_markdown(text)}
                    yield gr.skip(), [*messages, streamed], gr.skip(), gr.skip(), gr.skip()
                elif event.answer is not None:
                    yield self._finished(messages, transcript, answers, event.answer)
        except QuestionError as error:  # e.g. a malformed date: say so and leave the chat as it was
            gr.Warning(html.escape(str(error)))
            yield question, messages[:-1], transcript, answers, gr.skip()
        except BriefingsError as error:
            yield gr.skip(), [*messages, {**reply, "content": problem_markdown(error)}], transcript, answers, gr.skip()
        except Exception:
            log.exception("answering %r failed", question)
            failed = {**reply, "content": "Something went wrong on the server while answering; its log has details."}
            yield gr.skip(), [*messages, failed], transcript, answers, gr.skip()

    def _digest_turn(
        self,
        question: str,
        messages: list[dict[str, Any]],
        transcript: list[dict[str, str]],
        answers: dict[int, Answer],
        since: str | None,
        until: str | None,
    ) -> tuple[Any, ...] | None:
        """A "what's new / catch me up" message as a dated timeline (``ui_digest``); ``None`` for a question."""
        try:
            request = self.service.digest_request(question, transcript)
            if request is None:
                return None
            digest = self.service.digest(with_dates(request, since, until))
        except QuestionError as error:  # a malformed date in the date boxes: say so, as for questions
            gr.Warning(html.escape(str(error)))
            return question, messages[:-1], transcript, answers, gr.skip()
        except BriefingsError as error:
            failed = [*messages, {"role": "assistant", "content": problem_markdown(error)}]
            return gr.skip(), failed, transcript, answers, gr.skip()
        chat, turns, answer = digest_turn_values(digest, question, messages, transcript)
        return gr.skip(), chat, turns[-2 * MAX_TURNS :], {**answers, len(chat) - 1: answer}, self.sources_html(answer)

    def _finished(
        self,
        messages: list[dict[str, Any]],
        transcript: list[dict[str, str]],
        answers: dict[int, Answer],
        answer: Answer,
    ) -> tuple[Any, ...]:
        chat = [*messages, {"role": "assistant", "content": answer_markdown(answer)}]
        asked = {"role": "user", "content": answer.question}
        turns = [*transcript, asked, {"role": "assistant", "content": answer.answer}][-2 * MAX_TURNS :]
        return gr.skip(), chat, turns, {**answers, len(chat) - 1: answer}, self.sources_html(answer)

    def example_text(self, event: gr.SelectData) -> str:
        value = event.value if isinstance(event.value, dict) else {}
        return str(value.get("text", ""))

    def sources_of_message(self, answers: dict[int, Answer], event: gr.SelectData) -> Any:
        """Clicking an earlier answer brings its sources back into the sources pane."""
        index = event.index[0] if isinstance(event.index, (list, tuple)) else event.index
        answer = answers.get(index)
        return self.sources_html(answer) if answer is not None else gr.skip()

    def cleared(self) -> tuple[Any, ...]:
        return "", [], [], {}, NO_SOURCES, NO_ARTICLE

    def sources_html(self, answer: Answer) -> str:
        if answer.abstained or not answer.citations:
            return nearest_html(answer)
        return sources_html(
            [citation_card(citation, self._article_text(citation.doc)) for citation in answer.citations]
        )

    def _article_text(self, doc: str) -> str | None:
        view = self.service.article(doc)
        return view.text if view is not None else None

    def open_citation(self, event: gr.EventData) -> str:
        """The whole article with ``[start:end]`` highlighted; the offsets are the citation's own."""
        data = getattr(event, "_data", None) or {}
        doc, start, end = str(data.get("doc", "")), _int(data.get("start")), _int(data.get("end"))
        view = self.service.article(doc) if doc else None
        if view is None:
            return missing_article_html(doc)
        return article_html(view, start, end)

    def add_briefing(self, path: str | None) -> tuple[str, None, str]:
        """Index an uploaded file at once; a file that is not a briefing is refused with the reason.

        Returns the status line, an emptied upload box (ready for the next file) and the recounted header.
        """
        if not path:
            return "", None, self.header()
        try:
            added = self.service.add_document(Path(path).name, Path(path).read_bytes())
        except DocumentRejected as error:
            gr.Warning(html.escape(str(error)))
            return f"**Not added.** {literal_markdown(str(error))}", None, self.header()
        except BriefingsError as error:
            return problem_markdown(error), None, self.header()
        return upload_message(added), None, self.header()


def latest_turns(
    messages: list[dict[str, Any]], answers: dict[int, Answer], turns: int
) -> tuple[list[dict[str, Any]], dict[int, Answer]]:
    """The chat's last ``turns`` turns (each from a user message on), answers re-keyed to their new places."""
    starts = [index for index, message in enumerate(messages) if message.get("role") == "user"]
    if len(starts) <= turns:
        return messages, answers
    cut = starts[-turns] if turns > 0 else len(messages)
    return messages[cut:], {index - cut: answer for index, answer in answers.items() if index >= cut}


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0
