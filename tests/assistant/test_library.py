"""The library of briefings: listed and removed from the command line and over HTTP, against a real index.

What a removal must guarantee: the article is never cited again (by this process, and by a server running on
the same index), nothing else is touched (the other articles answer as before), an unknown id removes nothing,
and the same file can come back by ingesting it again. Removing while questions are being asked gives every
asker an answer, never an error.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from assistant.adapters.cli import app
from assistant.service import BriefingService
from assistant.settings import Settings
from index.ingest import writing_lock
from tests.assistant.test_api import serving
from tests.conftest import SEED_DOC, run_cli

TIDE = "date 2024-03-02 Harbour tide report\nEngineers read the harbour tide gauge at 4.7 metres on Saturday evening.\n"
GRAIN = "date 2024-03-05 Grain convoy\nThe grain convoy of 14 lorries crossed the northern border on Tuesday.\n"
TIDE_QUESTION = "What did the harbour tide gauge read on Saturday evening?"
TOKEN = "library-token"


def cited(answer: dict[str, Any]) -> set[str]:
    return {citation["doc"] for citation in answer["citations"]} | {p["doc"] for p in answer["passages"]}


def cli(settings: Settings, *args: str) -> Any:
    """``briefings ARGS`` in this process (CliRunner), against ``settings``' index and uploads folder."""
    env = {
        "BRIEFINGS_INDEX": str(settings.index),
        "BRIEFINGS_MODEL_CACHE": str(settings.model_cache),
        "BRIEFINGS_CORPUS": str(settings.corpus),
    }
    return CliRunner().invoke(app, list(args), env=env)


@pytest.fixture
def library(make_settings, corpus_dir: Path, tmp_path: Path) -> BriefingService:  # type: ignore[no-untyped-def]
    """The seed article in the uploads folder, plus a folder of two briefings of the user's own."""
    own = tmp_path / "own"
    own.mkdir()
    (own / "tide.txt").write_text(TIDE, encoding="utf-8")
    (own / "grain.txt").write_text(GRAIN, encoding="utf-8")
    service = BriefingService(make_settings(corpus=corpus_dir, api_token=TOKEN))
    service.ingest([corpus_dir, own])
    return service


def test_list_shows_every_briefing_newest_first_and_filters_by_date_and_text(library: BriefingService) -> None:
    result = cli(library.settings, "list", "--json")
    assert result.exit_code == 0, result.output
    listed = json.loads(result.stdout)
    assert [item["doc"] for item in listed["documents"]] == ["grain.txt", "tide.txt", SEED_DOC]
    seed = listed["documents"][2]
    assert seed["upload"] is True and seed["date"] == "2022-02-20" and seed["type"] == "txt"
    assert seed["chunks"] >= 1 and seed["indexed"] and seed["source"].endswith(SEED_DOC)
    assert listed["documents"][0]["upload"] is False and listed["documents"][0]["title"] == "Grain convoy"
    assert [b.doc for b in library.briefings(since="2024-03-03").briefings] == ["grain.txt"]
    assert [b.doc for b in library.briefings(until="2024-03-02", text="TIDE").briefings] == ["tide.txt"]
    table = cli(library.settings, "list", "--since", "2024-01-01")
    assert table.exit_code == 0 and "tide.txt" in table.stdout and SEED_DOC not in table.stdout
    bad = cli(library.settings, "list", "--since", "March")
    assert bad.exit_code == 1 and "YYYY-MM-DD" in bad.output and "Traceback" not in bad.output


def test_remove_takes_the_briefing_out_everywhere_and_leaves_the_rest(library: BriefingService) -> None:
    assert "tide.txt" in cited(library.ask(TIDE_QUESTION).to_dict())
    own_file = Path(library.briefings_named(["tide.txt"])[0].source)
    result = cli(library.settings, "remove", "tide.txt", SEED_DOC, "--yes")
    assert result.exit_code == 0, result.output
    assert "removed tide.txt" in result.stdout and f"removed {SEED_DOC}" in result.stdout
    assert own_file.is_file(), "a file outside the uploads folder is the user's own and stays"
    assert not (library.settings.corpus / SEED_DOC).exists(), "an upload's file goes, or ingest would bring it back"
    fresh = BriefingService(library.settings)
    assert [b.doc for b in fresh.briefings().briefings] == ["grain.txt"]
    assert not cited(fresh.ask(TIDE_QUESTION).to_dict()) & {"tide.txt", SEED_DOC}
    grain = fresh.ask("How many lorries were in the grain convoy?").to_dict()
    assert "14" in grain["answer"] and "grain.txt" in cited(grain)
    lexical_docs = {chunk.doc for chunk in fresh.retriever.lexical.all_chunks()}
    assert lexical_docs == {"grain.txt"}


