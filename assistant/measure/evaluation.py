"""Score the service against a question set: the report keys are the contract in DESIGN.md.

Evaluation is ordinary code over the same :class:`BriefingService` every adapter calls; conversations go
through the same history handling as the UI. A metric over an empty subset is ``None`` (``null``).

It measures what a reader sees: the headline ``answer_correct`` looks at the displayed answer only, because a
right quote beside a wrong answer still misleads anyone who does not open the source; and quotes are checked
against each article as read from its own file, so a wrong offset cannot pass by agreeing with the index's copy.

Owns: asking a question set (conversations turn by turn), scoring each answer, the eval report object and
its LLM-mode section, and how a figure is printed (:func:`format_metric`).

Must not: rename or drop a report key (DESIGN.md, "Eval report"); check a quote against the index's copy of
an article; reach into the service's internals beyond ``ask``, ``warm_up`` and the store's article records;
or print anything but its progress bar (the console adapter prints the summary, ``report`` the Markdown).
"""

from __future__ import annotations

import re
import string
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assistant.answer.citations import is_verified
from assistant.answer.conversation import (
    SHORT_ANSWER_WORDS,  # a short answer, as the report counts it, is a chat's short one
)
from assistant.measure.questions import evidence_docs, load_question_set
from assistant.measure.stats import percentiles
from assistant.text.casual import plain_casual
from assistant.types import Answer
from index.articles import HTML_SUFFIXES, SourceFile, load_articles
from index.formats import DOCUMENT_SUFFIXES

RANKS = (1, 5, 10)
SECONDARY_METRICS = frozenset({"answer_in_citation"})  # never to be reported without answer_correct beside it


@dataclass(frozen=True)
class Probe:
    """One scored question: a single question, or one turn of a conversation with its history."""

    id: str
    question: str
    answers: tuple[str, ...]
    evidence_docs: frozenset[str]
    answerable: bool
    type: str
    history: tuple[dict[str, str], ...] = ()


@dataclass
class Outcome:
    probe: Probe
    answer: Answer
    seconds: float
    scores: dict[str, Any] = field(default_factory=dict)


# ------------------------------------------------------------------------------------- asking
def run_probes(items: list[dict[str, Any]], ask: Callable[[str, list[dict[str, str]]], Answer]) -> Iterator[Outcome]:
    """Ask every question (conversations turn by turn, carrying history) and yield outcomes."""
    for index, item in enumerate(items):
        if "turns" in item:
            yield from _run_conversation(item, index, ask)
            continue
        probe = _probe(item, str(item.get("id", f"q{index + 1}")), item["question"], ())
        yield _timed(probe, ask)


def _run_conversation(
    item: dict[str, Any], index: int, ask: Callable[[str, list[dict[str, str]]], Answer]
) -> Iterator[Outcome]:
    history: list[dict[str, str]] = []
    base = str(item.get("id", f"c{index + 1}"))
    for number, turn in enumerate(item.get("turns", []), start=1):
        question = str(turn.get("user", ""))
        probe = _probe(turn, f"{base}/{number}", question, tuple(history))
        outcome = _timed(probe, ask)
        if "answers" in turn or turn.get("answerable") is False:
            yield outcome
        history += [{"role": "user", "content": question}, {"role": "assistant", "content": outcome.answer.answer}]


def _probe(item: dict[str, Any], probe_id: str, question: str, history: tuple[dict[str, str], ...]) -> Probe:
    answers = tuple(str(answer) for answer in item.get("answers") or ())
    answerable = bool(item.get("answerable", bool(answers)))
    docs = evidence_docs(item)
    return Probe(probe_id, question, answers, docs, answerable, str(item.get("type", "unknown")), history)


def _timed(probe: Probe, ask: Callable[[str, list[dict[str, str]]], Answer]) -> Outcome:
    started = time.perf_counter()
    answer = ask(probe.question, list(probe.history))
    return Outcome(probe, answer, time.perf_counter() - started)


