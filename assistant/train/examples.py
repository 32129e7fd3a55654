"""Training pairs for the reader: (question, sentence), whether the sentence answers, and where the answer is.

Two sources, neither of them a set the project reports figures on:

* **the news quiz of 2022–2023** (human-written questions, each with its evidence paragraph and answer): the
  sentence holding the answer is a positive, the paragraph's other sentences are "topic present, answer
  absent" negatives, and each question is also asked casually;
* **questions generated from the news articles' own sentences** (:mod:`assistant.train.questions`), only
  from searched articles (``gcs_*``): the ``ev_*`` files are the evidence of the news questions, whose held-out
  half measures the project, so no question is ever made from them.

Hard negatives come from the same article (the hardest kind: same topic, no answer) and from the sentences of
other articles that share the most terms with the question (what BM25 would retrieve). A sentence that
contains the answer string is never a negative. Every choice comes from one seeded ``random.Random``, so a
rebuild makes the same pairs.
"""

from __future__ import annotations

import json
import random
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

from assistant.text.casual import plain_casual, terse
from assistant.text.sentences import sentence_spans
from assistant.text.tokens import terms
from assistant.train.erasure import erased
from assistant.train.questions import all_questions, follow_up_form, questions_for

MIN_SENTENCE_WORDS = 6
MAX_SENTENCE_CHARS = 400
COMMON_TERM_POSTINGS = 1500  # terms in more sentences than this say nothing about a neighbour
FOLLOW_UP_SHARE = 0.15  # generated questions asked in the form the answer step reads a follow-up in


@dataclass(frozen=True)
class Pair:
    """One training example; ``answer_start``/``answer_end`` are offsets into ``sentence`` (-1 when none)."""

    question: str
    sentence: str
    answer_start: int
    answer_end: int
    source: str

    @property
    def answers(self) -> bool:
        return self.answer_start >= 0


@dataclass(frozen=True)
class Sentence:
    doc: str
    text: str


class SentencePool:
    """Sentences of many articles with a term index, for lexical-neighbour negatives."""

    def __init__(self, sentences: list[Sentence]) -> None:
        self.sentences = sentences
        postings: dict[str, list[int]] = defaultdict(list)
        for number, sentence in enumerate(sentences):
            for term in set(terms(sentence.text)):
                postings[term].append(number)
        self._postings = {term: ids for term, ids in postings.items() if len(ids) <= COMMON_TERM_POSTINGS}

    def neighbours(self, question: str, exclude_doc: str, answer: str, count: int) -> list[str]:
        """Sentences of other articles sharing the most question terms, none containing ``answer``."""
        shared: dict[int, int] = defaultdict(int)
        for term in set(terms(question)):
            for number in self._postings.get(term, ()):
                shared[number] += 1
        ranked = sorted(shared, key=lambda number: (-shared[number], number))
        found: list[str] = []
        for number in ranked:
            sentence = self.sentences[number]
            if sentence.doc != exclude_doc and not contains(sentence.text, answer):
                found.append(sentence.text)
                if len(found) == count:
                    break
        return found


def contains(sentence: str, answer: str) -> bool:
    return plain_casual(answer) in plain_casual(sentence)


def article_sentences(path: Path) -> list[str]:
    """Body sentences of an article file: the date marker and over-long lines left out."""
    text = path.read_text(encoding="utf-8")
    sentences = [text[s.start : s.end] for s in sentence_spans(text)]
    return [
        s
        for s in sentences
        if not s.startswith("date ") and len(s.split()) >= MIN_SENTENCE_WORDS and len(s) <= MAX_SENTENCE_CHARS
    ]


def load_articles(folder: Path, limit: int, rng: random.Random) -> dict[str, list[str]]:
    """Up to ``limit`` searched articles (``gcs_*`` only), sorted then sampled, so the choice is reproducible."""
    paths = sorted(folder.glob("gcs_*.txt"))
    rng.shuffle(paths)
    return {path.name: article_sentences(path) for path in paths[:limit]}


