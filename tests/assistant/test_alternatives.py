"""Disagreeing briefings: the answer object carries the alternatives and every adapter shows them."""

from __future__ import annotations

import json

import pytest

from assistant.adapters.console import print_answer
from assistant.adapters.http import server_sent_events
from assistant.adapters.slack.blocks import answer_messages
from assistant.adapters.ui import answer_markdown
from assistant.service import StreamEvent
from assistant.types import Alternative, Answer, Citation, alternative_label, alternatives_line
from tests.conftest import made_answer

NEWER = "The toll rose to 40 people, officials said on Wednesday."
OLDER = "At least 35 people died, officials said on Monday."
CITATIONS = (
    Citation(1, "flood_0103.txt", "Flood toll rises", "2024-01-03", 120, 120 + len(NEWER), 0.91, NEWER),
    Citation(2, "flood_0101.txt", "Floods hit the valley", "2024-01-01", 80, 80 + len(OLDER), 0.84, OLDER),
)
ALTERNATIVE = Alternative("35 people", 2, "2024-01-01")


def disputed(alternatives: tuple[Alternative, ...] = (ALTERNATIVE,)) -> Answer:
    return made_answer("How many people died in the floods?", "40 people", CITATIONS, alternatives=alternatives)


def test_alternatives_are_in_the_answer_object_only_when_briefings_disagree() -> None:
    body = disputed().to_dict()
    assert body["alternatives"] == [{"answer": "35 people", "citation": 2, "date": "2024-01-01"}]
    assert {citation["id"] for citation in body["citations"]} >= {a["citation"] for a in body["alternatives"]}
    assert "alternatives" not in disputed(()).to_dict()


def test_one_line_text_names_value_date_and_citation() -> None:
    assert alternative_label(ALTERNATIVE) == "35 people (2024-01-01) [2]"
    assert alternative_label(Alternative("35 people", 2, None)) == "35 people [2]"
    two = (ALTERNATIVE, Alternative("about 30", 3, "2023-12-31"))
    assert alternatives_line(two) == "Other briefings say: 35 people (2024-01-01) [2]; about 30 (2023-12-31) [3]"
    assert alternatives_line(()) == ""


def test_console_shows_the_alternative_under_the_answer(capsys: pytest.CaptureFixture[str]) -> None:
    print_answer(disputed())
    lines = capsys.readouterr().out.splitlines()
    assert lines[:2] == ["40 people", "Other briefings say: 35 people (2024-01-01) [2]"]
    print_answer(disputed(()))
    assert "Other briefings say" not in capsys.readouterr().out


def test_ui_markdown_lists_the_alternative_and_numbers_the_answer_by_its_own_source() -> None:
    shown = answer_markdown(disputed())
    first, rest = shown.split("\n\n", 1)
    assert first == "40 people [1]"  # [2] contradicts the answer, so it stands beside the alternative instead
    assert "**Other briefings say:**\n\n- 35 people (2024-01-01) [2]" in rest
    assert "*Floods hit the valley*" in rest  # both articles are still listed as sources
    plain = answer_markdown(disputed(()))
    assert plain.startswith("40 people [1] [2]\n\n") and "Other briefings say" not in plain


def test_ui_markdown_escapes_the_alternative_text() -> None:
    shown = answer_markdown(disputed((Alternative("*35* <b>people</b>", 2, "2024-01-01"),)))
    assert "- \\*35\\* &lt;b&gt;people&lt;/b&gt; (2024-01-01) [2]" in shown


def test_slack_puts_a_context_line_under_the_answer() -> None:
    (message,) = answer_messages(disputed(), "feedbackid")
    blocks = message["blocks"]
    assert blocks[0]["text"]["text"] == "40 people [1]"
    assert blocks[1]["type"] == "context"
    texts = [element["text"] for element in blocks[1]["elements"]]
    assert texts == ["*Other briefings say:*", "35 people (2024-01-01) [2]"]
    (plain,) = answer_messages(disputed(()), "feedbackid")
    assert not any("Other briefings say" in json.dumps(block) for block in plain["blocks"])


def test_slack_escapes_and_shortens_an_alternative_but_keeps_its_date_and_number() -> None:
    long_value = "R&D <budget> " + "word " * 600
    (message,) = answer_messages(disputed((Alternative(long_value, 2, "2024-01-01"),)))
    (shown,) = [e["text"] for e in message["blocks"][1]["elements"] if e["text"].startswith("R&amp;D &lt;budget&gt;")]
    assert shown.endswith("… (2024-01-01) [2]") and len(shown) < 400


def test_streamed_answer_event_carries_the_alternatives() -> None:
    frames = list(server_sent_events(iter([StreamEvent("answer", answer=disputed())])))
    (frame,) = [frame for frame in frames if frame.startswith("event: answer\n")]
    body = json.loads(frame.split("data: ", 1)[1])
    assert body["alternatives"] == [{"answer": "35 people", "citation": 2, "date": "2024-01-01"}]