# ------------------------------------------------------------------------------------- metrics
def normalize(text: str) -> str:
    """SQuAD v1.1: lower-case, drop punctuation and articles, collapse spaces."""
    text = text.lower()
    text = "".join(character for character in text if character not in _PUNCTUATION)
    text = re.sub(r"\b(a|an|the)\b", " ", text)
    return " ".join(text.split())


_PUNCTUATION = set(string.punctuation) | set("‘’“”–—…")


def exact_match(prediction: str, gold: str) -> float:
    return float(normalize(prediction) == normalize(gold))


def f1(prediction: str, gold: str) -> float:
    predicted, expected = normalize(prediction).split(), normalize(gold).split()
    common = Counter(predicted) & Counter(expected)
    same = sum(common.values())
    if same == 0:
        return 0.0
    precision, recall = same / len(predicted), same / len(expected)
    return 2 * precision * recall / (precision + recall)


def answer_in_citation(answer: Answer, golds: tuple[str, ...]) -> bool:
    if answer.abstained:
        return False
    return any(contains_answer(text, golds) for text in [answer.answer, *(c.quote for c in answer.citations)])


def contains_answer(text: str, golds: Iterable[str]) -> bool:
    """A gold answer occurs in ``text`` as whole words, both SQuAD-normalised (also what ``tune`` labels by)."""
    padded = f" {normalize(text)} "
    return any(normalize(gold) and f" {normalize(gold)} " in padded for gold in golds)


def is_short(answer: Answer) -> bool:
    return len(answer.answer.split()) <= SHORT_ANSWER_WORDS


def score_outcome(outcome: Outcome, article_text: Callable[[str], str | None]) -> dict[str, Any]:
    """Per-question scores; ``article_text`` must read the article from its source, not from the index."""
    probe, answer = outcome.probe, outcome.answer
    verified = [is_verified(citation, article_text(citation.doc)) for citation in answer.citations]
    scores: dict[str, Any] = {"verified": verified, "abstained": answer.abstained}
    if probe.answerable:
        scores.update(_answer_scores(answer, probe.answers))
        if probe.evidence_docs:
            scores.update(_evidence_scores(answer, probe.evidence_docs))
        scores["correct"] = scores["answer_correct"]
    else:
        scores["correct"] = answer.abstained
    return scores


def _answer_scores(answer: Answer, golds: tuple[str, ...]) -> dict[str, Any]:
    """How the displayed answer fares against the gold; an abstention is simply not correct."""
    answered = not answer.abstained
    correct = answered and contains_answer(answer.answer, golds)
    return {
        "answer_correct": correct,
        "short": answered and is_short(answer),
        "wrong": answered and not correct,
        "em": max((exact_match(answer.answer, g) for g in golds), default=0.0) if answered else 0.0,
        "f1": max((f1(answer.answer, g) for g in golds), default=0.0) if answered else 0.0,
        "in_citation": answer_in_citation(answer, golds),
    }


def _evidence_scores(answer: Answer, evidence_docs: frozenset[str]) -> dict[str, Any]:
    docs = [passage.chunk.doc for passage in answer.passages]
    first = next((rank for rank, doc in enumerate(docs, start=1) if doc in evidence_docs), None)
    return {"first_relevant": first, "doc_ok": bool(answer.citations) and answer.citations[0].doc in evidence_docs}


def build_report(outcomes: list[Outcome]) -> dict[str, Any]:
    """The report object of DESIGN.md (plus ``by_type`` and per-question detail)."""
    answerable = [o for o in outcomes if o.probe.answerable]
    unanswerable = [o for o in outcomes if not o.probe.answerable]
    with_docs = [o for o in answerable if o.probe.evidence_docs]
    citations = [flag for o in outcomes for flag in o.scores["verified"]]
    return {
        "questions": len(outcomes),
        "answerable": len(answerable),
        "unanswerable": len(unanswerable),
        "retrieval": {
            **{f"hit@{k}": _mean([_hit(o, k) for o in with_docs]) for k in RANKS},
            "mrr@10": _mean([_reciprocal_rank(o) for o in with_docs]),
        },
        "answer": _answer_metrics(answerable),
        "citations": {
            "doc_accuracy": _mean([float(o.scores["doc_ok"]) for o in with_docs]),
            "quote_verified": _mean([float(flag) for flag in citations]),
        },
        "abstention": {
            "correct_abstain_rate": _mean([float(o.answer.abstained) for o in unanswerable]),
            "false_abstain_rate": _mean([float(o.answer.abstained) for o in answerable]),
        },
        "latency_ms": _latency(outcomes),
        "by_type": _by_type(outcomes),
        "per_question": [_row(o) for o in outcomes],
    }


