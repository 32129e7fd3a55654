"""Split an :class:`Article` into :class:`Chunk` s whose text is exactly ``article.text[start:end]``.

LangChain's ``RecursiveCharacterTextSplitter`` does the splitting: paragraphs first, then lines, then
sentence boundaries, then words, so a chunk rarely cuts a sentence. Its ``add_start_index`` finds each chunk
in the article; we check that the text at that offset really is the chunk, so the offset invariant holds by
construction and never depends on the splitter's internals.

A pure function of the article: must not read files, import chromadb or import the assistant's adapters.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from langchain_text_splitters import RecursiveCharacterTextSplitter

from index.articles import Article

DEFAULT_CHUNK_SIZE = 800
DEFAULT_CHUNK_OVERLAP = 120

# Paragraph, line, sentence end (kept with the sentence), clause, word, character.
_SEPARATORS = ["\n\n", "\n", r"(?:(?<=[.!?…])|(?<=[.!?…][\"'”’)]))\s+", r"(?<=[;:])\s+", r"(?<=,)\s+", r"\s+", ""]


@dataclass(frozen=True)
class Chunk:
    """A piece of an article, with its place in it and what the index stores beside it."""

    id: str
    doc: str
    title: str
    date: str | None
    start: int
    end: int
    text: str
    position: int


@lru_cache(maxsize=8)
def _splitter(size: int, overlap: int) -> RecursiveCharacterTextSplitter:
    return RecursiveCharacterTextSplitter(
        chunk_size=size,
        chunk_overlap=overlap,
        separators=_SEPARATORS,
        is_separator_regex=True,
        keep_separator="end",
        strip_whitespace=True,
        add_start_index=True,
    )


def chunk_article(
    article: Article, size: int = DEFAULT_CHUNK_SIZE, overlap: int = DEFAULT_CHUNK_OVERLAP
) -> list[Chunk]:
    """Chunks in reading order; ids are ``<doc>#<position>`` so re-ingesting replaces, never duplicates."""
    documents = _splitter(size, overlap).create_documents([article.text])
    chunks: list[Chunk] = []
    cursor = 0
    for document in documents:
        piece = document.page_content
        start = _locate(article.text, piece, document.metadata.get("start_index", -1), cursor)
        chunks.append(
            Chunk(
                id=f"{article.id}#{len(chunks)}",
                doc=article.id,
                title=article.title,
                date=article.date,
                start=start,
                end=start + len(piece),
                text=piece,
                position=len(chunks),
            )
        )
        cursor = start + 1
    return chunks


def _locate(text: str, piece: str, hint: int, cursor: int) -> int:
    """Offset of ``piece`` in ``text``: the splitter's hint when it is right, else the next occurrence."""
    if hint >= 0 and text.startswith(piece, hint):
        return hint
    found = text.find(piece, cursor)
    if found < 0:
        found = text.find(piece)
    if found < 0:
        raise ValueError("chunk text does not occur in the article")  # a splitter bug, never user input
    return found
