"""What every ``briefings`` command shares: how errors end a command, how flags become settings, common options.

Owns the conventions of the command line, so each command module only states its own verb. Must not compute
answers, open the index or import a command module (they import this one).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from assistant.errors import BriefingsError, ConfigurationError

if TYPE_CHECKING:
    from assistant.settings import Settings

F = TypeVar("F", bound=Callable[..., Any])

IndexOption = Annotated[
    Path | None, typer.Option("--index", help="Index folder [default: $BRIEFINGS_INDEX or .briefings]")
]
LlmOption = Annotated[str | None, typer.Option("--llm", help="extractive (default), openai:MODEL or ollama:MODEL")]
ChromaOption = Annotated[
    str | None, typer.Option("--chroma-url", help="Use a Chroma server, e.g. http://127.0.0.1:8000")
]


def user_errors(command: F) -> F:
    """Turn the project's errors into ``error: <message>`` and exit 1, and Ctrl-C into exit 130."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except BriefingsError as error:
            typer.echo(f"error: {error}", err=True)
            raise typer.Exit(1) from None
        except KeyboardInterrupt:
            typer.echo("interrupted", err=True)
            raise typer.Exit(130) from None

    return wrapper  # type: ignore[return-value]


def settings_from(**overrides: Any) -> Settings:
    """Settings from the environment, with the flags that were given taking precedence."""
    from pydantic import ValidationError

    from assistant.settings import Settings

    try:
        return Settings(**{name: value for name, value in overrides.items() if value is not None})
    except ValidationError as error:
        problem = error.errors()[0]
        where = ".".join(str(part) for part in problem["loc"]) or "settings"
        raise ConfigurationError(f"Invalid setting {where}: {problem['msg']}") from None