def _answer_metrics(answerable: list[Outcome]) -> dict[str, float | None]:
    """The reader's view first (what the displayed answer says), then the SQuAD and quote-inclusive figures."""
    answered = [o for o in answerable if not o.answer.abstained]
    short = [o for o in answered if o.scores["short"]]
    return {
        "answer_correct": _mean([float(o.scores["answer_correct"]) for o in answerable]),
        "short_answer_rate": _mean([float(o.scores["short"]) for o in answered]),
        "short_answer_precision": _mean([float(o.scores["answer_correct"]) for o in short]),
        "wrong_answer_rate": _mean([float(o.scores["wrong"]) for o in answerable]),
        "exact_match": _mean([o.scores["em"] for o in answerable]),
        "f1": _mean([o.scores["f1"] for o in answerable]),
        "answer_in_citation": _mean([float(o.scores["in_citation"]) for o in answerable]),
    }


def _hit(outcome: Outcome, k: int) -> float:
    first = outcome.scores.get("first_relevant")
    return float(first is not None and first <= k)


def _reciprocal_rank(outcome: Outcome) -> float:
    first = outcome.scores.get("first_relevant")
    return 1.0 / first if first is not None and first <= 10 else 0.0


def _by_type(outcomes: list[Outcome]) -> dict[str, dict[str, Any]]:
    groups: dict[str, list[Outcome]] = {}
    for outcome in outcomes:
        groups.setdefault(outcome.probe.type, []).append(outcome)
    return {
        name: {"questions": len(group), "correct": _mean([float(o.scores["correct"]) for o in group])}
        for name, group in sorted(groups.items())
    }


def _row(outcome: Outcome) -> dict[str, Any]:
    return {
        "id": outcome.probe.id,
        "question": outcome.probe.question,
        "type": outcome.probe.type,
        "gold": list(outcome.probe.answers),
        "answer": outcome.answer.answer,
        "correct": bool(outcome.scores["correct"]),
        "in_citation": outcome.scores.get("in_citation"),
        "abstained": outcome.answer.abstained,
        "confidence": round(outcome.answer.confidence, 4),
        "cited_docs": [citation.doc for citation in outcome.answer.citations],
        "latency_ms": round(outcome.seconds * 1000, 1),
    }


def _mean(values: list[float]) -> float | None:
    return round(sum(values) / len(values), 4) if values else None


def _latency(outcomes: list[Outcome]) -> dict[str, float | None]:
    """p50 and p95 in ms, each an actual question's latency (nearest rank), ``None`` for an empty set."""
    measured = percentiles([o.seconds * 1000 for o in outcomes], (50, 95), method="nearest")
    if measured is None:
        return {"p50": None, "p95": None}
    p50, p95 = measured
    return {"p50": round(p50, 1), "p95": round(p95, 1)}


# ------------------------------------------------------------------------------ articles from disk
class SourceTexts:
    """Each cited article read from its own source file, once per doc for one eval run.

    Never the index's copy: checking a quote against the text it was cut from proves nothing, while the file is
    what a reader opens. A missing or unreadable file gives ``None``, so its citations count as unverified.
    ``sources`` maps each doc to its file and, for an e-mail's attachment, the e-mail's own doc.
    """

    def __init__(self, sources: Mapping[str, tuple[str, str | None]]) -> None:
        self._sources = sources
        self._texts: dict[str, str | None] = {}

    def text(self, doc: str) -> str | None:
        if doc not in self._texts:
            source, parent = self._sources.get(doc, ("", None))
            self._texts[doc] = read_source(Path(source), doc, parent) if source else None
        return self._texts[doc]