def test_an_unknown_id_is_one_line_and_removes_nothing(library: BriefingService) -> None:
    result = cli(library.settings, "remove", "tide.txt", "no-such.txt", "--yes")
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert result.output.strip().splitlines()[-1] == (
        "error: No article no-such.txt in the index: nothing was removed (`briefings list` shows the ids)"
    )
    assert library.briefings().total == 3


def test_remove_without_yes_and_without_a_terminal_asks_for_yes_and_removes_nothing(library: BriefingService) -> None:
    result = cli(library.settings, "remove", "tide.txt")
    assert result.exit_code == 1 and "run it again with --yes" in result.output
    assert library.briefings().total == 3


def test_a_removed_file_ingested_again_is_answerable_again(library: BriefingService, tmp_path: Path) -> None:
    library.remove(["tide.txt"])
    assert "tide.txt" not in cited(library.ask(TIDE_QUESTION).to_dict())
    report = library.ingest([tmp_path / "own"])
    assert (report.added, report.unchanged) == (1, 1)
    assert "tide.txt" in {c.doc for c in library.ask(TIDE_QUESTION).citations}


def test_an_uploaded_briefing_removed_and_uploaded_again_comes_back(library: BriefingService) -> None:
    spill = b"date 2024-03-07 Oil spill\nThe oil spill covered 12 square kilometres."
    added = library.add_document("spill.txt", spill)
    assert added.path.is_file()
    library.remove([added.doc])
    assert not added.path.exists()
    again = library.add_document("spill.txt", spill)
    assert again.doc == "spill.txt" and again.report.added == 1
    assert "spill.txt" in {c.doc for c in library.ask("How large an area did the oil spill cover?").citations}


def test_prune_of_an_emptied_folder_says_how_many_asks_and_removes_them(
    library: BriefingService, tmp_path: Path
) -> None:
    own = tmp_path / "own"
    for path in own.iterdir():
        path.unlink()
    refused = cli(library.settings, "ingest", str(own), "--prune")
    assert refused.exit_code == 1 and "2 indexed briefing(s) came from there" in refused.output
    assert "run it again with --yes" in refused.output and library.briefings().total == 3
    missing = cli(library.settings, "ingest", str(tmp_path / "owm"), "--prune", "--yes")
    assert missing.exit_code == 1 and "Corpus path not found" in missing.output and library.briefings().total == 3
    pruned = cli(library.settings, "ingest", str(own), "--prune", "--yes")
    assert pruned.exit_code == 0, pruned.output
    assert "Removed 2 briefing(s)" in pruned.output
    assert [b.doc for b in library.briefings().briefings] == [SEED_DOC]


# ------------------------------------------------------------------------------------------------ HTTP
@pytest.fixture
def base_url(library: BriefingService) -> Iterator[str]:
    with serving(library) as url:
        yield url


def api(method: str, url: str, token: str | None = TOKEN, **kwargs: Any) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.request(method, url, headers=headers, timeout=120, **kwargs)


def test_the_api_lists_pages_and_filters(base_url: str) -> None:
    page = api("GET", f"{base_url}/api/documents", params={"limit": 2}).json()
    assert page["total"] == 3 and [d["doc"] for d in page["documents"]] == ["grain.txt", "tide.txt"]
    rest = api("GET", f"{base_url}/api/documents", params={"limit": 2, "offset": 2}).json()
    assert [d["doc"] for d in rest["documents"]] == [SEED_DOC]
    found = api("GET", f"{base_url}/api/documents", params={"q": "convoy", "since": "2024-01-01"}).json()
    assert found["total"] == 1 and found["documents"][0]["doc"] == "grain.txt"
    bad = api("GET", f"{base_url}/api/documents", params={"until": "soon"})
    assert bad.status_code == 422 and "YYYY-MM-DD" in bad.json()["detail"]


