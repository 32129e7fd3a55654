"""How the chat UI shows answers: the chat bubble's Markdown and the sources pane's HTML.

Owns the rendering: pure functions from :class:`Answer`, :class:`Citation` and article text to Markdown or HTML,
with everything from an article escaped, so an article's words can never become markup, links or script; and
the stylesheet of the classes it emits. A source is named as :attr:`Citation.where` names it (doc, date and,
for a PDF, the page), as Slack and the console name it. The article pane is :mod:`assistant.adapters.ui_article`.
Must not call the service, touch Gradio components or compute answers: :mod:`assistant.adapters.ui` fetches
what is shown and wires the events.
"""

from __future__ import annotations

import html
import re
from dataclasses import replace
from typing import TYPE_CHECKING

from assistant.errors import BriefingsError, IndexProblem
from assistant.types import CLOSEST_I_FOUND, OTHER_BRIEFINGS_SAY, Answer, Citation, alternative_label

if TYPE_CHECKING:
    from assistant.service import AddedDocument

CONTEXT_REACH = 320  # characters of the passage shown on each side of a quote
NEAREST_SHOWN = 3  # passages shown when the answer abstains
NEAREST_CHARS = 480  # of each, enough to judge it; the whole article is a click away
CLOSEST_CHARS = 240  # of each closest quote under a refusal: enough to judge it, too short to pass for an answer
HOW_TO_INGEST = (
    "No briefings are indexed yet. Run `briefings ingest corpus/` in a terminal (or `make run`), "
    "or add a briefing file under **Add a briefing**."
)
NO_SOURCES = '<div class="b-empty">Sources of the latest answer appear here.</div>'
NO_ARTICLE = '<div class="b-empty">Click a source to read the whole article, with the quote highlighted.</div>'
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


def answer_markdown(answer: Answer) -> str:
    """The chat bubble: the answer with its citation numbers, what other briefings say, one line per article.

    A citation that backs only an alternative is numbered beside that alternative, not beside the answer,
    which those sources contradict.
    """
    if answer.abstained or not answer.citations:
        return (
            f"{literal_markdown(answer.answer)}\n\n{closest_markdown(answer)}"
            "The nearest passages are under *Nearest passages* for you to check."
        )
    elsewhere = {alternative.citation for alternative in answer.alternatives}
    backing = [citation for citation in answer.citations if citation.id not in elsewhere] or list(answer.citations)
    numbers = " ".join(f"[{citation.id}]" for citation in backing)
    by_article: dict[str, list[Citation]] = {}
    for citation in answer.citations:
        by_article.setdefault(citation.doc, []).append(citation)
    lines = [
        f"{' '.join(f'[{c.id}]' for c in cited)} *{literal_markdown(cited[0].title)}* — {literal_markdown(doc)}"
        + (f", {cited[0].date}" if cited[0].date else "")
        + pages_cited(cited)
        for doc, cited in by_article.items()
    ]
    return f"{literal_markdown(answer.answer)} {numbers}\n\n" + alternatives_markdown(answer) + "\n".join(lines)


def pages_cited(citations: list[Citation]) -> str:
    """``, p. 3`` or ``, pp. 1, 3``: the pages an article's citations are on; empty for an article without pages."""
    pages = sorted({citation.page for citation in citations if citation.page is not None})
    if not pages:
        return ""
    return f", p. {pages[0]}" if len(pages) == 1 else ", pp. " + ", ".join(str(page) for page in pages)


def alternatives_markdown(answer: Answer) -> str:
    """ "Other briefings say:" and a list item per alternative (value, date, citation); empty when none."""
    if not answer.alternatives:
        return ""
    items = [
        f"- {alternative_label(replace(alternative, answer=literal_markdown(alternative.answer)))}"
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
        f"> {literal_markdown(_shortened(' '.join(c.quote.split()), CLOSEST_CHARS))}"
        f" — *{literal_markdown(c.title or c.doc)}*" + _parenthesised(c.date, f"p. {c.page}" if c.page else None)
        for c in answer.closest
    ]
    return f"**{CLOSEST_I_FOUND}** *(not an answer: these sentences do not say it)*\n\n" + "\n\n".join(quotes) + "\n\n"


def upload_message(added: AddedDocument) -> str:
    report = added.report
    if report.added or report.updated:
        message = f"**Added {literal_markdown(added.doc)}**: ask about it now."
    else:
        message = f"**{literal_markdown(added.doc)} is already indexed.**"
    if report.lossy:
        message += " Some bytes were not UTF-8 and were replaced."
    return message


def problem_markdown(error: BriefingsError) -> str:
    if isinstance(error, IndexProblem) and "ingest" in str(error) and "rebuild" not in str(error):
        return HOW_TO_INGEST
    return f"**I can't answer right now.** {literal_markdown(str(error))}"


_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+!|~>])")


def literal_markdown(text: str) -> str:
    """Text shown literally in Markdown: no emphasis, links or HTML from an article's words."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", html.escape(text, quote=False))


def nearest_html(answer: Answer) -> str:
    """Under a refusal, the passages that came closest, for the reader to judge."""
    cards = [
        _card(
            "",
            passage.chunk.title,
            passage.chunk.doc,
            " · ".join(part for part in (passage.chunk.doc, passage.chunk.date) if part),
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


def sources_html(cards: list[str]) -> str:
    return f'<div class="b-sources"><h3>Sources</h3>{"".join(cards)}</div>'


def citation_card(citation: Citation, article_text: str | None) -> str:
    """A cited source, its quote marked inside its paragraph; the quote alone when the article is gone."""
    text = article_text if article_text is not None else citation.quote
    start, end = (citation.start, citation.end) if article_text is not None else (0, len(citation.quote))
    return _card(
        f"[{citation.id}]",
        citation.title,
        citation.doc,
        citation.where,
        citation.start,
        citation.end,
        highlighted_context(text, start, end),
    )


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


def _card(number: str, title: str, doc: str, where: str, start: int, end: int, context: str) -> str:
    label = f'<span class="b-num">{html.escape(number)}</span>' if number else ""
    return (
        f'<div class="b-source" role="button" tabindex="0" data-doc="{html.escape(doc, quote=True)}" '
        f'data-start="{start}" data-end="{end}" title="Open the article">'
        f'<div class="b-source-title">{label}{html.escape(title)}</div>'
        f'<div class="b-meta">{html.escape(where)}</div><p class="b-context">{context}</p>'
        '<div class="b-open">Open the article ›</div></div>'
    )


def _parenthesised(*parts: str | None) -> str:
    """`` (2024-03-05, p. 3)`` from the parts that are known; empty when none is."""
    known = [part for part in parts if part]
    return f" ({', '.join(known)})" if known else ""


def _shortened(text: str, limit: int = NEAREST_CHARS) -> str:
    text = text.strip()
    return text if len(text) <= limit else text[: text.rfind(" ", 0, limit) + 1 or limit].rstrip() + "…"


def _next_word(text: str, index: int, limit: int) -> int:
    space = text.find(" ", index, limit)
    return space + 1 if space >= 0 else index


def _previous_word(text: str, index: int, limit: int) -> int:
    space = text.rfind(" ", limit, index)
    return space if space >= 0 else index