def read_source(path: Path, doc: str, parent: str | None = None) -> str | None:
    """The text a reader gets from ``path``: the file through ``open()``, or the text extracted from HTML, PDF,
    Word or e-mail (for an attachment, from the e-mail ``parent`` it came with)."""
    if parent is not None or path.suffix.lower() in HTML_SUFFIXES | DOCUMENT_SUFFIXES:
        articles, _ = load_articles(SourceFile(path, parent or doc))
        return next((article.text for article in articles if article.id == doc), None)
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except (OSError, UnicodeDecodeError):
        return None


def evaluate(service: Any, questions: Path, show_progress: bool = False, casual: bool = False) -> dict[str, Any]:
    """Run a question set through ``service`` (warm) and build the report.

    With ``casual``, every question is asked a second time as people type it (:func:`plain_casual`: lower
    case, no accents or punctuation), and the report's ``casual`` part gives the same figures for those forms
    beside the written ones, with the share of questions whose displayed answer did not change.
    """
    items = load_question_set(questions)
    report = _evaluated(service, items, show_progress)
    if casual:
        typed = _evaluated(service, [casual_form(item) for item in items], show_progress)
        same = [
            float(a["answer"] == b["answer"])
            for a, b in zip(report["per_question"], typed["per_question"], strict=True)
        ]
        report["casual"] = {key: typed[key] for key in ("retrieval", "answer", "abstention", "latency_ms")}
        report["casual"]["same_answer_rate"] = _mean(same)
    return report


def casual_form(item: dict[str, Any]) -> dict[str, Any]:
    """The same question-set item with every question typed casually."""
    if "turns" in item:
        return {**item, "turns": [{**turn, "user": plain_casual(str(turn["user"]))} for turn in item["turns"]]}
    return {**item, "question": plain_casual(str(item["question"]))}


def _evaluated(service: Any, items: list[dict[str, Any]], show_progress: bool) -> dict[str, Any]:
    service.warm_up()
    records = service.store.article_records().items()
    sources = SourceTexts({doc: (record.source, record.parent) for doc, record in records})
    bar = None
    if show_progress:
        from tqdm import tqdm

        bar = tqdm(total=sum(len(i.get("turns", [])) or 1 for i in items), desc="Evaluating", unit="q", file=sys.stderr)
    outcomes = []
    for outcome in run_probes(items, lambda question, history: service.ask(question, history=history)):
        outcome.scores = score_outcome(outcome, sources.text)
        outcomes.append(outcome)
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()
    report = build_report(outcomes)
    guard = llm_report(outcomes)
    if guard is not None:
        report["llm"] = guard
    return report


# ------------------------------------------------------------------------------------ LLM mode
def llm_report(outcomes: list[Outcome]) -> dict[str, Any] | None:
    """What LLM mode did: how often it fell back, and the share of generated sentences the guard dropped.

    ``None`` when every answer was extractive, so extractive reports keep exactly their keys. ``drop_rate``
    counts sentences (kept sentences of guarded answers plus every dropped one, fallbacks included).
    """
    answers = [o.answer for o in outcomes if o.answer.mode != "extractive"]
    if not answers:
        return None
    from assistant.llm.faithfulness import split_claims  # the guard's own sentence split, so counts agree

    guarded = [a for a in answers if a.mode.startswith("llm:")]
    dropped = sum(len(a.unsupported) for a in answers)
    kept = sum(len(split_claims(a.answer)) for a in guarded)
    reasons = Counter(a.mode.split("llm fallback:", 1)[1].strip(" )") for a in answers if "llm fallback:" in a.mode)
    return {
        "answers": len(answers),
        "guarded": len(guarded),
        "abstained": sum(a.abstained for a in guarded),
        "skipped_no_evidence": sum("llm skipped" in a.mode for a in answers),
        "guard_kept_sentences": kept,
        "guard_dropped_sentences": dropped,
        "drop_rate": round(dropped / (kept + dropped), 4) if kept + dropped else None,
        "fallbacks": sum(reasons.values()),
        "fallback_reasons": dict(sorted(reasons.items())),
    }


def format_metric(value: object) -> str:
    """How reports print a figure: three decimals, "n/a" for a metric over an empty subset."""
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)
