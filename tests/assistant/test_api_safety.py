"""What the HTTP API shows and lets a caller do: an open health check that reveals nothing, the index status
and uploads behind the token, only operator-offered answer modes, and streams that show only guarded text.

Every test runs the real app under uvicorn on a loopback port; LLM answers come from the scripted
OpenAI-compatible stand-in, so the real client, prompts and guard run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest
from filelock import FileLock

from assistant.service import MAX_UPLOAD_BYTES, BriefingService
from assistant.settings import Settings
from tests.assistant.stand_in import StandIn, source_with
from tests.assistant.test_api import CARD_ANSWER, CARD_QUESTION, TOKEN, read_events, serving

MODE = "openai:test-model"
CALL_LENGTH = "an hour and 45 minutes"
MADE_UP = "It was followed by a 3-hour meeting in Moscow"
LUNAR = (
    "date 2024-03-01 Lunar base plans announced\n\n"
    "The space agency said on Friday that the lunar base will house 12 astronauts by 2030. "
    "Construction of the first habitat module is due to begin next year near the south pole of the Moon.\n"
)
Reply = Callable[[dict[str, Any]], str]


@pytest.fixture
def http_for() -> Iterator[Callable[[BriefingService], httpx.Client]]:
    """Serve a service for this test only and hand back a client for it."""
    with ExitStack() as stack:

        def start(service: BriefingService) -> httpx.Client:
            url = stack.enter_context(serving(service))
            return stack.enter_context(httpx.Client(base_url=url, timeout=60))

        yield start


def bearer() -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKEN}"}


# ------------------------------------------------------------------------------------ health and status
def test_healthz_says_only_ok(
    http_for: Callable[[BriefingService], httpx.Client], seed_service: BriefingService
) -> None:
    response = http_for(seed_service).get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"ok": True}


def test_healthz_without_an_index_is_503_and_says_nothing_more(
    http_for: Callable[[BriefingService], httpx.Client], make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    client = http_for(BriefingService(make_settings(index=tmp_path / "never-built")))
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"ok": False}
    assert "never-built" not in response.text


def test_status_needs_the_token_and_then_reports_the_index(
    http_for: Callable[[BriefingService], httpx.Client], seed_settings: Settings
) -> None:
    client = http_for(BriefingService(seed_settings.model_copy(update={"api_token": TOKEN})))
    for headers in ({}, {"Authorization": "Bearer wrong"}):
        refused = client.get("/api/status", headers=headers)
        assert refused.status_code == 401 and refused.headers["www-authenticate"] == "Bearer"
        assert "articles" not in refused.text
    assert client.get("/healthz").json() == {"ok": True}  # probes need no token, and learn nothing else
    body = client.get("/api/status", headers=bearer()).json()
    assert body["status"] == "ok" and body["index_loaded"] is True
    assert body["articles"] == 1 and body["chunks"] >= 1
    assert body["first_date"] == body["last_date"] == "2022-02-20"
    assert "MiniLM" in body["embedding_model"] and str(seed_settings.index) in body["index"]


# ------------------------------------------------------------------------------------------ answer modes
@pytest.mark.parametrize("path", ["/api/ask", "/api/ask/stream"])
@pytest.mark.parametrize("mode", ["openai:gpt-4o", "ollama:x"])
def test_a_mode_the_operator_did_not_offer_is_422_and_calls_no_model(
    http_for: Callable[[BriefingService], httpx.Client],
    seed_settings: Settings,
    stand_in: StandIn,
    path: str,
    mode: str,
) -> None:
    client = http_for(BriefingService(seed_settings))
    response = client.post(path, json={"question": CARD_QUESTION, "llm": mode})
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert repr(mode) in detail and "use one of: extractive" in detail
    assert stand_in.requests == []


def test_offered_choices_may_be_picked_per_question(
    http_for: Callable[[BriefingService], httpx.Client], seed_settings: Settings, stand_in: StandIn
) -> None:
    stand_in.reply = lambda body: f"The call lasted {CALL_LENGTH} [{source_with(body, CALL_LENGTH)}]."
    client = http_for(BriefingService(seed_settings.model_copy(update={"llm_choices": f" {MODE} ,ollama:llama3"})))
    assert client.post("/api/ask", json={"question": CARD_QUESTION}).json()["mode"] == "extractive"
    picked = client.post("/api/ask", json={"question": CARD_QUESTION, "llm": MODE}).json()
    assert picked["mode"] == f"llm:{MODE}" and picked["answer"] == f"The call lasted {CALL_LENGTH} [1]."
    refused = client.post("/api/ask", json={"question": CARD_QUESTION, "llm": "openai:gpt-4o"})
    assert refused.status_code == 422
    assert refused.json()["detail"].endswith(f"use one of: extractive, {MODE}, ollama:llama3")
    assert len(stand_in.answer_requests()) == 1


# ------------------------------------------------------------------------------------------- streaming
def _supported_then_made_up(body: dict[str, Any]) -> str:
    number = source_with(body, CALL_LENGTH)
    return f"The phone call lasted {CALL_LENGTH} [{number}]. {MADE_UP} [{number}]. It lasted {CALL_LENGTH} [{number}]."


def _made_up_then_supported(body: dict[str, Any]) -> str:
    number = source_with(body, CALL_LENGTH)
    return f"{MADE_UP} [{number}]. The phone call lasted {CALL_LENGTH} [{number}]."


def _only_made_up(body: dict[str, Any]) -> str:
    return f"{MADE_UP} [{source_with(body, CALL_LENGTH)}]."


@pytest.mark.parametrize(
    ("reply", "shown", "mode"),
    [
        (
            _supported_then_made_up,
            f"The phone call lasted {CALL_LENGTH} [1]. It lasted {CALL_LENGTH} [1].",
            f"llm:{MODE}",
        ),
        (_made_up_then_supported, f"The phone call lasted {CALL_LENGTH} [1].", f"llm:{MODE}"),
        (_only_made_up, CARD_ANSWER, "extractive (llm fallback: unsupported)"),
    ],
)
def test_stream_shows_only_sentences_the_guard_kept(
    http_for: Callable[[BriefingService], httpx.Client],
    seed_settings: Settings,
    stand_in: StandIn,
    reply: Reply,
    shown: str,
    mode: str,
) -> None:
    stand_in.reply = reply
    client = http_for(BriefingService(seed_settings.model_copy(update={"llm": MODE, "llm_timeout": 5.0})))
    with client.stream("POST", "/api/ask/stream", json={"question": CARD_QUESTION}) as response:
        assert response.status_code == 200
        events = read_events(response)
    deltas = [data["text"] for kind, data in events if kind == "delta"]
    kinds = [kind for kind, _ in events]
    assert kinds[-1] == "answer" and set(kinds[:-1]) == {"delta"}
    assert stand_in.answer_requests()[0]["stream"] is True
    assert not any("3-hour" in delta or "Moscow" in delta for delta in deltas)
    answer = events[-1][1]
    assert "".join(deltas) == answer["answer"] == shown
    assert answer["mode"] == mode
    assert answer["unsupported"] == [f"{MADE_UP}."]


def test_a_long_answer_streams_sentence_by_sentence(
    http_for: Callable[[BriefingService], httpx.Client], seed_settings: Settings, stand_in: StandIn
) -> None:
    stand_in.reply = _supported_then_made_up
    client = http_for(BriefingService(seed_settings.model_copy(update={"llm": MODE, "llm_timeout": 5.0})))
    with client.stream("POST", "/api/ask/stream", json={"question": CARD_QUESTION}) as response:
        deltas = [data["text"] for kind, data in read_events(response) if kind == "delta"]
    assert deltas == [f"The phone call lasted {CALL_LENGTH} [1].", f" It lasted {CALL_LENGTH} [1]."]


# --------------------------------------------------------------------------------------------- uploads
@pytest.fixture
def upload_service(make_settings: Callable[..., Settings], tmp_path: Path) -> BriefingService:
    """A service with no index yet, whose corpus folder is this test's own, guarded by the token."""
    return BriefingService(make_settings(corpus=tmp_path / "corpus", api_token=TOKEN))


