"""The Gradio chat UI, mounted at ``/`` of the FastAPI app.

A thin adapter like the others: it calls the same :class:`BriefingService` object as the HTTP routes and
only turns answers into something to read. The chat streams each answer through ``service.stream`` and
keeps a plain transcript beside the rendered one, so follow-up questions reach the service as clean history.
Each session keeps only its latest ``MAX_TURNS`` turns, and an abandoned session's state is freed after
``SESSION_TTL_SECONDS``, so a long-running server's memory stays bounded.
Every cited sentence is shown inside its passage and opens the whole article with the quote highlighted.
Project errors become gentle messages; nothing the user does shows a traceback.
"""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import gradio as gr
from fastapi import FastAPI

from assistant.errors import BriefingsError, DocumentRejected, IndexProblem, QuestionError
from assistant.service import AddedDocument, BriefingService
from assistant.types import CLOSEST_I_FOUND, OTHER_BRIEFINGS_SAY, Answer, Citation, alternative_label

log = logging.getLogger(__name__)

EXAMPLE_QUESTIONS = (
    "How long was the call?",
    "Who initiated the call?",
    "When did the two presidents meet in Moscow?",
    "What did Putin say about the Donbas?",
)
UPLOAD_TYPES = [".txt", ".md", ".html"]
CONTEXT_REACH = 320  # characters of the passage shown on each side of a quote
NEAREST_SHOWN = 3  # passages shown when the answer abstains
NEAREST_CHARS = 480  # of each, enough to judge it; the whole article is a click away
CLOSEST_CHARS = 240  # of each closest quote under a refusal: enough to judge it, too short to pass for an answer
MAX_TURNS = 20  # question/answer pairs kept per session: in the chat, its transcript and its answers' sources
SESSION_TTL_SECONDS = 3600  # an idle session's state (transcript, answers) is freed after an hour
MAX_SESSIONS = 1000  # sessions whose state is held at once; beyond it the least recently used is dropped
UPLOAD_CACHE = (3600, 3600)  # hourly, Gradio's temporary copies of uploads over an hour old go: the corpus has its own
HOW_TO_INGEST = (
    "No briefings are indexed yet. Run `briefings ingest corpus/` in a terminal (or `make run`), "
    "or add a briefing file under **Add a briefing**."
)
NO_SOURCES = '<div class="b-empty">Sources of the latest answer appear here.</div>'
NO_ARTICLE = '<div class="b-empty">Click a source to read the whole article, with the quote highlighted.</div>'
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
CSS = """
#b-header h1 { margin-bottom: 0.2em; font-weight: 600; }
.b-empty { color: var(--body-text-color-subdued); padding: 0.8em 0; }
.b-sources h3, .b-article h3 { margin: 0.2em 0 0.5em; }
.b-note { color: var(--body-text-color-subdued); margin: 0 0 0.6em; }
.b-source { border: 1px solid var(--border-color-primary); border-radius: 8px; padding: 0.6em 0.8em;
  margin-bottom: 0.6em; cursor: pointer; background: var(--background-fill-primary); }
.b-source:hover, .b-source:focus { border-color: var(--color-accent); outline: none; }
.b-source-title { font-weight: 600; }
.b-num { color: var(--color-accent); font-weight: 700; margin-right: 0.3em; }
.b-meta { color: var(--body-text-color-subdued); font-size: 0.85em; margin: 0.15em 0 0.4em; }
.b-context { font-size: 0.92em; line-height: 1.45; margin: 0; white-space: pre-wrap; }
.b-open { font-size: 0.85em; color: var(--color-accent); margin-top: 0.35em; }
mark { background: #ffe58a; color: inherit; padding: 0 1px; border-radius: 2px; }
.b-article-text { position: relative; max-height: 420px; overflow-y: auto; white-space: pre-wrap;
  line-height: 1.5; border: 1px solid var(--border-color-primary); border-radius: 8px; padding: 0.8em; }
"""


def mount(app: FastAPI, service: BriefingService, auth: tuple[str, str] | None = None) -> None:
    """Attach the UI to ``app`` at ``/``; ``auth`` (user, password) puts Gradio's login page in front of it."""
    gr.mount_gradio_app(
        app,
        build(service),
        path="/",
        auth=auth,
        auth_message="Briefings: sign in to ask questions." if auth else None,
        css=CSS,
        footer_links=[],
        run_history=False,
        max_file_size="10mb",
        ssr_mode=False,
        mcp_server=False,
    )


