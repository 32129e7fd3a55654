"""The test suite's own rules: the fast selection never starts a browser, and no test writes into the project.

`make test-fast` runs ``-m "not slow and not browser"``, so a browser test left unmarked would start
Chromium there. And test artefacts belong in temporary folders: a test that saves into the project folder
overwrites files people keep (the README's screenshot) or leaves litter in the working tree.
"""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
from pathlib import Path

from tests.conftest import PROJECT

TESTS = PROJECT / "tests"
FAST = "not slow and not browser"
BROWSER_FIXTURES = {"browser", "page"}  # the Playwright fixtures of tests/assistant/test_ui_browser.py
PLAYWRIGHT_IMPORT = re.compile(r"^\s*(?:from|import)\s+playwright\b", re.MULTILINE)
COLLECTED_FIXTURES = """
import json
from pathlib import Path


def pytest_collection_finish(session):
    collected = {item.nodeid: sorted(getattr(item, "fixturenames", ())) for item in session.items}
    Path(__file__).with_suffix(".json").write_text(json.dumps(collected))
"""
PROJECT_ROOTS = {"PROJECT", "SEED_CORPUS", "__file__"}  # names that lead into the project folder
WRITING_METHODS = {"write_text", "write_bytes", "mkdir", "touch", "screenshot", "savefig", "to_csv", "dump"}
WRITING_FUNCTIONS = {"copy", "copy2", "copyfile", "copytree", "move"}  # shutil: the destination is second


def test_the_fast_selection_drives_no_browser(tmp_path: Path) -> None:
    (tmp_path / "collected_fixtures.py").write_text(COLLECTED_FIXTURES)
    command = [sys.executable, "-m", "pytest", "--collect-only", "-q", "-m", FAST, "-p", "collected_fixtures"]
    command += ["-p", "no:cacheprovider"]
    python_path = os.pathsep.join(filter(None, [str(tmp_path), os.environ.get("PYTHONPATH")]))
    done = subprocess.run(
        command, cwd=PROJECT, env={**os.environ, "PYTHONPATH": python_path}, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    collected: dict[str, list[str]] = json.loads((tmp_path / "collected_fixtures.json").read_text())
    assert collected, "nothing was collected"
    reaching_a_browser = [
        test_id
        for test_id, fixtures in collected.items()
        if BROWSER_FIXTURES & set(fixtures) or PLAYWRIGHT_IMPORT.search(_source_of(test_id))
    ]
    assert reaching_a_browser == []


def test_no_test_module_writes_into_the_project_folder() -> None:
    offending = [
        f"{module.relative_to(PROJECT)}:{line}" for module in sorted(TESTS.rglob("*.py")) for line in _writes(module)
    ]
    assert offending == []


def _source_of(test_id: str) -> str:
    """The source of the test function named by a pytest id (``path::name[params]``)."""
    path, _, name = test_id.partition("::")
    name = name.split("[")[0].split("::")[-1]
    tree = ast.parse((PROJECT / path).read_text(encoding="utf-8"))
    functions = [node for node in ast.walk(tree) if isinstance(node, ast.FunctionDef) and node.name == name]
    return "\n".join(ast.unparse(function) for function in functions)


def _writes(module: Path) -> list[int]:
    """Lines where a call writes to a path built from the project folder (directly or via a module constant)."""
    tree = ast.parse(module.read_text(encoding="utf-8"))
    inside = _project_names(tree)
    lines = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        targets: list[ast.AST] = []
        if isinstance(node.func, ast.Attribute) and node.func.attr in WRITING_METHODS:
            targets = [node.func.value, *(keyword.value for keyword in node.keywords if keyword.arg == "path")]
        elif isinstance(node.func, ast.Attribute) and node.func.attr in WRITING_FUNCTIONS:
            targets = node.args[1:2]
        elif isinstance(node.func, ast.Name) and node.func.id == "open" and _opens_for_writing(node):
            targets = node.args[:1]
        if any(_mentions(target, inside) for target in targets):
            lines.append(node.lineno)
    return lines


def _project_names(tree: ast.Module) -> set[str]:
    """Module-level names whose value is built from a path inside the project."""
    names = set(PROJECT_ROOTS)
    assignments = [node for node in tree.body if isinstance(node, ast.Assign)]
    grown = True
    while grown:
        before = len(names)
        for assignment in assignments:
            if _mentions(assignment.value, names):
                names |= {target.id for target in assignment.targets if isinstance(target, ast.Name)}
        grown = len(names) > before
    return names


def _mentions(node: ast.AST, names: set[str]) -> bool:
    return any(isinstance(child, ast.Name) and child.id in names for child in ast.walk(node))


def _opens_for_writing(call: ast.Call) -> bool:
    modes = [*call.args[1:2], *(keyword.value for keyword in call.keywords if keyword.arg == "mode")]
    return any(isinstance(mode, ast.Constant) and set(str(mode.value)) & set("wax+") for mode in modes)