def test_the_api_removes_behind_the_token_and_never_cites_it_again(base_url: str, library: BriefingService) -> None:
    assert api("DELETE", f"{base_url}/api/documents/tide.txt", token=None).status_code == 401
    assert api("GET", f"{base_url}/api/documents", token="wrong").status_code == 401
    unknown = api("DELETE", f"{base_url}/api/documents/no-such.txt")
    assert unknown.status_code == 404 and "nothing was removed" in unknown.json()["detail"]
    with writing_lock(library.settings.location):
        busy = api("DELETE", f"{base_url}/api/documents/tide.txt")
    assert busy.status_code == 409 and "Another ingest" in busy.json()["detail"]
    assert api("GET", f"{base_url}/api/documents").json()["total"] == 3
    removed = api("DELETE", f"{base_url}/api/documents/tide.txt")
    assert removed.status_code == 200, removed.text
    assert removed.json()["removed"][0]["doc"] == "tide.txt"
    answer = api("POST", f"{base_url}/api/ask", json={"question": TIDE_QUESTION}).json()
    assert "tide.txt" not in cited(answer)
    assert api("GET", f"{base_url}/api/articles/tide.txt").status_code == 404


def test_a_running_server_stops_citing_what_another_process_removed(base_url: str, library: BriefingService) -> None:
    """The removal comes from a separate ``briefings remove`` process, as an operator would run it."""
    answer = api("POST", f"{base_url}/api/ask", json={"question": TIDE_QUESTION}).json()
    assert "tide.txt" in cited(answer)
    env = {"BRIEFINGS_INDEX": str(library.settings.index), "BRIEFINGS_MODEL_CACHE": str(library.settings.model_cache)}
    result = run_cli("remove", "tide.txt", "--yes", env=env, timeout=300)
    assert result.returncode == 0, result.stderr
    deadline = time.monotonic() + 10  # a server looks at the index's generation at most every two seconds
    while "tide.txt" in cited(api("POST", f"{base_url}/api/ask", json={"question": TIDE_QUESTION}).json()):
        assert time.monotonic() < deadline, "the running server still cites a removed briefing"
        time.sleep(0.5)


def test_removing_while_others_ask_gives_every_asker_an_answer(base_url: str, library: BriefingService) -> None:
    problems: list[str] = []
    stop = threading.Event()

    def keep_asking() -> None:
        while not stop.is_set():
            response = api("POST", f"{base_url}/api/ask", json={"question": TIDE_QUESTION})
            if response.status_code != 200:
                problems.append(f"{response.status_code} {response.text}")

    askers = [threading.Thread(target=keep_asking) for _ in range(3)]
    for asker in askers:
        asker.start()
    time.sleep(1.0)
    removed = api("DELETE", f"{base_url}/api/documents/tide.txt")
    time.sleep(1.0)
    stop.set()
    for asker in askers:
        asker.join(timeout=120)
    assert removed.status_code == 200, removed.text
    assert problems == []
    after = api("POST", f"{base_url}/api/ask", json={"question": TIDE_QUESTION}).json()
    assert "tide.txt" not in cited(after)
    grain = api("POST", f"{base_url}/api/ask", json={"question": "How many lorries were in the grain convoy?"}).json()
    assert "grain.txt" in cited(grain)


def test_the_ui_panel_asks_before_removing_and_says_what_went(library: BriefingService) -> None:
    """The panel's handlers as the page calls them (the browser test drives the same ones through Chromium)."""
    from assistant.adapters.ui_library import LibraryPanel

    panel = LibraryPanel(library)
    rows, _ = panel.listed("convoy")
    assert [row[1] for row in rows] == ["grain.txt"]
    confirm, _, question = panel.asked("grain.txt")
    assert confirm["visible"] is True and confirm["value"] == "Yes, remove grain.txt" and "grain.txt" in question
    assert panel.kept()[2] == "Nothing was removed." and library.briefings().total == 3
    assert "No article no-such.txt" in panel.removed("no-such.txt")[2] and library.briefings().total == 3
    status = panel.removed(SEED_DOC)[2]
    assert status.startswith("Removed ") and "deleted its file" in status
    assert [row[1] for row in panel.listed("")[0]] == ["grain.txt", "tide.txt"]
