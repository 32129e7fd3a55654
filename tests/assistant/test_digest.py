"""Digests over a real index (real Chroma, the packaged embedder, the lexical index): verbatim quotes at their
offsets, near-duplicates merged by meaning, dated and ordered, on topic, bounded, and clear about empty windows.
The CLI runs as a real subprocess and the HTTP API under a real uvicorn server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from assistant.errors import QuestionError
from assistant.service import BriefingService, DigestRequest
from assistant.settings import Settings
from tests.assistant.test_api import serving
from tests.conftest import run_cli

ARTICLES = {
    "red1.txt": "date 2024-03-06\nHouthi attack in the Red Sea\n"
    "Houthi rebels fired two missiles at a Greek-owned cargo ship in the Red Sea on Tuesday, the US military said.\n"
    "The ship, carrying grain to Iran, was damaged but its crew of twenty was unharmed.\n"
    "Shipping companies have rerouted vessels around the Cape of Good Hope since December.\n",
    "red2.txt": "date 2024-03-07\nCargo ship hit off Yemen\n"
    "The US military said Houthi rebels fired two missiles at a Greek-owned cargo ship in the Red Sea on Tuesday.\n"
    "Insurers raised premiums for vessels crossing the Bab el-Mandeb strait again this week.\n"
    "The rebels say they target ships linked to Israel.\n",
    "library.txt": "date 2024-03-05\nCouncil backs library budget\n"
    "The city council approved a new budget for public libraries on Monday evening after a long debate.\n"
    "Opening hours will be extended at six branches starting in April, the mayor's office announced.\n"
    "The budget also funds a mobile library that will visit rural schools twice a month.\n",
    "old.txt": "date 2024-02-20\nPort strike ends\n"
    "Dock workers at the country's largest port ended a two-week strike on Tuesday after a pay deal was reached.\n"
    "The union said members would return to work on Wednesday morning.\n",
    "undated.txt": "Notes without a date\n"
    "This briefing carries no date line, so no digest window can ever include it in a timeline.\n",
}
MERGED_FACT = "fired two missiles at a Greek-owned cargo ship"


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("digest-corpus")
    for name, text in ARTICLES.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def digest_settings(tmp_path_factory: pytest.TempPathFactory, model_cache: Path, corpus: Path) -> Settings:
    settings = Settings(index=tmp_path_factory.mktemp("digest") / "index", model_cache=model_cache)
    BriefingService(settings).ingest([corpus])
    return settings


@pytest.fixture(scope="module")
def service(digest_settings: Settings) -> BriefingService:
    return BriefingService(digest_settings)


def _check_quotes(body: dict[str, object], corpus: Path) -> None:
    items = body["items"]
    assert isinstance(items, list)
    for item in items:
        assert item["text"] == item["citations"][0]["quote"]
        for citation in item["citations"]:
            text = (corpus / citation["doc"]).read_text(encoding="utf-8")  # the file itself, not the index's copy
            assert text[citation["start"] : citation["end"]] == citation["quote"]


def test_default_digest_is_the_newest_week_verbatim_merged_and_dated(service: BriefingService, corpus: Path) -> None:
    digest = service.digest(DigestRequest())
    assert (digest.since, digest.until) == ("2024-03-01", "2024-03-07")
    assert digest.briefings_in_window == 3  # the undated and the February briefing are outside
    _check_quotes(digest.to_dict(), corpus)
    merged = [item for item in digest.items if MERGED_FACT in item.text]
    assert len(merged) == 1, "the same fact from two briefings is one item"
    assert {citation.doc for citation in merged[0].citations} == {"red1.txt", "red2.txt"}
    assert merged[0].briefings == 2
    assert all(digest.since <= (item.date or "") <= digest.until for item in digest.items)
    assert [item.date for item in digest.items] == sorted(item.date or "" for item in digest.items)
    assert [day for day, _ in digest.days()] == sorted({item.date or "" for item in digest.items})
    assert not any(item.text.startswith(("Houthi attack in the Red Sea", "Council backs")) for item in digest.items)


def test_topic_digest_keeps_to_the_topic(service: BriefingService) -> None:
    digest = service.digest(DigestRequest("library budget", "2024-03-01", "2024-03-07"))
    assert digest.items
    assert {citation.doc for item in digest.items for citation in item.citations} == {"library.txt"}
    red_sea = service.digest(DigestRequest("Houthi missile attacks on ships", "March 1", "2024-03-07"))
    assert red_sea.items and all(item.citations[0].doc.startswith("red") for item in red_sea.items)


def test_limit_bounds_the_digest_and_more_says_there_is_more(service: BriefingService) -> None:
    short = service.digest(DigestRequest("", "2024-03-01", "2024-03-07", limit=1))
    assert len(short.items) == 1 and short.more
    longer = service.digest(DigestRequest("", "2024-03-01", "2024-03-07", limit=20))
    assert len(longer.items) > 1 and not longer.more
    with pytest.raises(QuestionError, match="limit must be between 1 and 100"):
        service.digest(DigestRequest(limit=0))


def test_a_window_without_briefings_is_a_clear_empty_digest(service: BriefingService) -> None:
    digest = service.digest(DigestRequest("", "2025-01-01", "2025-01-07"))
    assert digest.items == () and digest.briefings_in_window == 0 and not digest.more
    assert digest.note == (
        "No briefings are dated 2025-01-01 to 2025-01-07 (the briefings run from 2024-02-20 to 2024-03-07)."
    )
    off_topic = service.digest(DigestRequest("volcanic eruption in Iceland", "2024-03-01", "2024-03-07"))
    assert off_topic.items == () and "is about 'volcanic eruption in Iceland'" in off_topic.note


def test_only_the_windows_briefings_are_cited(service: BriefingService) -> None:
    digest = service.digest(DigestRequest("", "2024-02-14", "2024-02-20"))
    assert digest.items and {citation.doc for item in digest.items for citation in item.citations} == {"old.txt"}


def test_cli_digest_prints_a_timeline_or_json_and_bad_input_as_one_line(digest_settings: Settings) -> None:
    index = str(digest_settings.index)
    shown = run_cli("digest", "--index", index, "--since", "2024-03-01", "--until", "2024-03-07")
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.startswith("Digest, 2024-03-01 to 2024-03-07 (3 briefings)")
    assert "2024-03-06\n  • Houthi rebels fired" in shown.stdout and "2 briefings: " in shown.stdout
    as_json = run_cli("digest", "Red Sea", "--index", index, "--json", "--limit", "2")
    assert as_json.returncode == 0, as_json.stderr
    body = json.loads(as_json.stdout)
    assert body["topic"] == "Red Sea" and len(body["items"]) <= 2
    for since, until, message in [
        ("someday", "2024-03-07", "error: --since must be a date"),
        ("2024-03-07", "2024-03-01", "error: --since 2024-03-07 is after --until 2024-03-01: swap them"),
    ]:
        bad = run_cli("digest", "--index", index, "--since", since, "--until", until)
        assert bad.returncode == 1 and bad.stderr.startswith(message) and "Traceback" not in bad.stderr
        assert bad.stderr.count("\n") == 1
    empty = run_cli("digest", "--index", index, "--since", "2025-01-01", "--until", "2025-01-07")
    assert empty.returncode == 0 and "No briefings are dated 2025-01-01 to 2025-01-07" in empty.stdout


@pytest.fixture(scope="module")
def base_url(service: BriefingService) -> Iterator[str]:
    with serving(service) as url:
        yield url


def test_http_digest_returns_the_design_object(base_url: str, corpus: Path) -> None:
    with httpx.Client(base_url=base_url, timeout=60) as client:
        answered = client.post("/api/digest", json={"topic": "", "since": "2024-03-01", "until": "2024-03-07"})
        assert answered.status_code == 200
        body = answered.json()
        assert {"topic", "since", "until", "items", "briefings_in_window", "more"} <= set(body)
        assert body["briefings_in_window"] == 3 and body["items"]
        for item in body["items"]:
            assert {"date", "text", "citations"} <= set(item)
            assert {"doc", "date", "start", "end", "quote"} <= set(item["citations"][0])
        _check_quotes(body, corpus)
        wrong = client.post("/api/digest", json={"since": "2024-03-07", "until": "2024-03-01"})
        assert wrong.status_code == 422 and "swap them" in wrong.text
        unreadable = client.post("/api/digest", json={"since": "whenever"})
        assert unreadable.status_code == 422 and "must be a date" in unreadable.text
        empty = client.post("/api/digest", json={"since": "2025-01-01", "until": "2025-01-07"})
        assert empty.status_code == 200 and empty.json()["items"] == [] and empty.json()["note"]
        assert "/api/digest" in client.get("/openapi.json").json()["paths"]


def test_eval_scores_a_digest_set_beside_the_lead_baseline(digest_settings: Settings, tmp_path: Path) -> None:
    digests = tmp_path / "digests.jsonl"
    lines = [
        {"id": "week-1", "digest": {"topic": "", "since": "2024-03-01", "until": "2024-03-07"},
         "facts": [["two missiles"], ["public libraries"], ["a volcano erupted"]]},
        {"id": "topic-1", "digest": {"topic": "rural schools mobile library", "since": "2024-03-01",
         "until": "2024-03-07"}, "facts": [["mobile library"]]},
    ]  # fmt: skip
    digests.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    out, markdown = tmp_path / "digests.json", tmp_path / "digests.md"
    ran = run_cli(
        "eval", str(digests), "--index", str(digest_settings.index), "--json", str(out), "--report", str(markdown)
    )
    assert ran.returncode == 0, ran.stderr
    report = json.loads(out.read_text(encoding="utf-8"))
    keys = {"fact_recall@10", "fact_recall@20", "redundancy", "window_precision", "quote_verified", "latency_ms"}
    assert keys <= set(report["digest"]) and set(report["digest"]["latency_ms"]) == {"p50", "p95"}
    assert report["digest"]["quote_verified"] == 1.0 and report["digest"]["window_precision"] == 1.0
    assert report["by_kind"]["week"]["fact_recall@20"] == pytest.approx(2 / 3, abs=1e-4)  # no volcano in the briefings
    assert report["by_kind"]["topic"]["fact_recall@10"] == 1.0
    assert set(report["lead"]) == {"fact_recall@10", "fact_recall@20"}
    assert "recall@10" in ran.stdout and "lead@10" in ran.stdout
    assert "| target | measured | met |" in markdown.read_text(encoding="utf-8")


def test_chat_routes_catch_me_up_to_a_timeline_and_follows_up_on_it(service: BriefingService) -> None:
    from assistant.adapters.ui import ChatAdapter
    from tests.assistant.test_ui_state import chat_turn

    adapter = ChatAdapter(service)
    session: dict[str, object] = {"messages": [], "transcript": [], "answers": {}}
    chat_turn(adapter, "What's new on the Red Sea this week?", session)
    shown = session["messages"][-1]["content"]  # type: ignore[index]
    assert shown.startswith("**Digest on Red Sea, 2024-03-01 to 2024-03-07 ")
    assert "**2024-03-06**" in shown and "1. Houthi rebels fired two missiles" in shown and "(2 briefings)" in shown
    answer = list(session["answers"].values())[-1]  # type: ignore[attr-defined]
    assert answer.mode == "digest" and [c.id for c in answer.citations] == list(range(1, len(answer.citations) + 1))
    sources = str(session["sources"])
    assert all(f'data-doc="{citation.doc}"' in sources for citation in answer.citations)  # each opens its article
    assert session["transcript"][-1]["content"].splitlines()[0].startswith("Digest on Red Sea")  # type: ignore[index]

    chat_turn(adapter, "tell me more about the first one", session)
    more = session["messages"][-1]["content"]  # type: ignore[index]
    assert more.startswith("**Digest on Houthi rebels fired two missiles")
    assert "2024-03-01 to 2024-03-07" in more

    chat_turn(adapter, "Which ship did the Houthi rebels attack?", session)
    assert list(session["answers"].values())[-1].mode != "digest"  # type: ignore[attr-defined]


def test_chat_digest_with_a_malformed_date_box_hands_the_message_back(service: BriefingService) -> None:
    from assistant.adapters.ui import ChatAdapter

    turns = list(ChatAdapter(service).answer_turn("what's new?", [], [], {}, "someday", None))
    question_box, messages, transcript, answers, _ = turns[-1]
    assert (question_box, messages, transcript, answers) == ("what's new?", [], [], {})
