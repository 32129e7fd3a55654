"""Fixtures the assistant tests share: the scripted OpenAI-compatible stand-in on a loopback port.

The code reads where the OpenAI-compatible server is from :class:`Settings` only (``openai_base_url``,
``openai_api_key``, filled from ``OPENAI_BASE_URL``/``OPENAI_API_KEY`` when settings are built). So the seed
settings of these tests point at the stand-in the way an operator's would, and :func:`stand_in` also sets the
two variables for settings built later in a test and for ``briefings`` subprocesses.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from assistant.settings import Settings
from tests.assistant.stand_in import StandIn, StandInServer, base_url, serving

STAND_IN_API_KEY = "dummy"  # the stand-in ignores it; the openai client refuses to start without one


@pytest.fixture(scope="session")
def _stand_in_server() -> Iterator[StandInServer]:
    with serving() as server:
        yield server


@pytest.fixture(scope="session")
def seed_settings(seed_settings: Settings, _stand_in_server: StandInServer) -> Settings:
    """The seed index (see ``tests/conftest.py``), its OpenAI-compatible server being the stand-in."""
    endpoint = {"openai_base_url": base_url(_stand_in_server), "openai_api_key": STAND_IN_API_KEY}
    return seed_settings.model_copy(update=endpoint)


@pytest.fixture
def stand_in(_stand_in_server: StandInServer, monkeypatch: pytest.MonkeyPatch) -> StandIn:
    """A fresh script on the shared stand-in, and the operator environment that points the client at it."""
    _stand_in_server.stand_in = StandIn(url=base_url(_stand_in_server))
    monkeypatch.setenv("OPENAI_BASE_URL", _stand_in_server.stand_in.url)
    monkeypatch.setenv("OPENAI_API_KEY", STAND_IN_API_KEY)
    return _stand_in_server.stand_in