def build(service: BriefingService) -> gr.Blocks:
    """The page: header, chat with examples and filters, upload, and the sources and article panes."""
    adapter = ChatAdapter(service)
    with gr.Blocks(title="Briefings", analytics_enabled=False, delete_cache=UPLOAD_CACHE) as blocks:
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
                        label="A .txt, .md or .html file; it is indexed at once",
                        file_types=UPLOAD_TYPES,
                        type="filepath",
                        elem_id="b-upload",
                    )
                    upload_status = gr.Markdown(elem_id="b-upload-status")
            with gr.Column(scale=2):
                sources = gr.HTML(NO_SOURCES, elem_id="b-sources", js_on_load=SOURCES_JS)
                article = gr.HTML(NO_ARTICLE, elem_id="b-article", js_on_load=ARTICLE_JS)

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
            return f"# Briefings\nThe index cannot be read: {_md(str(error))}"
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
        text = ""
        try:
            for event in self.service.stream(question, transcript, since or None, until or None):
                if event.kind == "delta":
                    text += event.text
                    yield gr.skip(), [*messages, {**reply, "content": _md(text)}], gr.skip(), gr.skip(), gr.skip()
                elif event.answer is not None:
                    yield self._finished(messages, transcript, answers, event.answer)
        except QuestionError as error:  # e.g. a malformed date: say so and leave the chat as it was
            gr.Warning(html.escape(str(error)))
            yield question, messages[:-1], transcript, answers, gr.skip()
        except BriefingsError as error:
            yield gr.skip(), [*messages, {**reply, "content": _problem(error)}], transcript, answers, gr.skip()
        except Exception:
            log.exception("answering %r failed", question)
            failed = {**reply, "content": "Something went wrong on the server while answering; its log has details."}
            yield gr.skip(), [*messages, failed], transcript, answers, gr.skip()

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
            return self._nearest_html(answer)
        cards = [self._citation_card(citation) for citation in answer.citations]
        return f'<div class="b-sources"><h3>Sources</h3>{"".join(cards)}</div>'

    def _citation_card(self, citation: Citation) -> str:
        view = self.service.article(citation.doc)
        text = view.text if view is not None else citation.quote
        start, end = (citation.start, citation.end) if view is not None else (0, len(citation.quote))
        return _card(
            f"[{citation.id}]",
            citation.title,
            citation.doc,
            citation.date,
            citation.start,
            citation.end,
            highlighted_context(text, start, end),
        )

    def _nearest_html(self, answer: Answer) -> str:
        cards = [
            _card(
                "",
                passage.chunk.title,
                passage.chunk.doc,
                passage.chunk.date,
                passage.chunk.start,
                passage.chunk.end,
                html.escape(_shortened(passage.chunk.text)),
            )
            for passage in answer.passages[:NEAREST_SHOWN]
        ]
        if not cards:
            return '<div class="b-sources"><h3>Nearest passages</h3><p class="b-note">Nothing came close.</p></div>'
        note = "The briefings don't answer this. These passages came closest; check them yourself."
        return f'<div class="b-sources"><h3>Nearest passages</h3><p class="b-note">{note}</p>{"".join(cards)}</div>'

    def open_citation(self, event: gr.EventData) -> str:
        """The whole article with ``[start:end]`` highlighted; the offsets are the citation's own."""
        data = getattr(event, "_data", None) or {}
        doc, start, end = str(data.get("doc", "")), _int(data.get("start")), _int(data.get("end"))
        view = self.service.article(doc) if doc else None
        if view is None:
            return f'<div class="b-empty">{html.escape(doc or "That article")} is not in the index any more.</div>'
        start, end = max(0, min(start, len(view.text))), max(0, min(end, len(view.text)))
        body = html.escape(view.text[:start]) + f"<mark>{html.escape(view.text[start:end])}</mark>"
        body += html.escape(view.text[end:])
        return (
            f'<div class="b-article"><h3>{html.escape(view.title)}</h3>'
            f'<div class="b-meta">{_meta(view.doc, view.date)}</div><div class="b-article-text">{body}</div></div>'
        )

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
            return f"**Not added.** {_md(str(error))}", None, self.header()
        except BriefingsError as error:
            return _problem(error), None, self.header()
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


def answer_markdown(answer: Answer) -> str:
    """The chat bubble: the answer with its citation numbers, what other briefings say, one line per article.

    A citation that backs only an alternative is numbered beside that alternative, not beside the answer,
    which those sources contradict.
    """
    if answer.abstained or not answer.citations:
        return (
            f"{_md(answer.answer)}\n\n{closest_markdown(answer)}"
            "The nearest passages are under *Nearest passages* for you to check."
        )
    elsewhere = {alternative.citation for alternative in answer.alternatives}
    backing = [citation for citation in answer.citations if citation.id not in elsewhere] or list(answer.citations)
    numbers = " ".join(f"[{citation.id}]" for citation in backing)
    by_article: dict[str, list[Citation]] = {}
    for citation in answer.citations:
        by_article.setdefault(citation.doc, []).append(citation)
    lines = [
        f"{' '.join(f'[{c.id}]' for c in cited)} *{_md(cited[0].title)}* — {_md(doc)}"
        + (f", {cited[0].date}" if cited[0].date else "")
        for doc, cited in by_article.items()
    ]
    return f"{_md(answer.answer)} {numbers}\n\n" + alternatives_markdown(answer) + "\n".join(lines)


