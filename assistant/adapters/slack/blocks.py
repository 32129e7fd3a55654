"""Block Kit for Slack: an :class:`Answer` as messages that respect Slack's limits.

Slack rejects a whole message when one block is too long (3,000 characters of section text) or a message has
more than 50 blocks, so every piece of text here is cut to fit at whitespace, after escaping, and a long
answer becomes several messages rather than a failed one. Pure functions: no Slack client in sight, so the
layout can be checked without a network.

The layout: the answer; when briefings disagree, a context line with what the others say (value, date and
citation number); each citation as a block quote headed by its number, article title, date and (for a PDF) page; a
context line naming the sources (doc id, date, page, character offsets, so anyone can check the quote); 👍/👎
buttons that carry the answer's feedback id. When the briefings do not answer, the plain sentence from the
answering step, the closest sentences found (each a block quote with its title, date and page, labelled as not an
answer) and the nearest sources instead.

The way back lives here too: :func:`question_text` reads a question out of Slack's mrkdwn (mentions
dropped, links by their label, entities decoded), the inverse of :func:`escape`.

Owns only the layout; must not call the service, talk to Slack or compute anything about the answer itself.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator, Sequence
from dataclasses import replace
from typing import Any

from assistant.types import CLOSEST_I_FOUND, OTHER_BRIEFINGS_SAY, Answer, Citation, Passage, alternative_label

MAX_BLOCKS = 50  # per message
MAX_SECTION_TEXT = 3000
MAX_CONTEXT_TEXT = 2000
MAX_CONTEXT_ELEMENTS = 10
MAX_FALLBACK_TEXT = 3000  # the notification text; Slack truncates far later, people read far less
MAX_TITLE = 120
MAX_EXCERPT = 240
NEAREST_SOURCES = 3
FEEDBACK_UP = "feedback_up"
FEEDBACK_DOWN = "feedback_down"

Block = dict[str, Any]
Message = dict[str, Any]  # keyword arguments for chat.postMessage or a response_url body: text + blocks

_CITED = re.compile(r"\[\d+\]")
_MENTION = re.compile(r"<[@!][^>]*>")
_LABELLED = re.compile(r"<[^>|]+\|([^>]+)>")
_BARE = re.compile(r"<([^>]+)>")
_TOKENS = re.compile(r"\S+|\s+")


# ---------------------------------------------------------------------------------------- messages
def answer_messages(answer: Answer, feedback_id: str | None = None, asked_by: str | None = None) -> list[Message]:
    """The answer as one message (or several, when it is too long for one), buttons on the last."""
    blocks: list[Block] = []
    if asked_by:  # a slash command's answer is seen without the question, so it repeats it
        blocks.append(
            _context([f"<@{escape(asked_by)}> asked: {escape(_truncate(answer.question, MAX_CONTEXT_TEXT - 100))}"])
        )
    blocks += _answer_sections(answer)
    if answer.abstained:
        blocks += _closest_sections(answer.closest)
        blocks += _nearest_sources(answer.passages)
    else:
        if answer.alternatives:
            blocks.append(_alternatives_context(answer))
        blocks += [block for citation in answer.citations for block in _citation_sections(citation)]
        if answer.citations:
            blocks.append(_sources_context(answer.citations))
    pages = _paginate(blocks, _feedback_actions(feedback_id) if feedback_id else None)
    fallback = escape(_truncate(answer.answer, MAX_FALLBACK_TEXT))
    return [{"text": fallback if number == 0 else "(continued)", "blocks": page} for number, page in enumerate(pages)]


def text_message(text: str) -> Message:
    """A plain reply (usage hints, problems), escaped and cut to fit."""
    return {
        "text": escape(_truncate(text, MAX_FALLBACK_TEXT)),
        "blocks": [_section(piece) for piece in fit(text)][:MAX_BLOCKS],
    }


def feedback_ids(message: Message) -> list[str]:
    """The feedback ids carried by a message's buttons (what a click sends back), each once."""
    return list(
        dict.fromkeys(
            element["value"]
            for block in message.get("blocks", [])
            if block.get("type") == "actions"
            for element in block.get("elements", [])
            if element.get("action_id") in (FEEDBACK_UP, FEEDBACK_DOWN)
        )
    )


# ------------------------------------------------------------------------------------------ blocks
def _answer_sections(answer: Answer) -> list[Block]:
    text = answer.answer
    if not answer.abstained and answer.citations and not _CITED.search(text):
        text = f"{text} [{_backing_citation(answer).id}]"  # the extractive answer is a span of this quote
    return [_section(piece) for piece in fit(text)]


def _backing_citation(answer: Answer) -> Citation:
    """The first citation that is not there for an alternative: the one the shown answer was taken from."""
    elsewhere = {alternative.citation for alternative in answer.alternatives}
    return next((c for c in answer.citations if c.id not in elsewhere), answer.citations[0])


def _alternatives_context(answer: Answer) -> Block:
    """Each alternative as its own element, its value cut so that the date and number always show."""
    labels = [
        escape(alternative_label(replace(alternative, answer=_truncate(alternative.answer, MAX_EXCERPT))))
        for alternative in answer.alternatives
    ]
    return _context([f"*{OTHER_BRIEFINGS_SAY}*", *labels])


def _citation_sections(citation: Citation) -> list[Block]:
    header = f"*[{citation.id}]* {escape(_truncate(citation.title, MAX_TITLE))}{_dated(citation.date)}"
    header += _paged(citation.page)
    pieces = fit(citation.quote, MAX_SECTION_TEXT - len(header) - 1, quoted=True)
    return [_section(f"{header}\n{pieces[0]}"), *(_section(piece) for piece in pieces[1:])]


