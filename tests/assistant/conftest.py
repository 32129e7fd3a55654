"""Fixtures the assistant tests share: the scripted OpenAI-compatible stand-in on a loopback port."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.assistant.stand_in import StandIn, StandInServer, base_url, serving


@pytest.fixture(scope="module")
def _stand_in_server() -> Iterator[StandInServer]:
    with serving() as server:
        yield server


@pytest.fixture
def stand_in(_stand_in_server: StandInServer, monkeypatch: pytest.MonkeyPatch) -> StandIn:
    """A fresh script on the shared stand-in, and the operator environment that points the client at it."""
    _stand_in_server.stand_in = StandIn(url=base_url(_stand_in_server))
    monkeypatch.setenv("OPENAI_BASE_URL", _stand_in_server.stand_in.url)
    monkeypatch.setenv("OPENAI_API_KEY", "dummy")
    return _stand_in_server.stand_in
