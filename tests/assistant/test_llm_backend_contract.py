"""One contract for every answer backend, whatever writes the text: the extractive answerer or an LLM.

Each backend answers from the same seed index (built once per session) and must give DESIGN.md's answer
object, quotes that are the article file's own text at their offsets, the plain refusal for a question the
briefings cannot answer, and a stream whose text deltas join to exactly the final answer.

LLM backends run for real (LangChain client, prompts, guard) against a scripted stand-in server on
127.0.0.1 that plays a faithful model: it copies the source sentence that holds the fact asked for, cited.
``openai:`` runs against the OpenAI-compatible stand-in of :mod:`tests.assistant.stand_in`. ``ollama:`` is
not among the backends: langchain-ollama is not a dependency of the test environment.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import pytest

from assistant.service import BriefingService
from assistant.settings import Settings
from assistant.text.sentences import sentence_spans
from assistant.types import ABSTAIN_TEXT, Answer, Citation
from tests.assistant.stand_in import sources_in, user_message
from tests.conftest import SEED_CORPUS

# What the faithful model repeats for each answerable question (and the answer must contain).
FACTS = {
    "How long was the call?": "an hour and 45 minutes",
    "Who initiated the call?": "the French side",
}
UNANSWERABLE = ["What is the capital of Australia?", "Who won the 2018 World Cup?"]
ANSWER_KEYS = {"question", "answer", "abstained", "citations", "passages", "mode", "timings_ms"}
CITATION_KEYS = {"id", "doc", "title", "date", "start", "end", "score", "quote"}
PASSAGE_KEYS = {"doc", "start", "end", "score", "text"}
TIMING_KEYS = {"retrieve", "answer", "total"}
_QUESTION_LINE = re.compile(r"^Question: (?P<question>.+)$", re.MULTILINE)


@dataclass(frozen=True)
class Backend:
    """An answer mode, the ``mode`` its own (not fallen back) answers report, and a service answering in it."""

    mode: str
    answers_as: str
    service: BriefingService


BACKENDS = {"extractive": "extractive", "openai:test-model": "llm:openai:test-model"}


def faithful_model(body: dict[str, Any]) -> str:
    """Copy the first source sentence that states the fact asked for, citing its source; else say so."""
    found = _QUESTION_LINE.search(user_message(body))
    fact = FACTS.get(found.group("question").strip()) if found else None
    for number, (_, text) in sources_in(body).items():
        for span in sentence_spans(text):
            sentence = text[span.start : span.end]
            if fact is not None and fact in sentence:
                return f"{sentence.rstrip(' .')} [{number}]."
    return "The sources do not say."


# ------------------------------------------------------------------------------------ fixtures
@pytest.fixture(scope="module", params=list(BACKENDS))
def _service(request: pytest.FixtureRequest, seed_settings: Settings) -> BriefingService:
    """One service per backend for the whole module; the LLM backends point at the stand-in through settings."""
    service = BriefingService(seed_settings.model_copy(update={"llm": request.param, "llm_timeout": 10.0}))
    service.warm_up()
    return service


@pytest.fixture
def backend(_service: BriefingService, request: pytest.FixtureRequest) -> Backend:
    """The backend under test, its stand-in (for LLM modes) scripted as a faithful model."""
    mode = _service.settings.llm
    if mode != "extractive":
        request.getfixturevalue("stand_in").reply = faithful_model
    return Backend(mode, BACKENDS[mode], _service)


def streamed(service: BriefingService, question: str) -> tuple[list[str], Answer]:
    events = list(service.stream(question))
    assert [event.kind for event in events[:-1]] == ["delta"] * (len(events) - 1)
    final = events[-1]
    assert final.kind == "answer" and final.answer is not None
    return [event.text for event in events[:-1]], final.answer


def assert_quotes_are_on_disk(citations: tuple[Citation, ...]) -> None:
    for citation in citations:
        with open(SEED_CORPUS / citation.doc, encoding="utf-8") as article:
            assert article.read()[citation.start : citation.end] == citation.quote


# ------------------------------------------------------------------------------------ the contract
@pytest.mark.parametrize("question", [*FACTS, *UNANSWERABLE])
def test_the_answer_object_has_the_documented_fields(backend: Backend, question: str) -> None:
    body = json.loads(json.dumps(backend.service.ask(question).to_dict()))
    assert set(body) >= ANSWER_KEYS
    assert body["question"] == question and isinstance(body["answer"], str) and body["answer"]
    assert isinstance(body["abstained"], bool)
    assert set(body["timings_ms"]) >= TIMING_KEYS
    assert body["passages"], "the nearest passages are returned even with a refusal"
    for passage in body["passages"]:
        assert set(passage) >= PASSAGE_KEYS
    for citation in body["citations"]:
        assert set(citation) >= CITATION_KEYS
    assert [citation["id"] for citation in body["citations"]] == list(range(1, len(body["citations"]) + 1))


@pytest.mark.parametrize(("question", "fact"), list(FACTS.items()))
def test_answers_quote_the_article_file_at_their_offsets(backend: Backend, question: str, fact: str) -> None:
    answer = backend.service.ask(question)
    assert answer.mode == backend.answers_as  # answered by this backend, not by a fallback
    assert not answer.abstained and fact in answer.answer
    assert answer.citations and any(fact in citation.quote for citation in answer.citations)
    assert_quotes_are_on_disk(answer.citations)


@pytest.mark.parametrize("question", UNANSWERABLE)
def test_a_question_the_briefings_cannot_answer_is_refused(backend: Backend, question: str) -> None:
    answer = backend.service.ask(question)
    assert answer.abstained and answer.answer == ABSTAIN_TEXT
    assert answer.citations == ()
    assert_quotes_are_on_disk(answer.closest)


@pytest.mark.parametrize("question", [*FACTS, *UNANSWERABLE])
def test_streamed_text_joins_to_the_final_answer(backend: Backend, question: str) -> None:
    deltas, answer = streamed(backend.service, question)
    assert deltas and "".join(deltas) == answer.answer
    asked = backend.service.ask(question)
    assert (answer.answer, answer.abstained, answer.mode) == (asked.answer, asked.abstained, asked.mode)
    assert answer.citations == asked.citations
    assert_quotes_are_on_disk(answer.citations)
