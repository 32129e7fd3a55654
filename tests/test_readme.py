"""The README's configuration table is the user's reference: every setting must be in it, with its variable."""

from __future__ import annotations

import re

from pydantic import AliasChoices
from pydantic.fields import FieldInfo

from assistant.settings import Settings
from tests.conftest import PROJECT


def variable_of(name: str, field: FieldInfo) -> str:
    """The environment variable a setting is read from: its own name for Slack's and the LLM clients' ones."""
    alias = field.validation_alias
    if isinstance(alias, AliasChoices):
        return str(alias.choices[0])
    return f"BRIEFINGS_{name.upper()}"


def test_the_readme_lists_every_setting_with_its_variable_and_description() -> None:
    readme = (PROJECT / "README.md").read_text(encoding="utf-8")
    rows = {match.group(1): match.group(0) for match in re.finditer(r"^\| `([A-Z][A-Z_]+)` \|.*$", readme, re.M)}
    for name, field in Settings.model_fields.items():
        variable = variable_of(name, field)
        assert variable in rows, f"{variable} is missing from the README's configuration table"
        assert field.description and field.description in rows[variable], f"{variable}: description differs"


def test_every_test_the_bad_input_table_names_exists() -> None:
    """The table promises that a test checks each row; a renamed or deleted test must not leave it promising."""
    readme = (PROJECT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Bad input", 1)[1].split("\n## ", 1)[0]
    named = re.findall(r"`(test_\w+\.py)(?:::(test_\w+))?`", section)
    assert len(named) >= 10
    sources = {path.name: path.read_text(encoding="utf-8") for path in (PROJECT / "tests").rglob("test_*.py")}
    for module, function in named:
        assert module in sources, f"{module} named in the README does not exist"
        if function:
            assert re.search(rf"^def {function}\(", sources[module], re.M), f"{module}::{function} does not exist"
