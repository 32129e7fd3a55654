"""How the chat shows a digest: a timeline grouped by day, each item numbered with its citation numbers.

The chat routes "what's new / catch me up / summarise" messages here (``ChatAdapter.answer_turn`` asks the
service whether a message is a digest request). The digest reaches the sources pane as an ordinary answer
(:meth:`Digest.as_answer`), so each quote is a card that opens its article at the quote, as answers' are;
the transcript keeps the plain numbered timeline, from which follow-ups ("the second one") are read.
"""

from __future__ import annotations

from typing import Any

from assistant.adapters.ui_render import literal_markdown
from assistant.service import Digest, DigestRequest
from assistant.types import Answer

MAX_CITATION_MARKS = 4  # numbers shown beside one item; the rest are in the sources pane


def digest_markdown(digest: Digest, answer: Answer) -> str:
    """The chat bubble: heading, then per day the numbered items with their citation numbers and title."""
    lines = [f"**{literal_markdown(digest.heading)}**"]
    if digest.note:
        lines += ["", literal_markdown(digest.note)]
    ids = iter(citation.id for citation in answer.citations)
    for day, items in digest.numbered():
        lines += ["", f"**{day}**", ""]
        for number, item in items:
            marks = [f"[{next(ids)}]" for _ in item.citations][:MAX_CITATION_MARKS]
            reported = f" ({item.briefings} briefings)" if item.briefings > 1 else ""
            title = f"*{literal_markdown(item.title)}*{reported}"
            lines.append(f"{number}. {literal_markdown(item.text)} {' '.join(marks)} — {title}")
    if digest.more:
        lines += ["", "_More: ask for “more”, or narrow the topic or the dates._"]
    return "\n".join(lines)


def with_dates(request: DigestRequest, since: str | None, until: str | None) -> DigestRequest:
    """The chat's date boxes apply when the message itself named no time."""
    if request.since or request.until or not (since or until):
        return request
    return DigestRequest(request.topic, since or None, until or None, request.limit)


def digest_turn_values(
    digest: Digest, question: str, messages: list[dict[str, Any]], transcript: list[dict[str, str]]
) -> tuple[list[dict[str, Any]], list[dict[str, str]], Answer]:
    """The chat with the timeline added, the transcript with its plain text, and the answer for the sources pane."""
    answer = digest.as_answer(question)
    chat = [*messages, {"role": "assistant", "content": digest_markdown(digest, answer)}]
    turns = [*transcript, {"role": "user", "content": question}, {"role": "assistant", "content": answer.answer}]
    return chat, turns, answer
