"""A refusal shows the closest sentences found, labelled as not an answer, in every adapter; an answer never does."""

from __future__ import annotations

import json

import pytest

from assistant.adapters.console import print_answer
from assistant.adapters.slack.blocks import MAX_SECTION_TEXT, answer_messages
from assistant.adapters.ui import answer_markdown
from assistant.types import Answer, Citation
from tests.conftest import made_answer

REFUSAL = "The briefings don't say."
NEAR = "Putin and Biden spoke by phone for 50 minutes on Saturday."
CLOSE = Citation(1, "call_0220.txt", "Leaders hold a call", "2022-02-20", 40, 40 + len(NEAR), 0.42, NEAR)
LABEL = "Closest I found"


def refusal(closest: tuple[Citation, ...] = (CLOSE,)) -> Answer:
    return made_answer("Who proposed the summit?", REFUSAL, abstained=True, closest=closest)


def answered(closest: tuple[Citation, ...] = ()) -> Answer:
    return made_answer("How long was the call?", "50 minutes", (CLOSE,), closest=closest)


def long_citation(quote: str, title: str = "", date: str | None = None) -> Citation:
    return Citation(2, "long_0101.txt", title, date, 0, len(quote), 0.3, quote)


def test_console_shows_the_closest_quote_with_title_and_date_under_the_refusal(
    capsys: pytest.CaptureFixture[str],
) -> None:
    print_answer(refusal())
    out = capsys.readouterr().out
    assert out.startswith(f"{REFUSAL}\n\n{LABEL}:\n")
    assert f"> {NEAR} — Leaders hold a call (2022-02-20)" in " ".join(out.split())


def test_console_shortens_a_long_quote_and_names_the_doc_when_there_is_no_title(
    capsys: pytest.CaptureFixture[str],
) -> None:
    print_answer(refusal((long_citation("word " * 200),)))
    flat = " ".join(capsys.readouterr().out.split())
    quoted = flat.split("> ", 1)[1]
    assert quoted.endswith("word… — long_0101.txt") and len(quoted) < 300


def test_console_shows_nothing_close_for_an_answer_or_an_empty_closest(capsys: pytest.CaptureFixture[str]) -> None:
    print_answer(refusal(()))
    print_answer(answered())
    print_answer(answered((CLOSE,)))  # only a refusal has something to fall short of
    assert LABEL not in capsys.readouterr().out


def test_ui_markdown_quotes_the_closest_sentence_and_says_it_is_not_an_answer() -> None:
    shown = answer_markdown(refusal())
    assert shown.startswith(f"{REFUSAL}\n\n**Closest I found:** *(not an answer")
    assert f"> {NEAR} — *Leaders hold a call* (2022-02-20)\n\n" in shown
    assert shown.endswith("under *Nearest passages* for you to check.")


def test_ui_markdown_escapes_and_shortens_closest_quotes() -> None:
    shown = answer_markdown(refusal((long_citation("*50* <b>minutes</b> " + "word " * 100, "R&D [call]"),)))
    assert "> \\*50\\* &lt;b&gt;minutes&lt;/b&gt; word" in shown
    (quote,) = [line for line in shown.split("\n") if line.startswith("> ")]
    assert quote.endswith("word… — *R&amp;D \\[call\\]*") and len(quote) < 320


def test_ui_markdown_shows_nothing_close_for_an_answer_or_an_empty_closest() -> None:
    for answer in (refusal(()), answered(), answered((CLOSE,))):
        assert LABEL not in answer_markdown(answer)


def test_slack_puts_the_closest_quote_under_the_refusal() -> None:
    (message,) = answer_messages(refusal(), "feedbackid")
    texts = [block["text"]["text"] for block in message["blocks"] if block["type"] == "section"]
    assert texts[0] == REFUSAL
    assert texts[1].startswith(f"*{LABEL}:* _(not an answer")
    assert texts[2] == f"> {NEAR} — Leaders hold a call (2022-02-20)"


def test_slack_escapes_and_cuts_a_closest_quote_to_fit() -> None:
    quote = "R&D <budget> " + "&" * 5000
    (message,) = answer_messages(refusal((long_citation(quote, "T" * 500, "2022-02-20"),)))
    (shown,) = [b["text"]["text"] for b in message["blocks"] if b["text"]["text"].startswith("> R&amp;D &lt;budget")]
    assert "…" in shown and shown.endswith(" (2022-02-20)") and len(shown) <= MAX_SECTION_TEXT


def test_slack_shows_nothing_close_for_an_answer_or_an_empty_closest() -> None:
    for answer in (refusal(()), answered(), answered((CLOSE,))):
        (message,) = answer_messages(answer, "feedbackid")
        assert not any(LABEL in json.dumps(block) for block in message["blocks"])