def generated_pairs(
    articles: dict[str, list[str]],
    pool: SentencePool,
    nlp: object,
    rng: random.Random,
    per_article: int,
    wh_movement: bool = False,
    erase: bool = False,
    follow_ups: bool = False,
) -> Iterator[Pair]:
    """Questions from up to ``per_article`` sentences of each article, each with its hard negatives; with
    ``wh_movement`` also the clause questions and absent-slot refusals of :mod:`assistant.train.frames`, with
    ``erase`` also each answering sentence with its answer taken out (:mod:`assistant.train.erasure`), with
    ``follow_ups`` some questions in the follow-up form the answer step reads ("when — putin macron call")."""
    ask = all_questions if wh_movement else questions_for
    picked: list[tuple[str, str]] = []
    for doc, sentences in articles.items():
        for sentence in rng.sample(sentences[:20], min(per_article, len(sentences[:20]))):
            picked.append((doc, sentence))
    parsed = nlp.pipe([sentence for _, sentence in picked], batch_size=256)  # type: ignore[attr-defined]
    names: dict[str, list[str]] = defaultdict(list)  # entities met so far, by label: stand-ins for swapping
    for (doc, sentence), spacy_doc in zip(picked, parsed, strict=True):
        entities = [(e.label_, e.text) for e in spacy_doc.ents]
        labels = {(e.start_char, e.end_char): e.label_ for e in spacy_doc.ents}  # the doc is the sentence
        for generated in ask(spacy_doc[:], rng):
            if generated.answer_start < 0:  # asks for what the sentence does not say: topic present, answer absent
                yield Pair(generated.question, sentence, -1, -1, "generated-absent")
                continue
            answer = sentence[generated.answer_start : generated.answer_end]
            question, form = generated.question, generated.form
            if follow_ups and rng.random() < FOLLOW_UP_SHARE and (elliptic := follow_up_form(question)):
                question, form = elliptic, form + "-follow-up"
            yield Pair(question, sentence, generated.answer_start, generated.answer_end, form)
            yield from _negatives(question, answer, doc, articles[doc], pool, rng, "generated")
            if erase:
                span = (generated.answer_start, generated.answer_end)
                yield from _erased_twin(question, sentence, *span, labels.get(span), "generated-erased")
            swapped = _swapped(generated.question, answer, entities, names, " ".join(articles[doc]), rng)
            if swapped is not None:
                yield Pair(swapped, sentence, -1, -1, "generated-swap")
        for label, text in entities:
            names[label].append(text)


def _swapped(
    question: str,
    answer: str,
    entities: list[tuple[str, str]],
    names: dict[str, list[str]],
    article: str,
    rng: random.Random,
) -> str | None:
    """The question about another name of the same kind, which the article never mentions: "How long was the
    call between Merkel and Putin?" asked of a sentence about Macron's call. The topic is present, the
    answer absent: the negative that word overlap cannot tell apart, and the reader must."""
    lowered = question.lower()
    asked = [(label, text) for label, text in entities if text != answer and text.lower() in lowered]
    if not asked:
        return None
    label, text = rng.choice(asked)
    others = [name for name in names.get(label, ()) if name.lower() not in article.lower()]
    if not others:
        return None
    other = rng.choice(others[-200:])
    begin = lowered.index(text.lower())
    replacement = other.lower() if question[begin : begin + len(text)].islower() else other
    return question[:begin] + replacement + question[begin + len(text) :]


def quiz_pairs(
    path: Path, pool: SentencePool, rng: random.Random, limit: int | None = None, erase: bool = False
) -> Iterator[Pair]:
    """Each quiz question as written and typed casually, its evidence sentence, and its negatives (with
    ``erase``, also the evidence sentence with its answer taken out, where a preposition lets it go cleanly)."""
    for line in path.read_text(encoding="utf-8").splitlines()[:limit]:
        item = json.loads(line)
        answer = item["answers"][0]
        paragraph = item["evidence_text"]
        sentences = [paragraph[s.start : s.end] for s in sentence_spans(paragraph)]
        casual = plain_casual(item["question"]) if rng.random() < 0.5 else terse(item["question"], rng)
        for question in (item["question"], casual):
            for sentence in sentences:
                start = _find(sentence, answer)
                if start >= 0:
                    yield Pair(question, sentence, start, start + len(answer), "quiz")
                    if erase:
                        yield from _erased_twin(question, sentence, start, start + len(answer), None, "quiz-erased")
                elif question is item["question"]:
                    yield Pair(question, sentence, -1, -1, "quiz-paragraph")
            for negative in pool.neighbours(question, "", answer, 2 if question is casual else 1):
                yield Pair(question, negative, -1, -1, "quiz-neighbour")


def _negatives(
    question: str, answer: str, doc: str, sentences: list[str], pool: SentencePool, rng: random.Random, source: str
) -> Iterator[Pair]:
    """Two same-article sentences (most shared terms first) and one lexical neighbour, none with the answer."""
    asked = set(terms(question))
    same = [s for s in sentences if not contains(s, answer)]
    same.sort(key=lambda s: (-len(asked & set(terms(s))), rng.random()))
    for sentence in same[:2]:
        yield Pair(question, sentence, -1, -1, f"{source}-article")
    for sentence in pool.neighbours(question, doc, answer, 1):
        yield Pair(question, sentence, -1, -1, f"{source}-neighbour")


def _erased_twin(question: str, sentence: str, start: int, end: int, label: str | None, source: str) -> Iterator[Pair]:
    """The answering sentence with its answer taken out, as a negative, when a clean one can be made."""
    twin = erased(sentence, start, end, label)
    if twin is not None and not contains(twin, sentence[start:end]):
        yield Pair(question, twin, -1, -1, source)


def _find(sentence: str, answer: str) -> int:
    """Where ``answer`` occurs in ``sentence``, case-insensitively; -1 when it does not."""
    return sentence.lower().find(answer.lower())


def write_pairs(pairs: Iterable[Pair], path: Path) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    with path.open("w", encoding="utf-8") as out:
        for pair in pairs:
            out.write(json.dumps(asdict(pair), ensure_ascii=False) + "\n")
            count += 1
    return count


def read_pairs(path: Path) -> list[Pair]:
    return [Pair(**json.loads(line)) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
