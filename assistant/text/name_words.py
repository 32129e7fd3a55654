"""Which lower-case words are names: "biden" in "what did biden say to macron".

A written question marks its names with capitals, and a name no briefing uses is refused at once
(:mod:`assistant.answer.support`). People typing casually drop the capitals, so the same check needs to know
which words are names without them. English news writes a name capitalised wherever it stands in a sentence,
and a common word only where it opens one; so a word that news text capitalises in mid-sentence almost every
time it is used is a name, whatever case a question types it in.

The list ships in the package (``name_words.txt.gz``, one folded lower-case word a line), counted from news
articles that are not the project's question evidence and the news quiz's evidence paragraphs by
``make name-words``, which writes the same file from the same sources every time. Words capitalised for the
calendar (months, weekdays and their abbreviations), numbers, units and stop words are left out: "feb" and
"min" say nothing about what a corpus covers.
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from functools import lru_cache
from pathlib import Path

from assistant.errors import BriefingsError
from assistant.text.sentences import sentence_spans
from assistant.text.tokens import STOPWORDS, fold

SHIPPED = Path(__file__).with_name("name_words.txt.gz")
REBUILD = "make name-words"
MIN_USES = 5  # a word seen a few times capitalised could be a headline's or a list's quirk
MIN_CAPITALISED_SHARE = 0.95  # of its mid-sentence uses: "Trump" qualifies, "House" ("the house") does not
MIN_LENGTH = 3
_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)  # hyphens and apostrophes split: "Prize-winning", "Biden's"
# Capitalised for the calendar or in lists and headings, or typed as short forms of common words ("how many
# min"): none of them names something a briefing must mention.
NOT_NAMES = frozenset(
    """
    monday tuesday wednesday thursday friday saturday sunday mon tue tues wed thu thur thurs fri sat sun
    january february march april may june july august september october november december
    jan feb mar apr jun jul aug sep sept oct nov dec
    min mins sec secs hr hrs yr yrs km kg lb lbs mph pct approx
    one two three four five six seven eight nine ten eleven twelve twenty thirty forty fifty sixty seventy
    eighty ninety hundred thousand million billion trillion
    furthermore moreover however meanwhile additionally also then still
    """.split()
)


class NameWordsMissing(BriefingsError):
    """The shipped name-word list is missing or unreadable."""


def is_name_word(word: str) -> bool:
    """Does news text write ``word`` capitalised mid-sentence nearly always (a name, typed in any case)?"""
    return fold(word).lower() in shipped_words()


@lru_cache(maxsize=1)
def shipped_words() -> frozenset[str]:
    """The shipped list, read once; unreadable is a one-line error naming the command that rebuilds it."""
    try:
        with gzip.open(SHIPPED, "rt", encoding="utf-8") as handle:
            return frozenset(line.strip() for line in handle if line.strip())
    except (OSError, EOFError, UnicodeDecodeError) as error:
        problem = f"The name-word list {SHIPPED} cannot be read ({error}); rebuild it with `{REBUILD}`"
        raise NameWordsMissing(problem) from error


def count_capitals(texts: Iterable[str]) -> tuple[Counter[str], Counter[str]]:
    """How often each word is used mid-sentence, and how often capitalised there (folded, lower-case keys)."""
    uses: Counter[str] = Counter()
    capitalised: Counter[str] = Counter()
    for text in texts:
        for span in sentence_spans(text):
            words = _WORD.findall(text[span.start : span.end])
            for word in words[1:]:  # the first word of a sentence is capitalised for grammar
                key = fold(word).lower()
                uses[key] += 1
                if word[0].isupper():
                    capitalised[key] += 1
    return uses, capitalised


def name_words(texts: Iterable[str]) -> list[str]:
    """The words the texts capitalise in mid-sentence at least ``MIN_CAPITALISED_SHARE`` of the time, sorted."""
    uses, capitalised = count_capitals(texts)
    return sorted(
        word
        for word, count in uses.items()
        if count >= MIN_USES
        and len(word) >= MIN_LENGTH
        and capitalised[word] / count >= MIN_CAPITALISED_SHARE
        and word not in NOT_NAMES
        and word not in STOPWORDS
    )


def source_texts(news: Path, quiz: Path | None) -> Iterator[str]:
    """The news articles that are not question evidence (``gcs_*``; ``ev_*`` hold the questions' answers),
    then the quiz's evidence paragraphs, in a fixed order."""
    for path in sorted(news.glob("gcs_*.txt")):
        yield path.read_text(encoding="utf-8", errors="replace")
    if quiz is not None:
        with quiz.open(encoding="utf-8") as handle:
            for line in handle:
                if line.strip():
                    yield str(json.loads(line).get("evidence_text") or "")


def write(words: list[str], out: Path) -> None:
    """The list, gzipped without a timestamp, so the same sources give the same bytes."""
    with out.open("wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="") as handle:
        handle.write("".join(f"{word}\n" for word in words).encode("utf-8"))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Rebuild the shipped list of words news writes as names.")
    parser.add_argument("--news", type=Path, required=True, help="folder of news articles (*.txt)")
    parser.add_argument("--quiz", type=Path, default=None, help="news-quiz questions.jsonl (evidence paragraphs)")
    parser.add_argument("--out", type=Path, default=SHIPPED)
    args = parser.parse_args(argv)
    if not args.news.is_dir():
        parser.error(f"{args.news} is not a folder of news articles")
    words = name_words(source_texts(args.news, args.quiz))
    write(words, args.out)
    print(f"{len(words)} name words written to {args.out}")


if __name__ == "__main__":
    main()