def corpus_files(service: BriefingService) -> list[str]:
    folder = service.settings.corpus
    return sorted(path.name for path in folder.iterdir()) if folder.exists() else []


def test_an_uploaded_briefing_is_answerable_at_once(
    http_for: Callable[[BriefingService], httpx.Client], upload_service: BriefingService
) -> None:
    client = http_for(upload_service)
    files = {"file": ("lunar base.txt", LUNAR.encode(), "text/plain")}
    assert client.post("/api/documents", files=files).status_code == 401
    assert corpus_files(upload_service) == []

    response = client.post("/api/documents", files=files, headers=bearer())
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["doc"] == "lunar_base.txt" and body["added"] == 1 and body["updated"] == 0 and body["chunks"] >= 1
    assert corpus_files(upload_service) == ["lunar_base.txt"]

    question = {"question": "How many astronauts will the lunar base house?"}
    answer = client.post("/api/ask", json=question, headers=bearer()).json()
    assert not answer["abstained"] and "12" in answer["answer"]
    assert answer["citations"][0]["doc"] == "lunar_base.txt"
    assert LUNAR[answer["citations"][0]["start"] : answer["citations"][0]["end"]] == answer["citations"][0]["quote"]


def test_an_upload_may_be_larger_than_a_question_body(
    http_for: Callable[[BriefingService], httpx.Client], upload_service: BriefingService
) -> None:
    from assistant.adapters.http import MAX_BODY_BYTES

    padding = " " * (MAX_BODY_BYTES + 1024)  # trailing spaces: over the question limit, nothing more to index
    files = {"file": ("lunar.txt", (LUNAR + padding).encode(), "text/plain")}
    response = http_for(upload_service).post("/api/documents", files=files, headers=bearer())
    assert response.status_code == 200, response.text
    assert response.json()["added"] == 1