def _sources_context(citations: Sequence[Citation]) -> Block:
    lines = [f"[{c.id}] `{escape(c.doc)}`{_dated(c.date)}{_paged(c.page)} · chars {c.start}–{c.end}" for c in citations]
    return _context(["*Sources*", *lines[: MAX_CONTEXT_ELEMENTS - 1]])


def _closest_sections(closest: Sequence[Citation]) -> list[Block]:
    """A refusal's closest sentences, one section each: quote cut to an excerpt, then its title and date.

    The quote and title are cut before escaping, so a section stays far below Slack's limit however many
    ``&`` or ``<`` they hold.
    """
    if not closest:
        return []
    blocks: list[Block] = [_section(f"*{CLOSEST_I_FOUND}* _(not an answer: these sentences do not say it)_")]
    for citation in closest:
        quote = fit(_truncate(" ".join(citation.quote.split()), MAX_EXCERPT), quoted=True)[0]
        source = escape(_truncate(citation.title or citation.doc, MAX_TITLE))
        known = [part for part in (citation.date, f"p. {citation.page}" if citation.page else None) if part]
        blocks.append(_section(f"{quote} — {source}" + (f" ({', '.join(known)})" if known else "")))
    return blocks


def _nearest_sources(passages: Sequence[Passage]) -> list[Block]:
    nearest = _distinct_docs(passages)[:NEAREST_SOURCES]
    if not nearest:
        return []
    blocks: list[Block] = [_section("*Nearest sources* (they do not answer the question):")]
    for passage in nearest:
        chunk = passage.chunk
        header = f"*{escape(_truncate(chunk.title, MAX_TITLE))}*{_dated(chunk.date)}"
        excerpt = fit(_truncate(" ".join(chunk.text.split()), MAX_EXCERPT), quoted=True)[0]
        blocks.append(_section(f"{header}\n{excerpt}"))
    blocks.append(_context([f"`{escape(p.chunk.doc)}`{_dated(p.chunk.date)}" for p in nearest]))
    return blocks


def _feedback_actions(feedback_id: str) -> Block:
    def button(action_id: str, label: str) -> Block:
        return {
            "type": "button",
            "action_id": action_id,
            "value": feedback_id,
            "text": {"type": "plain_text", "text": label, "emoji": True},
        }

    return {
        "type": "actions",
        "block_id": "feedback",
        "elements": [button(FEEDBACK_UP, "👍 Helpful"), button(FEEDBACK_DOWN, "👎 Not helpful")],
    }


def _section(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _context(texts: Sequence[str]) -> Block:
    elements = [{"type": "mrkdwn", "text": _truncate(text, MAX_CONTEXT_TEXT)} for text in texts[:MAX_CONTEXT_ELEMENTS]]
    return {"type": "context", "elements": elements}


def _paginate(blocks: list[Block], last: Block | None) -> list[list[Block]]:
    pages = [blocks[start : start + MAX_BLOCKS] for start in range(0, len(blocks), MAX_BLOCKS)] or [[]]
    if last is not None:
        if len(pages[-1]) < MAX_BLOCKS:
            pages[-1].append(last)
        else:
            pages.append([last])
    return pages


def _distinct_docs(passages: Sequence[Passage]) -> list[Passage]:
    seen: set[str] = set()
    distinct = []
    for passage in passages:
        if passage.chunk.doc not in seen:
            seen.add(passage.chunk.doc)
            distinct.append(passage)
    return distinct


def _dated(date: str | None) -> str:
    return f" · {date}" if date else ""


def _paged(page: int | None) -> str:
    return f" · p. {page}" if page else ""


# -------------------------------------------------------------------------------------------- text
def escape(text: str) -> str:
    """Slack mrkdwn treats ``&``, ``<`` and ``>`` as control characters; everything else is shown as is."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def question_text(slack_text: str | None) -> str:
    """The question as a person typed it: mentions dropped, links shown by their label, entities decoded."""
    text = _MENTION.sub(" ", slack_text or "")
    text = _BARE.sub(r"\1", _LABELLED.sub(r"\1", text))
    return " ".join(html.unescape(text).split())


def fit(text: str, limit: int = MAX_SECTION_TEXT, quoted: bool = False) -> list[str]:
    """``text`` escaped (and block-quoted) in pieces of at most ``limit`` characters, cut at whitespace."""
    prefix = "> " if quoted else ""

    def render(raw: str) -> str:
        escaped = escape(raw)
        return prefix + escaped.replace("\n", "\n" + prefix) if quoted else escaped

    pieces: list[str] = []
    current: list[str] = []
    size = len(prefix)
    for token in _tokens(text, limit - len(prefix), render):
        cost = len(render(token)) - len(prefix)
        if current and size + cost > limit:
            pieces.append(render("".join(current).strip()))
            current, size = [], len(prefix)
        if current or token.strip():  # a piece never starts with whitespace
            current.append(token)
            size += cost
    if current:
        pieces.append(render("".join(current).strip()))
    return pieces or [render("")]


def _tokens(text: str, budget: int, render: Any) -> Iterator[str]:
    """Words and runs of whitespace; a word too long for one piece is cut into pieces that fit."""
    for token in _TOKENS.findall(text):
        while len(render(token)) - len(render("")) > budget:
            cut = _longest_prefix(token, budget, render)
            yield token[:cut]
            token = token[cut:]
        yield token


def _longest_prefix(token: str, budget: int, render: Any) -> int:
    """The longest start of ``token`` whose rendering fits ``budget`` (at least one character)."""
    low, high = 1, min(len(token), budget)
    while low < high:
        middle = (low + high + 1) // 2
        if len(render(token[:middle])) - len(render("")) <= budget:
            low = middle
        else:
            high = middle - 1
    return low


def _truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
