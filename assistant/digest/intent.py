"""Telling a digest request in a chat question: "what's new", "catch me up on ...", "summarise this week's
briefings", and follow-ups on a digest just shown ("tell me more about the second one").

A factual question must never be taken for one, so the triggers are phrases that only ask for an overview;
"what happened" and "what changed" count only with a time ("this week", "since Monday"), since "what happened
to the plane?" wants an answer. The topic is what is left of the question once the trigger, the time and
filler words are cut. The timeline text a digest leaves in the chat history (:meth:`Digest.timeline_lines`) numbers
its items, so "the second one" can be found there again. Pure: must not open the index.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date

from assistant.digest.build import DigestRequest
from assistant.digest.window import window_in

FOLLOW_UP_LIMIT = 5  # "more about" an item: its story's few most salient sentences

_ALWAYS = re.compile(
    r"\b(?:what(?:'s|’s|\s+is)\s+new|catch\s+me\s+up|bring\s+me\s+up\s+to\s+(?:speed|date)|up\s+to\s+speed"
    r"|summari[sz]e|summary\s+of|sum\s+up|recap|digest|the\s+latest\s+(?:on|about|in)|any\s+news|news\s+roundup"
    r"|what\s+did\s+i\s+miss)\b",
    re.IGNORECASE,
)
_WITH_TIME = re.compile(r"\bwhat\s+(?:has\s+|have\s+)?(?:happened|changed|went\s+on|is\s+going\s+on)\b", re.IGNORECASE)
_FILLER = re.compile(
    r"\b(?:please|can\s+you|could\s+you|give\s+me|me|us|on|about|in|for|with|of|the|a|an|what|whats|what's|is|are"
    r"|has|have|there|been|any|anything|happened|changed|going|went|new|news|briefings?|stories|story|articles?"
    r"|headlines|so\s+far|regarding|around|to|from|up|speed|date|latest|key|main|top|events?|developments?"
    r"|updates?|s)\b",
    re.IGNORECASE,
)
_ORDINALS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7,
             "eighth": 8, "ninth": 9, "tenth": 10, "last": -1}  # fmt: skip
_FOLLOW_UP = re.compile(
    r"\b(?:more\s+(?:on|about)|tell\s+me\s+more|expand\s+on|details?\s+(?:on|of|about)|what\s+about|go\s+on\s+with)\b"
    r".*?\b(?:(?P<word>first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|last)"
    r"|(?:number|item|no\.?|#)\s*(?P<number>\d+)|(?P<nth>\d+)(?:st|nd|rd|th))\b",
    re.IGNORECASE,
)
_HEADING = re.compile(r"^Digest(?: on (?P<topic>.*?))?, (?P<since>\d{4}-\d{2}-\d{2}) to (?P<until>\d{4}-\d{2}-\d{2})")
_NUMBERED = re.compile(r"^\s*(?P<number>\d+)\.\s+(?P<text>.+)$")


def digest_request_in(question: str, history: Sequence[dict[str, str]], newest: date) -> DigestRequest | None:
    """The digest ``question`` asks for (a follow-up on the last digest shown first), or ``None``."""
    follow_up = _follow_up(question, history)
    if follow_up is not None:
        return follow_up
    said = window_in(question, newest)
    if not _ALWAYS.search(question) and not (said is not None and _WITH_TIME.search(question)):
        return None
    rest = question if said is None else question[: said.start] + " " + question[said.end :]
    rest = _WITH_TIME.sub(" ", _ALWAYS.sub(" ", rest))
    topic = " ".join(_FILLER.sub(" ", re.sub(r"[^\w\s'’-]", " ", rest)).split())
    if said is None:
        return DigestRequest(topic, story=bool(topic))
    return DigestRequest(topic, said.window.since.isoformat(), said.window.until.isoformat())


def _follow_up(question: str, history: Sequence[dict[str, str]]) -> DigestRequest | None:
    match = _FOLLOW_UP.search(question)
    last = next((turn["content"] for turn in reversed(history) if turn.get("role") == "assistant"), None)
    if match is None or last is None:
        return None
    lines = last.splitlines()
    heading = _HEADING.match(lines[0]) if lines else None
    items = [found["text"] for found in map(_NUMBERED.match, lines) if found is not None]
    if heading is None or not items:
        return None
    wanted = _ORDINALS[match["word"].lower()] if match["word"] else int(match["number"] or match["nth"])
    if wanted == -1:
        wanted = len(items)
    if not 1 <= wanted <= len(items):
        return None
    return DigestRequest(items[wanted - 1], heading["since"], heading["until"], FOLLOW_UP_LIMIT)
