"""A scripted OpenAI-compatible chat server on 127.0.0.1 that stands in for an LLM in tests.

It answers ``POST /v1/chat/completions`` as JSON, or as SSE chunks (``data: {...}`` then ``data: [DONE]``)
when the request streams, with text chosen by the test from the request it received, and it records every
request so tests can inspect the prompts. Scripted HTTP statuses and a delay stand in for failing and slow
servers.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Reply = Callable[[dict[str, Any]], str]


@dataclass
class StandIn:
    """A scripted OpenAI-compatible chat server; what it replies is up to the test."""

    reply: Reply = lambda body: "The sources do not say."
    delay: float = 0.0
    statuses: list[int] = field(default_factory=list)  # served first, one per request (e.g. a 503)
    requests: list[dict[str, Any]] = field(default_factory=list)
    url: str = ""

    def answer_requests(self) -> list[dict[str, Any]]:
        return [body for body in self.requests if "<sources>" in user_message(body)]


class Handler(BaseHTTPRequestHandler):
    server: StandInServer

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
        stand_in = self.server.stand_in
        stand_in.requests.append(body)
        time.sleep(stand_in.delay)
        try:
            if self.path != "/v1/chat/completions":
                self._send(404, {"error": {"message": "not found"}})
            elif stand_in.statuses:
                status = stand_in.statuses.pop(0)
                self._send(status, {"error": {"message": f"scripted {status}"}})
            elif body.get("stream"):
                self._stream(body, stand_in.reply(body))
            else:
                self._send(200, _completion(body, stand_in.reply(body)))
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (a timeout test)
            pass

    def _send(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _stream(self, body: dict[str, Any], text: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        pieces = re.findall(r"\S+\s*", text)
        for piece in pieces:
            self._event(_chunk(body, {"content": piece}, None))
        self._event(_chunk(body, {}, "stop"))
        self.wfile.write(b"data: [DONE]\n\n")
        self.wfile.flush()

    def _event(self, payload: dict[str, Any]) -> None:
        self.wfile.write(f"data: {json.dumps(payload)}\n\n".encode())
        self.wfile.flush()

    def log_message(self, format: str, *args: Any) -> None:
        pass


class StandInServer(ThreadingHTTPServer):
    daemon_threads = True
    stand_in: StandIn


def _completion(body: dict[str, Any], text: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-stand-in",
        "object": "chat.completion",
        "created": 0,
        "model": body.get("model", "test-model"),
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }


def _chunk(body: dict[str, Any], delta: dict[str, str], finish: str | None) -> dict[str, Any]:
    return {
        "id": "chatcmpl-stand-in",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": body.get("model", "test-model"),
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


@contextmanager
def serving() -> Iterator[StandInServer]:
    """Run a stand-in on a free loopback port until the block ends."""
    server = StandInServer(("127.0.0.1", 0), Handler)
    server.stand_in = StandIn()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def base_url(server: StandInServer) -> str:
    """What ``OPENAI_BASE_URL`` should be for the openai client to reach ``server``."""
    return f"http://127.0.0.1:{server.server_address[1]}/v1"


def user_message(body: dict[str, Any]) -> str:
    return "\n".join(str(m["content"]) for m in body["messages"] if m["role"] == "user")


def system_message(body: dict[str, Any]) -> str:
    return "\n".join(str(m["content"]) for m in body["messages"] if m["role"] == "system")


def sources_in(body: dict[str, Any]) -> dict[int, tuple[str, str]]:
    """Source id -> (doc, text) as the model saw them."""
    found = re.finditer(r'<source id="(\d+)" doc="([^"]*)"[^>]*>(.*?)</source>', user_message(body), re.DOTALL)
    return {int(match.group(1)): (match.group(2), match.group(3)) for match in found}


def source_with(body: dict[str, Any], phrase: str) -> int:
    """The id of the first source that contains ``phrase`` (what a faithful model would cite)."""
    return next(number for number, (_, text) in sources_in(body).items() if phrase in text)
