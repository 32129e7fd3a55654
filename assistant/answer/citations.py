"""Citations: a whole sentence quoted with its exact offsets, checked against the stored article text.

The invariant every consumer relies on: ``article_text[start:end] == quote``. A citation is only ever made
from offsets into the article text the index stored, and it is verified when made (the slice must be the very
sentence that was scored), so a bug anywhere upstream produces no citation rather than a wrong one.
It owns making a :class:`Citation`; it must not read files or the index (the text is handed in), nor rank.
"""

from __future__ import annotations

from assistant.text.sentences import Span
from assistant.types import Citation
from index.formats import page_of


def cite(
    number: int,
    doc: str,
    title: str,
    date: str | None,
    article_text: str,
    span: Span,
    score: float,
    expected: str,
    pages: tuple[int, ...] = (),
) -> Citation | None:
    """A verified citation of ``article_text[span]``, or ``None`` if the span does not fit the text.

    ``expected`` is the sentence that was scored. The span came from a chunk and the text from the article
    store; if the two ever disagree (a stale index, text stored differently from how it was chunked) the slice
    would quote something other than what earned the citation, so no citation is better than that one.
    ``pages`` (a PDF's page starts in ``article_text``) give the citation the page its quote starts on.
    """
    if not 0 <= span.start < span.end <= len(article_text):
        return None
    quote = article_text[span.start : span.end]
    if quote != expected or not quote.strip():
        return None
    return Citation(number, doc, title, date, span.start, span.end, score, quote, page_of(pages, span.start))


def is_verified(citation: Citation, article_text: str | None) -> bool:
    """The check eval and tests apply to every citation."""
    return article_text is not None and article_text[citation.start : citation.end] == citation.quote