def alternatives_markdown(answer: Answer) -> str:
    """ "Other briefings say:" and a list item per alternative (value, date, citation); empty when none."""
    if not answer.alternatives:
        return ""
    items = [
        f"- {alternative_label(replace(alternative, answer=_md(alternative.answer)))}"
        for alternative in answer.alternatives
    ]
    return f"**{OTHER_BRIEFINGS_SAY}**\n\n" + "\n".join(items) + "\n\n"


def closest_markdown(answer: Answer) -> str:
    """Under a refusal, the sentences that came nearest, labelled so that none of them reads as the answer.

    Each is its own block quote (a blank line apart, or Markdown would run them together); empty when the
    answer is not a refusal or nothing came close.
    """
    if not answer.abstained or not answer.closest:
        return ""
    quotes = [
        f"> {_md(_shortened(' '.join(c.quote.split()), CLOSEST_CHARS))} — *{_md(c.title or c.doc)}*"
        + (f" ({c.date})" if c.date else "")
        for c in answer.closest
    ]
    return f"**{CLOSEST_I_FOUND}** *(not an answer: these sentences do not say it)*\n\n" + "\n\n".join(quotes) + "\n\n"


def highlighted_context(text: str, start: int, end: int, reach: int = CONTEXT_REACH) -> str:
    """The quote inside its paragraph (cut to ``reach`` characters each side at a word), quote marked."""
    previous_break = text.rfind("\n\n", 0, start)
    paragraph_start = previous_break + 2 if previous_break >= 0 else 0
    paragraph_end = text.find("\n\n", end)
    paragraph_end = len(text) if paragraph_end < 0 else paragraph_end
    left, right = max(paragraph_start, start - reach), min(paragraph_end, end + reach)
    if left > paragraph_start:
        left = _next_word(text, left, start)
    if right < paragraph_end:
        right = _previous_word(text, right, end)
    before, after = text[left:start].lstrip(), text[end:right].rstrip()
    return (
        ("…" if left > paragraph_start else "")
        + html.escape(before)
        + f"<mark>{html.escape(text[start:end])}</mark>"
        + html.escape(after)
        + ("…" if right < paragraph_end else "")
    )


def upload_message(added: AddedDocument) -> str:
    report = added.report
    if report.added or report.updated:
        message = f"**Added {_md(added.doc)}**: ask about it now."
    else:
        message = f"**{_md(added.doc)} is already indexed.**"
    if report.lossy:
        message += " Some bytes were not UTF-8 and were replaced."
    return message


def _card(number: str, title: str, doc: str, date: str | None, start: int, end: int, context: str) -> str:
    label = f'<span class="b-num">{html.escape(number)}</span>' if number else ""
    return (
        f'<div class="b-source" role="button" tabindex="0" data-doc="{html.escape(doc, quote=True)}" '
        f'data-start="{start}" data-end="{end}" title="Open the article">'
        f'<div class="b-source-title">{label}{html.escape(title)}</div>'
        f'<div class="b-meta">{_meta(doc, date)}</div><p class="b-context">{context}</p>'
        '<div class="b-open">Open the article ›</div></div>'
    )


def _meta(doc: str, date: str | None) -> str:
    return html.escape(f"{doc} · {date}" if date else doc)


def _problem(error: BriefingsError) -> str:
    if isinstance(error, IndexProblem) and "ingest" in str(error) and "rebuild" not in str(error):
        return HOW_TO_INGEST
    return f"**I can't answer right now.** {_md(str(error))}"


_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+!|~>])")


def _md(text: str) -> str:
    """Text shown literally in Markdown: no emphasis, links or HTML from an article's words."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", html.escape(text, quote=False))


def _shortened(text: str, limit: int = NEAREST_CHARS) -> str:
    text = text.strip()
    return text if len(text) <= limit else text[: text.rfind(" ", 0, limit) + 1 or limit].rstrip() + "…"


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def _next_word(text: str, index: int, limit: int) -> int:
    space = text.find(" ", index, limit)
    return space + 1 if space >= 0 else index


def _previous_word(text: str, index: int, limit: int) -> int:
    space = text.rfind(" ", limit, index)
    return space if space >= 0 else index
