"""The seed briefing among real news articles: answers must still come from the right article.

Uses the short quiz-note articles of ../shared/corpora/news-2024q1 (about 300 of them) as distractors, so it
stays quick; skipped cleanly where that folder is absent.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from assistant.measure.evaluation import contains_answer
from assistant.service import BriefingService
from tests.conftest import NEWS, SEED_CORPUS, SEED_DOC, requires_news

pytestmark = [requires_news, pytest.mark.news]


@pytest.fixture(scope="module")
def mixed_service(tmp_path_factory: pytest.TempPathFactory, model_cache: Path) -> BriefingService:
    from assistant.settings import Settings

    corpus = tmp_path_factory.mktemp("mixed")
    shutil.copy(SEED_CORPUS / SEED_DOC, corpus / SEED_DOC)
    for path in sorted((NEWS / "articles").glob("ev_*.txt")):
        shutil.copy(path, corpus / path.name)
    service = BriefingService(Settings(index=corpus.parent / f"{corpus.name}-index", model_cache=model_cache))
    service.ingest([corpus])
    return service


def test_card_question_still_cites_the_seed(mixed_service: BriefingService) -> None:
    answer = mixed_service.ask("How long did the phone call between Putin and Macron last?")
    assert answer.answer == "an hour and 45 minutes"
    assert answer.citations[0].doc == SEED_DOC


def test_news_questions_are_answered_from_their_notes(mixed_service: BriefingService) -> None:
    questions = [json.loads(line) for line in (NEWS / "questions-dev.jsonl").read_text().splitlines()]
    answerable = [q for q in questions if q["answerable"]][:30]
    right = wrong = 0
    for item in answerable:
        answer = mixed_service.ask(item["question"])
        shown = contains_answer(answer.answer, item["answers"])
        right += shown
        wrong += not answer.abstained and not shown
        for citation in answer.citations:
            text = mixed_service.articles.text(citation.doc)
            assert text is not None and text[citation.start : citation.end] == citation.quote
    assert right / len(answerable) >= 0.3, (right, wrong)
    assert wrong < right, "more wrong answers shown than right ones"
