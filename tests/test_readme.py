"""The reference tables the code defines stay true where people read them (the docs/ pages), and the front page
stays a front page: short, and one click from every other page.

- docs/configuration.md lists every setting with its variable and its description.
- docs/getting-started.md lists every ``briefings`` command, and every test its bad-input table names exists.
- README.md is at most 150 lines and links every page under docs/.
"""

from __future__ import annotations

import re

import typer.main
from pydantic import AliasChoices
from pydantic.fields import FieldInfo

from assistant.adapters.cli import app
from assistant.settings import Settings
from tests.conftest import PROJECT

DOCS = PROJECT / "docs"
MAX_FRONT_PAGE_LINES = 150


def variable_of(name: str, field: FieldInfo) -> str:
    """The environment variable a setting is read from: its own name for Slack's and the LLM clients' ones."""
    alias = field.validation_alias
    if isinstance(alias, AliasChoices):
        return str(alias.choices[0])
    return f"BRIEFINGS_{name.upper()}"


def test_the_configuration_page_lists_every_setting_with_its_variable_and_description() -> None:
    page = (DOCS / "configuration.md").read_text(encoding="utf-8")
    rows = {match.group(1): match.group(0) for match in re.finditer(r"^\| `([A-Z][A-Z_]+)` \|.*$", page, re.M)}
    for name, field in Settings.model_fields.items():
        variable = variable_of(name, field)
        assert variable in rows, f"{variable} is missing from the table in docs/configuration.md"
        assert field.description and field.description in rows[variable], f"{variable}: description differs"


def test_every_test_the_bad_input_table_names_exists() -> None:
    """The table promises that a test checks each row; a renamed or deleted test must not leave it promising."""
    page = (DOCS / "getting-started.md").read_text(encoding="utf-8")
    section = page.split("## Bad input", 1)[1].split("\n## ", 1)[0]
    named = re.findall(r"`(test_\w+\.py)(?:::(test_\w+))?`", section)
    assert len(named) >= 10
    sources = {path.name: path.read_text(encoding="utf-8") for path in (PROJECT / "tests").rglob("test_*.py")}
    for module, function in named:
        assert module in sources, f"{module} named in docs/getting-started.md does not exist"
        if function:
            assert re.search(rf"^def {function}\(", sources[module], re.M), f"{module}::{function} does not exist"


def test_the_command_table_names_every_command() -> None:
    page = (DOCS / "getting-started.md").read_text(encoding="utf-8")
    section = page.split("## Command line", 1)[1].split("\n## ", 1)[0]
    group = typer.main.get_command(app)
    assert isinstance(group, typer.core.TyperGroup)
    for name in group.commands:
        assert f"`briefings {name}" in section, f"briefings {name} is missing from docs/getting-started.md's commands"
    assert "`briefings --version`" in section


def test_the_front_page_is_short_and_links_every_page() -> None:
    readme = (PROJECT / "README.md").read_text(encoding="utf-8")
    assert len(readme.splitlines()) <= MAX_FRONT_PAGE_LINES
    for page in sorted(DOCS.glob("*.md")):
        assert f"](docs/{page.name})" in readme, f"README.md does not link docs/{page.name}"
    for page in sorted(DOCS.glob("*.md")):
        first = page.read_text(encoding="utf-8").split("\n\n", 2)[1]
        assert first.startswith("*For "), f"docs/{page.name} should first say who it is for"
