"""One settings object, read once from ``BRIEFINGS_*`` environment variables (and CLI flags), passed in.

Nothing reads the environment after start-up; code that needs a setting receives this object. Every field
says what it does, because ``briefings --help`` and the README are generated from the same words.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from index.chunking import DEFAULT_CHUNK_OVERLAP, DEFAULT_CHUNK_SIZE
from index.ingest import ChunkingSettings
from index.store import StoreLocation

MAX_QUESTION_CHARS = 2000


def _outside_variable(variable: str, description: str, *, secret: bool = False) -> Any:
    """A setting read from another service's own variable (``SLACK_BOT_TOKEN``), not a ``BRIEFINGS_`` one;
    the field name also works, for code that builds Settings directly. Secrets stay out of ``repr``."""
    return Field(
        None, repr=not secret, validation_alias=AliasChoices(variable, variable.lower()), description=description
    )


def _user_cache() -> Path:
    """The per-user cache folder of the XDG base-directory spec, which ignores a relative ``XDG_CACHE_HOME``.

    Exporting the embedding model takes 10-20 s on two cores and writes 110 MB, so every index of a user
    shares one export there instead of making its own.
    """
    configured = Path(os.environ.get("XDG_CACHE_HOME") or "")
    return configured if configured.is_absolute() else Path.home() / ".cache"


class Settings(BaseSettings):
    """Everything configurable about Briefings; each field maps to ``BRIEFINGS_<FIELD>``."""

    model_config = SettingsConfigDict(env_prefix="BRIEFINGS_", extra="ignore", frozen=True, populate_by_name=True)

    index: Path = Field(Path(".briefings"), description="Folder of the index (Chroma data, lexical index).")
    corpus: Path = Field(Path("corpus"), description="Folder that `briefings ingest` reads when given no path.")
    chroma_url: str | None = Field(
        None,
        description="URL of a `chroma run` server to use instead of the embedded store, e.g. http://127.0.0.1:8000.",
    )
    chroma_timeout: float = Field(
        30.0, gt=0, description="Seconds a request to the Chroma server may take before it counts as unavailable."
    )
    embedding_model: str | None = Field(
        None,
        description="Embedding model: a sentence-transformers folder or cached hub name; unset = packaged MiniLM.",
    )
    embedding_backend: Literal["onnx-int8", "onnx", "torch"] = Field(
        "onnx-int8",
        description="How the embedder runs: int8 ONNX (fastest), float ONNX, or sentence-transformers on torch.",
    )
    model_cache: Path = Field(
        default_factory=lambda: _user_cache() / "briefings" / "models",
        description="Where exported ONNX models are kept, shared by every index; default "
        "$XDG_CACHE_HOME/briefings/models, else ~/.cache/briefings/models.",
    )
    chunk_size: int = Field(DEFAULT_CHUNK_SIZE, ge=100, le=4000, description="Target chunk length in characters.")
    chunk_overlap: int = Field(
        DEFAULT_CHUNK_OVERLAP, ge=0, le=1000, description="Characters shared by neighbouring chunks."
    )
    llm: str = Field("extractive", description="Answer mode: extractive, openai:MODEL or ollama:MODEL.")
    llm_choices: str = Field(
        "",
        description="Comma-separated answer modes that API callers may pick per question, besides extractive "
        "and `llm` (e.g. openai:gpt-4o-mini,ollama:llama3.1); empty = only those two.",
    )
    llm_timeout: float = Field(
        30.0, gt=0, description="Seconds an LLM call may take before falling back to extractive."
    )
    passages: int = Field(10, ge=1, le=50, description="Passages returned with each answer (and scored by eval).")
    candidates: int = Field(
        40, ge=5, le=500, description="Chunks taken from each of dense and lexical search before fusion."
    )
    retrieval_ranking: Literal["sentences", "rrf"] = Field(
        "sentences",
        description="How candidate chunks are ranked: by their closest sentence to the question plus a little "
        "BM25 (`sentences`), or by reciprocal rank fusion of the dense and BM25 lists (`rrf`).",
    )
    max_chunks_per_article: int = Field(
        1, ge=1, le=20, description="At most this many chunks of one article among the top passages."
    )
    evidence_passages: int = Field(10, ge=1, le=30, description="Top passages whose sentences compete to answer.")
    abstain_below: float | None = Field(
        None,
        ge=0,
        le=1,
        description="Confidence under which the answer is 'The briefings don't say.'; unset = the fitted threshold.",
    )
    scoring_model: Path | None = Field(
        None, description="Evidence-ranking and abstention model written by `briefings tune`; unset = the shipped one."
    )
    entity_spans: Literal["patterns", "spacy"] = Field(
        "patterns",
        description="How names are cut out of the answering sentence: patterns (fast) or spaCy (+4 ms a question).",
    )
    answerer: Literal["reader", "rules"] = Field(
        "rules",
        description="What picks the answer: the fitted rules (default) or the reader model trained here (`reader`).",
    )
    reader_rerank: bool = Field(
        True,
        description="With the rules answering, the reader reranks the evidence of questions they answer: "
        "the rules decide whether to answer, the reranked sentences what is shown (0 = the rules' ranking alone).",
    )
    reader_model: Path | None = Field(
        None, description="Folder of a reader built by `briefings train`; unset = the shipped one."
    )
    reader_sentences: int = Field(
        8, ge=1, le=40, description="Best-ranked evidence sentences the reader reads for each question."
    )
    rerank_sentences: int = Field(
        3,
        ge=1,
        le=40,
        description="Best-ranked evidence sentences the reader reads when it reranks the rules' evidence "
        "(plus the 4 nearest by meaning).",
    )
    reader_pool: int = Field(
        20, ge=1, le=50, description="Passages retrieved for the reader to rerank; the best `passages` are shown."
    )
    max_question_chars: int = Field(MAX_QUESTION_CHARS, ge=10, description="Longest question accepted.")
    api_token: str | None = Field(
        None, description="Bearer token that the /api/ routes (ask, stream, status, documents) require when set."
    )

    threads: int = Field(
        default_factory=lambda: os.cpu_count() or 1,
        ge=1,
        description="ONNX embedding sessions run in parallel during ingest (and shared by questions); default: cores.",
    )
    auth: str | None = Field(
        None, repr=False, description="`USER:PASSWORD` for the chat UI's login page (same as `serve --auth`)."
    )
    # Variables named by the services they configure (Slack's and the LLM clients' own conventions), so they
    # keep their usual names rather than a BRIEFINGS_ prefix.
    slack_signing_secret: str | None = _outside_variable(
        "SLACK_SIGNING_SECRET",
        "Slack app's signing secret; with `SLACK_BOT_TOKEN` it turns the Slack routes on.",
        secret=True,
    )
    slack_bot_token: str | None = _outside_variable(
        "SLACK_BOT_TOKEN", "Slack bot token (`xoxb-…`) used to post answers.", secret=True
    )
    slack_api_url: str | None = _outside_variable(
        "SLACK_API_URL", "Slack Web API base URL; unset = https://slack.com/api/."
    )
    slack_client_id: str | None = _outside_variable(
        "SLACK_CLIENT_ID",
        "Leave unset: together with `SLACK_CLIENT_SECRET` it makes slack-bolt expect OAuth installs.",
        secret=True,
    )
    slack_client_secret: str | None = _outside_variable(
        "SLACK_CLIENT_SECRET", "Paired with `SLACK_CLIENT_ID`; see there.", secret=True
    )
    openai_api_key: str | None = _outside_variable(
        "OPENAI_API_KEY",
        "Key for `openai:MODEL` answers (may be unset for a local OpenAI-compatible server).",
        secret=True,
    )
    openai_base_url: str | None = _outside_variable(
        "OPENAI_BASE_URL", "OpenAI-compatible server for `openai:MODEL`, e.g. http://127.0.0.1:8000/v1."
    )
    ollama_host: str | None = _outside_variable(
        "OLLAMA_HOST", "Ollama server for `ollama:MODEL`; unset = http://127.0.0.1:11434."
    )

    @field_validator(
        "chroma_url",
        "auth",
        "slack_signing_secret",
        "slack_bot_token",
        "slack_api_url",
        "openai_api_key",
        "openai_base_url",
        "ollama_host",
    )
    @classmethod
    def _blank_is_none(cls, value: str | None) -> str | None:
        return value or None

    @property
    def location(self) -> StoreLocation:
        return StoreLocation(self.index, self.chroma_url, self.chroma_timeout)

    @property
    def chunking(self) -> ChunkingSettings:
        return ChunkingSettings(self.chunk_size, self.chunk_overlap)

    @property
    def model_dir(self) -> Path:
        return self.model_cache
