"""The reader reranks what the rules show: the rules still decide whether to answer, the reranked evidence what."""

from __future__ import annotations

import json

import pytest

from assistant.answer.confidence import RERANK_SIGNALS, Model, load_model
from assistant.answer.extractive import Extracted
from assistant.service import BriefingService

QUESTIONS = [
    "who does putin say is behind the escalation",
    "Where did Putin and Macron meet before the call?",
    "How long was the call?",
    "evacuees from donetsk lugansk sent where",
    "Who won the Super Bowl in 2024?",
    "How many civilians were evacuated to Russia?",
]


def _decided(service: BriefingService, question: str, rerank: bool) -> Extracted:
    evidence = service.evidence(question, [])  # fresh evidence each time: deciding rescores its sentences
    return service.decide(question, evidence, evidence.ranked, rerank=rerank)


@pytest.mark.parametrize("question", QUESTIONS)
def test_the_rules_still_decide_whether_to_answer(seed_service: BriefingService, question: str) -> None:
    rules, reranked = _decided(seed_service, question, False), _decided(seed_service, question, True)
    assert reranked.abstained == rules.abstained
    assert reranked.confidence == rules.confidence
    assert reranked.features == rules.features


def test_the_reranked_sentence_is_shown_where_the_rules_picked_another(seed_service: BriefingService) -> None:
    question = "evacuees from donetsk lugansk sent where"
    evacuation = "The DPR and LPR administrations began evacuating civilians to Russia on Friday."
    assert _decided(seed_service, question, False).citations[0].quote != evacuation  # why citizens flee
    reranked = _decided(seed_service, question, True)
    assert reranked.citations[0].quote == evacuation
    assert reranked.text == "Russia"  # the reader's span and the "where" span agree on it


def test_a_short_answer_the_reader_and_the_questions_shape_agree_on_replaces_the_sentence(
    seed_service: BriefingService,
) -> None:
    question = "which side started the call"  # the briefing says "initiated": the key-word check holds the span back
    rules = _decided(seed_service, question, False)
    assert rules.text.startswith("Kremlin also stated that the call was initiated by the French side")
    reranked = _decided(seed_service, question, True)
    assert reranked.text == "the French side"
    assert reranked.citations[0].quote == rules.text


def test_a_typed_span_the_reader_did_not_read_is_not_shown_alone(seed_service: BriefingService) -> None:
    answer = _decided(seed_service, "Where did Putin and Macron meet before the call?", True)
    assert answer.text != "NATO"  # the "where" span of a sentence about NATO, not where they met


def test_shown_passages_follow_the_reranked_evidence(seed_service: BriefingService) -> None:
    answer = seed_service.ask("evacuees from donetsk lugansk sent where")
    assert answer.citations
    assert answer.citations[0].quote in answer.passages[0].chunk.text


def test_the_shipped_model_carries_reranking_weights_with_the_readers_logit() -> None:
    model = load_model()
    assert model.reranking is not None
    assert set(model.reranking.values) == set(RERANK_SIGNALS)
    assert model.reranking.values["reader"] > 0


def test_a_model_without_reranking_weights_round_trips_as_the_rules_alone() -> None:
    data = json.loads(load_model().to_json())
    data.pop("reranking")
    model = Model.from_json(json.dumps(data))
    assert model.reranking is None
    assert "reranking" not in json.loads(model.to_json())
    assert Model.from_json(load_model().to_json()) == load_model()