def test_a_binary_upload_is_422_and_nothing_is_saved(
    http_for: Callable[[BriefingService], httpx.Client], upload_service: BriefingService
) -> None:
    binary = bytes(range(256)) * 64
    files = {"file": ("report.txt", binary, "application/octet-stream")}
    response = http_for(upload_service).post("/api/documents", files=files, headers=bearer())
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert detail.startswith("report.txt was not added") and "\n" not in detail
    assert corpus_files(upload_service) == []


def test_a_non_utf8_upload_is_422_saying_how_to_fix_it_and_nothing_is_saved(
    http_for: Callable[[BriefingService], httpx.Client], upload_service: BriefingService
) -> None:
    latin1 = "Le café de la gare a rouvert lundi après trois mois de travaux.\n".encode("latin-1")
    files = {"file": ("gare.txt", latin1, "text/plain")}
    response = http_for(upload_service).post("/api/documents", files=files, headers=bearer())
    assert response.status_code == 422
    assert response.json()["detail"] == (
        "gare.txt was not added: it is not UTF-8 text; save it as UTF-8 and upload it again"
    )
    assert corpus_files(upload_service) == []


def test_an_upload_without_a_file_is_422(
    http_for: Callable[[BriefingService], httpx.Client], upload_service: BriefingService
) -> None:
    client = http_for(upload_service)
    as_json = client.post("/api/documents", json={"file": LUNAR}, headers=bearer())
    assert as_json.status_code == 422 and "multipart/form-data" in as_json.json()["detail"]
    other_field = client.post("/api/documents", files={"document": ("a.txt", b"text")}, headers=bearer())
    assert other_field.status_code == 422 and "file" in other_field.json()["detail"]


def test_an_oversize_upload_is_413_whether_declared_or_chunked(
    http_for: Callable[[BriefingService], httpx.Client], upload_service: BriefingService
) -> None:
    client = http_for(upload_service)
    just_over = {"file": ("big.txt", b"word " * (MAX_UPLOAD_BYTES // 5) + b"!", "text/plain")}
    response = client.post("/api/documents", files=just_over, headers=bearer())
    assert response.status_code == 413 and f"{MAX_UPLOAD_BYTES // 1024**2} MB" in response.json()["detail"]

    boundary = "briefing-boundary"
    head = f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.txt"\r\n\r\n'.encode()

    def pieces() -> Iterator[bytes]:
        yield head
        for _ in range(MAX_UPLOAD_BYTES // (1024 * 1024) + 2):
            yield b"word " * (1024 * 1024 // 5)

    chunked = client.post(
        "/api/documents",
        content=pieces(),
        headers={**bearer(), "content-type": f"multipart/form-data; boundary={boundary}"},
    )
    assert chunked.status_code == 413
    assert corpus_files(upload_service) == []


def test_an_upload_during_another_ingest_is_409(
    http_for: Callable[[BriefingService], httpx.Client], upload_service: BriefingService
) -> None:
    index_dir = upload_service.settings.index
    index_dir.mkdir(parents=True)
    files = {"file": ("lunar.txt", LUNAR.encode(), "text/plain")}
    with FileLock(str(index_dir / "ingest.lock")):
        response = http_for(upload_service).post("/api/documents", files=files, headers=bearer())
    assert response.status_code == 409
    assert "Another ingest" in response.json()["detail"]
    assert corpus_files(upload_service) == []
