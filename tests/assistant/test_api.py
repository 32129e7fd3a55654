"""The HTTP API through a real uvicorn server on a loopback port, and the ``serve`` command's refusals."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from assistant.adapters.http import MAX_BODY_BYTES, create_app
from assistant.service import BriefingService
from assistant.settings import Settings
from tests.conftest import PROJECT, SEED_DOC, seed_text

CARD_QUESTION = "How long was the call?"
CARD_ANSWER = "an hour and 45 minutes"
TOKEN = "correct-horse-battery-staple"


@contextmanager
def serving(service: BriefingService, ui_auth: tuple[str, str] | None = None) -> Iterator[str]:
    """``create_app(service)`` under a real uvicorn server on a free loopback port; yields its base URL.

    The socket is bound here and handed to uvicorn, so no other process can take the port in between.
    """
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    config = uvicorn.Config(create_app(service, ui_auth=ui_auth), log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        listener.close()


@pytest.fixture(scope="module")
def base_url(seed_service: BriefingService) -> Iterator[str]:
    with serving(seed_service) as url:
        yield url


@pytest.fixture
def client(base_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base_url, timeout=60) as http:
        yield http


@pytest.fixture(scope="module")
def token_url(seed_settings: Settings) -> Iterator[str]:
    """The seed index served by a second service whose settings require a bearer token."""
    service = BriefingService(seed_settings.model_copy(update={"api_token": TOKEN}))
    service.warm_up()
    with serving(service) as url:
        yield url


def without_timings(body: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in body.items() if name != "timings_ms"}


def read_events(response: httpx.Response) -> list[tuple[str, dict[str, Any]]]:
    """Parse a server-sent event stream into ``(event, data)`` pairs."""
    events: list[tuple[str, dict[str, Any]]] = []
    kind, data = "message", ""
    for line in response.iter_lines():
        if line.startswith("event:"):
            kind = line.removeprefix("event:").strip()
        elif line.startswith("data:"):
            data += line.removeprefix("data:").strip()
        elif not line and data:
            events.append((kind, json.loads(data)))
            kind, data = "message", ""
    return events


# ----------------------------------------------------------------------------------------------- asking
def test_card_question_is_answered_with_a_verified_citation(client: httpx.Client) -> None:
    response = client.post("/api/ask", json={"question": CARD_QUESTION})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["answer"] == CARD_ANSWER
    assert not body["abstained"]
    first = body["citations"][0]
    assert first["doc"] == SEED_DOC
    assert first["quote"] == seed_text()[first["start"] : first["end"]]
    assert {"question", "answer", "abstained", "citations", "passages", "mode", "timings_ms"} <= set(body)


def test_http_answer_is_the_service_answer(client: httpx.Client, seed_service: BriefingService) -> None:
    over_http = client.post("/api/ask", json={"question": CARD_QUESTION}).json()
    direct = seed_service.ask(CARD_QUESTION).to_dict()
    assert without_timings(over_http) == without_timings(direct)


def test_follow_up_is_resolved_from_the_history(client: httpx.Client) -> None:
    history = [{"role": "user", "content": CARD_QUESTION}, {"role": "assistant", "content": CARD_ANSWER}]
    response = client.post("/api/ask", json={"question": "Who started it?", "history": history})
    assert response.status_code == 200, response.text
    body = response.json()
    assert CARD_QUESTION in body["standalone_question"]
    # answered, or refused with the right sentence as the closest found: either way "it" was the call
    shown = body["closest"] if body["abstained"] else body["citations"]
    assert "French side" in shown[0]["quote"] and shown[0]["doc"] == SEED_DOC
    assert body["abstained"] or "French side" in body["answer"]


def test_date_filter_that_excludes_the_briefing_abstains(client: httpx.Client) -> None:
    body = client.post("/api/ask", json={"question": CARD_QUESTION, "since": "2023-01-01"}).json()
    assert body["abstained"] and body["citations"] == []


def test_stream_sends_deltas_then_the_whole_answer(client: httpx.Client) -> None:
    with client.stream("POST", "/api/ask/stream", json={"question": CARD_QUESTION}) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        events = read_events(response)
    kinds = [kind for kind, _ in events]
    assert kinds[-1] == "answer" and set(kinds[:-1]) == {"delta"} and len(kinds) >= 2
    answer = events[-1][1]
    assert "".join(data["text"] for kind, data in events if kind == "delta") == answer["answer"]
    plain = client.post("/api/ask", json={"question": CARD_QUESTION}).json()
    assert without_timings(answer) == without_timings(plain)


def test_stream_carries_the_history_too(client: httpx.Client) -> None:
    history = [{"role": "user", "content": CARD_QUESTION}, {"role": "assistant", "content": CARD_ANSWER}]
    with client.stream("POST", "/api/ask/stream", json={"question": "Who started it?", "history": history}) as response:
        answer = read_events(response)[-1][1]
    assert CARD_QUESTION in answer["standalone_question"]


# ------------------------------------------------------------------------------------------ bad input
@pytest.mark.parametrize("path", ["/api/ask", "/api/ask/stream"])
@pytest.mark.parametrize("question", ["", "   \n\t "])
def test_empty_question_is_422_with_a_reason(client: httpx.Client, path: str, question: str) -> None:
    response = client.post(path, json={"question": question})
    assert response.status_code == 422
    assert "empty" in response.json()["detail"]


@pytest.mark.parametrize("path", ["/api/ask", "/api/ask/stream"])
def test_over_long_question_is_413(client: httpx.Client, seed_settings: Settings, path: str) -> None:
    response = client.post(path, json={"question": "why " * seed_settings.max_question_chars})
    assert response.status_code == 413
    assert "limit" in response.json()["detail"]


def test_malformed_json_is_422_with_a_reason(client: httpx.Client) -> None:
    response = client.post("/api/ask", content=b'{"question": ', headers={"content-type": "application/json"})
    assert response.status_code == 422
    assert "not valid JSON" in response.json()["detail"]


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({}, "question: Field required"),
        ({"question": 42}, "question"),
        ({"question": "Who?", "history": [{"role": "system", "content": "x"}]}, "history.0.role"),
        ({"question": CARD_QUESTION, "since": "last week"}, "YYYY-MM-DD"),
    ],
)
def test_invalid_fields_are_422_naming_the_field(client: httpx.Client, body: dict[str, Any], reason: str) -> None:
    response = client.post("/api/ask", json=body)
    assert response.status_code == 422
    assert reason in response.json()["detail"]


def test_oversized_body_is_413_whether_declared_or_chunked(client: httpx.Client) -> None:
    huge = json.dumps({"question": "x" * (MAX_BODY_BYTES + 10)}).encode()
    declared = client.post("/api/ask", content=huge, headers={"content-type": "application/json"})
    assert declared.status_code == 413

    def pieces() -> Iterator[bytes]:
        for start in range(0, len(huge), 64 * 1024):
            yield huge[start : start + 64 * 1024]

    chunked = client.post("/api/ask", content=pieces(), headers={"content-type": "application/json"})
    assert chunked.status_code == 413


def test_answer_mode_the_server_does_not_offer_is_422(client: httpx.Client) -> None:
    response = client.post("/api/ask", json={"question": CARD_QUESTION, "llm": "no-such-backend:model"})
    assert response.status_code == 422
    assert "'no-such-backend:model' is not offered" in response.json()["detail"]


# ------------------------------------------------------------------------------------ health and docs
def test_healthz_says_ok_and_status_reports_the_loaded_index(client: httpx.Client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"ok": True}
    body = client.get("/api/status").json()
    assert body["status"] == "ok" and body["index_loaded"] is True
    assert body["articles"] == 1 and body["chunks"] >= 1
    assert body["first_date"] == body["last_date"] == "2022-02-20"
    assert "MiniLM" in body["embedding_model"]


def test_openapi_documents_the_routes(client: httpx.Client) -> None:
    schema = client.get("/openapi.json").json()
    assert {"/api/ask", "/api/ask/stream", "/api/status", "/api/documents", "/healthz"} <= set(schema["paths"])
    upload = schema["paths"]["/api/documents"]["post"]["requestBody"]["content"]["multipart/form-data"]
    assert upload["schema"]["required"] == ["file"]
    assert client.get("/docs").status_code == 200


def test_chat_ui_is_served_at_the_root(client: httpx.Client) -> None:
    assert client.get("/").status_code == 200
    config = client.get("/config").json()
    assert config["title"] == "Briefings"


def test_without_an_index_healthz_is_503_and_asking_says_how_to_ingest(make_settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    service = BriefingService(make_settings(index=tmp_path / "never-built"))
    with serving(service) as url, httpx.Client(base_url=url, timeout=60) as http:
        health = http.get("/healthz")
        assert health.status_code == 503 and health.json() == {"ok": False}
        status = http.get("/api/status")
        assert status.status_code == 503
        assert status.json()["status"] == "not ready" and status.json()["index_loaded"] is False
        assert "briefings ingest" in status.json()["detail"]
        asked = http.post("/api/ask", json={"question": CARD_QUESTION})
        assert asked.status_code == 503 and "briefings ingest" in asked.json()["detail"]
        assert http.post("/api/ask/stream", json={"question": CARD_QUESTION}).status_code == 503
        assert http.get("/").status_code == 200  # the UI still loads, and explains


# ---------------------------------------------------------------------------------------- protection
@pytest.mark.parametrize("path", ["/api/ask", "/api/ask/stream", "/api/documents"])
@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {TOKEN}"}])
def test_missing_or_wrong_token_is_401(token_url: str, path: str, headers: dict[str, str]) -> None:
    response = httpx.post(f"{token_url}{path}", json={"question": CARD_QUESTION}, headers=headers, timeout=60)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


def test_right_token_is_answered(token_url: str) -> None:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    response = httpx.post(f"{token_url}/api/ask", json={"question": CARD_QUESTION}, headers=headers, timeout=60)
    assert response.status_code == 200
    assert response.json()["answer"] == CARD_ANSWER
    with httpx.stream(
        "POST", f"{token_url}/api/ask/stream", json={"question": CARD_QUESTION}, headers=headers, timeout=60
    ) as streamed:
        assert streamed.status_code == 200
        assert read_events(streamed)[-1][0] == "answer"
    assert httpx.get(f"{token_url}/healthz", timeout=60).status_code == 200  # probes need no token
    assert httpx.get(f"{token_url}/api/status", headers=headers, timeout=60).json()["articles"] == 1


def test_ui_login_guards_the_chat(seed_service: BriefingService) -> None:
    with serving(seed_service, ui_auth=("ann", "s3cret pass")) as url, httpx.Client(base_url=url, timeout=60) as http:
        assert http.get("/config").status_code == 401
        refused = http.post("/login", data={"username": "ann", "password": "wrong"})
        assert refused.status_code == 400
        assert http.post("/login", data={"username": "ann", "password": "s3cret pass"}).status_code == 200
        assert http.get("/config").status_code == 200


# ----------------------------------------------------------------------------------- `briefings serve`
def run_serve(*arguments: str, tmp_path: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environment = {name: value for name, value in os.environ.items() if not name.startswith("BRIEFINGS_")}
    environment |= {"HF_HUB_OFFLINE": "1", "GRADIO_ANALYTICS_ENABLED": "False", **(env or {})}
    command = [sys.executable, "-m", "assistant.adapters.cli", "serve", "--index", str(tmp_path / "index"), *arguments]
    return subprocess.run(command, cwd=PROJECT, env=environment, capture_output=True, text=True, timeout=120)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize("extra", [[], ["--auth", "ann:pw"]])
def test_serve_refuses_an_unprotected_public_address(tmp_path: Path, extra: list[str]) -> None:
    result = run_serve("--host", "0.0.0.0", "--port", str(free_port()), *extra, tmp_path=tmp_path)
    assert result.returncode != 0
    assert result.stderr.startswith("error: Refusing to serve on 0.0.0.0")
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
    assert "--insecure" in result.stderr


def test_serve_rejects_a_malformed_auth_in_one_line(tmp_path: Path) -> None:
    result = run_serve("--auth", "no-colon", "--port", str(free_port()), tmp_path=tmp_path)
    assert result.returncode != 0
    assert result.stderr.strip() == "error: --auth must be USER:PASSWORD, both non-empty"


def test_serve_reads_the_login_from_briefings_auth_when_no_flag_is_given(tmp_path: Path) -> None:
    result = run_serve("--port", str(free_port()), tmp_path=tmp_path, env={"BRIEFINGS_AUTH": "no-colon"})
    assert result.returncode != 0
    assert result.stderr.strip() == "error: --auth must be USER:PASSWORD, both non-empty"
    flagged = run_serve("--auth", "ann:pw", "--host", "0.0.0.0", "--port", str(free_port()), tmp_path=tmp_path,
                        env={"BRIEFINGS_AUTH": "no-colon"})  # fmt: skip
    assert flagged.stderr.startswith("error: Refusing to serve on 0.0.0.0")  # the flag wins over the variable


def test_serve_says_when_the_port_is_taken(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        result = run_serve("--port", str(taken.getsockname()[1]), tmp_path=tmp_path)
    assert result.returncode != 0
    assert result.stderr.startswith("error: Cannot listen on 127.0.0.1:")
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
