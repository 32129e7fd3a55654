"""The package's layout rules, checked on the source text alone: nothing here imports the project.

- Adapters stay thin: from the project they import only the service side (``assistant.service``, ``types``,
  ``settings``, ``errors`` and each other), and only the command line's modules also front
  ``assistant.measure``. Every import counts, those inside functions too.
- Modules stay readable: none under ``assistant/`` or ``index/`` is over 400 lines.
- One place reads the environment: ``assistant/settings.py``. Anywhere else, ``os.environ`` may only be written
  (``setdefault``, an item assigned or deleted while setting up a process); every other use is a read, unless
  :data:`ALLOWED_ENVIRONMENT_READS` names the function and says why.

Each rule is a function from ``{path: source}`` to problems, and each is shown failing on a small bad tree,
so a rule that quietly stopped matching would fail its own test.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from fnmatch import fnmatch
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
PACKAGES = ("assistant", "index")
MAX_LINES = 400

ADAPTERS = "assistant/adapters/"
ADAPTER_IMPORTS = (
    "assistant.service",
    "assistant.types",
    "assistant.settings",
    "assistant.errors",
    "assistant.adapters",
)
MEASURE_FRONTS = ("assistant/adapters/cli*.py", "assistant/adapters/console.py")  # the CLI runs eval and bench
MEASURE = "assistant.measure"
TRAIN = "assistant.train"  # and rebuilds the reader

ENVIRONMENT_OWNER = "assistant/settings.py"
ALLOWED_ENVIRONMENT_READS = {
    # A child process needs the caller's PATH, HOME, locale and virtualenv to start at all, and Settings hold
    # only the project's own variables; the child builds its own Settings from what it is given.
    ("assistant/measure/bench.py", "child_environment"): "copies the environment for a child process",
}
ENVIRONMENT_NAMES = {"environ", "environb"}
GETENV_NAMES = {"getenv", "getenvb"}

Modules = dict[str, str]


def python_files(root: Path, folders: tuple[str, ...] = PACKAGES) -> Modules:
    """Every module under ``folders`` of ``root``, as its path relative to ``root`` and its source."""
    return {
        path.relative_to(root).as_posix(): path.read_text(encoding="utf-8")
        for folder in folders
        for path in sorted((root / folder).rglob("*.py"))
    }


# ------------------------------------------------------------------------------------ adapters' imports
def adapter_import_problems(modules: Modules) -> list[str]:
    """``path:line: <import>`` for each project import an adapter may not make."""
    problems = []
    for path, source in sorted(modules.items()):
        if not path.startswith(ADAPTERS):
            continue
        fronts_measure = any(fnmatch(path, pattern) for pattern in MEASURE_FRONTS)
        allowed = ADAPTER_IMPORTS + ((MEASURE, TRAIN) if fronts_measure else ())
        for line, module, name in sorted(imports(path, source), key=lambda found: found[0]):
            if module.split(".")[0] not in PACKAGES:
                continue
            if _within(module, allowed) or (name is not None and _within(f"{module}.{name}", allowed)):
                continue
            shown = f"from {module} import {name}" if name is not None else f"import {module}"
            problems.append(f"{path}:{line}: {shown}")
    return problems


def imports(path: str, source: str) -> Iterator[tuple[int, str, str | None]]:
    """Every import in the module, functions included: its line, the absolute module, and the name taken."""
    package = path.removesuffix(".py").split("/")[:-1]  # a module's package; for __init__.py, its own
    for node in ast.walk(ast.parse(source, filename=path)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name, None
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            for alias in node.names:
                yield node.lineno, module, alias.name


def _within(module: str, allowed: tuple[str, ...]) -> bool:
    return any(module == prefix or module.startswith(prefix + ".") for prefix in allowed)


# ------------------------------------------------------------------------------------ module length
def long_module_problems(modules: Modules, limit: int = MAX_LINES) -> list[str]:
    """``path: N lines`` for each module over ``limit`` lines."""
    counts = {path: len(source.splitlines()) for path, source in modules.items()}
    return [f"{path}: {count} lines" for path, count in sorted(counts.items()) if count > limit]


# ------------------------------------------------------------------------------------ environment reads
def environment_problems(modules: Modules) -> list[str]:
    """``path:line: <use>`` for each read of the environment outside the settings module and the allow-list."""
    return [
        f"{path}:{line}: {use}"
        for path, source in sorted(modules.items())
        if path != ENVIRONMENT_OWNER
        for line, use, function in sorted(environment_reads(path, source), key=lambda found: found[0])
        if (path, function) not in ALLOWED_ENVIRONMENT_READS
    ]


def environment_reads(path: str, source: str) -> Iterator[tuple[int, str, str | None]]:
    """Each read of the process environment: its line, the expression, and the enclosing function's name."""
    tree = ast.parse(source, filename=path)
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    os_names, environ_names, getenv_names = _os_aliases(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in os_names:
            is_environ, is_getenv = node.attr in ENVIRONMENT_NAMES, node.attr in GETENV_NAMES
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
            is_environ, is_getenv = node.id in environ_names, node.id in getenv_names
        else:
            continue
        if is_getenv or (is_environ and not _is_write(node, parents)):
            yield node.lineno, _use(node, parents), _enclosing_function(node, parents)


def _os_aliases(tree: ast.AST) -> tuple[set[str], set[str], set[str]]:
    """The names bound to ``os``, to ``os.environ`` and to ``os.getenv`` (``import os as o`` and the like)."""
    os_names, environ_names, getenv_names = set(), set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            os_names |= {alias.asname for alias in node.names if alias.name == "os" and alias.asname}
            os_names |= {"os" for alias in node.names if alias.name.split(".")[0] == "os" and not alias.asname}
        elif isinstance(node, ast.ImportFrom) and node.module == "os" and not node.level:
            for alias in node.names:
                name = alias.asname or alias.name
                if alias.name in ENVIRONMENT_NAMES:
                    environ_names.add(name)
                elif alias.name in GETENV_NAMES:
                    getenv_names.add(name)
    return os_names, environ_names, getenv_names


def _is_write(environ: ast.expr, parents: dict[ast.AST, ast.AST]) -> bool:
    """``environ.setdefault(...)``, ``environ[key] = value`` or ``del environ[key]``: setting up a process."""
    parent = parents.get(environ)
    if isinstance(parent, ast.Subscript) and parent.value is environ:
        return isinstance(parent.ctx, ast.Store | ast.Del)
    if isinstance(parent, ast.Attribute) and parent.attr == "setdefault":
        call = parents.get(parent)
        return isinstance(call, ast.Call) and call.func is parent
    return False


def _use(node: ast.expr, parents: dict[ast.AST, ast.AST]) -> str:
    """``os.environ.get``, ``os.environ['PATH']``, ``os.getenv``, or the object itself handed to something else."""
    parent = parents.get(node)
    if isinstance(parent, ast.Attribute | ast.Subscript) and parent.value is node:
        return ast.unparse(parent)
    if isinstance(parent, ast.Call) and parent.func is node:
        return ast.unparse(node)
    return f"{ast.unparse(node)} (passed on)"


def _enclosing_function(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> str | None:
    parent = parents.get(node)
    while parent is not None:
        if isinstance(parent, ast.FunctionDef | ast.AsyncFunctionDef):
            return parent.name
        parent = parents.get(parent)
    return None


# ------------------------------------------------------------------------------------ the project's tree
def test_the_checks_read_the_whole_package() -> None:
    """A wrong root would find no modules, and every check below would pass on nothing."""
    modules = python_files(PROJECT)
    assert {ENVIRONMENT_OWNER, "assistant/adapters/cli.py", "assistant/service.py", "index/store.py"} <= set(modules)


def test_adapters_import_only_the_service_side_of_the_project() -> None:
    problems = adapter_import_problems(python_files(PROJECT))
    assert not problems, (
        f"adapters may import from the project only {', '.join(ADAPTER_IMPORTS)} "
        f"(and {MEASURE} in {', '.join(MEASURE_FRONTS)}):\n" + "\n".join(problems)
    )


def test_no_module_is_over_the_line_limit() -> None:
    problems = long_module_problems(python_files(PROJECT))
    assert not problems, f"modules over {MAX_LINES} lines:\n" + "\n".join(problems)


def test_only_the_settings_module_reads_the_environment() -> None:
    problems = environment_problems(python_files(PROJECT))
    assert not problems, f"environment read outside {ENVIRONMENT_OWNER} (use a Settings field):\n" + "\n".join(problems)


def test_every_allowed_environment_read_is_still_there() -> None:
    modules = python_files(PROJECT)
    found = {(path, function) for path, source in modules.items() for _, _, function in environment_reads(path, source)}
    assert set(ALLOWED_ENVIRONMENT_READS) <= found, "an allow-list entry no longer matches a read: drop it"


# ------------------------------------------------------------------------------------ the checks can fail
BAD_ADAPTER = """\
from assistant.service import BriefingService
from assistant import settings, answer
from . import console
from ..retrieve import hybrid
import index.store


def later():
    from assistant.answer.citations import is_verified
    from assistant.measure.bench import run_bench
"""
MEASURE_FRONT = """\
from assistant.measure.evaluation import evaluate
from assistant.adapters.slack import app
from assistant.types import Answer
"""
ENVIRONMENT_READS = """\
import os.path
import os as system
from os import environ as env, getenv

os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
os.environ["HF_HUB_OFFLINE"] = "1"
del os.environ["HF_HUB_OFFLINE"]
home = os.environ.get("HOME")
path = os.environ["PATH"]
user = os.getenv("USER")
everything = dict(os.environ)
copied = env.copy()
shell = getenv("SHELL")


def child_environment():
    return {name: value for name, value in system.environ.items()}
"""


def bad_tree(root: Path) -> Modules:
    files = {
        "assistant/adapters/bad.py": BAD_ADAPTER,
        "assistant/adapters/cli_extra.py": MEASURE_FRONT,
        "assistant/settings.py": "import os\nINDEX = os.environ.get('BRIEFINGS_INDEX')\n",
        "index/long.py": "x = 1\n" * (MAX_LINES + 1),
        "index/short.py": "x = 1\n" * MAX_LINES,
        "index/setup.py": ENVIRONMENT_READS,
    }
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    return python_files(root)


def test_the_import_check_reports_each_forbidden_import_with_its_line(tmp_path: Path) -> None:
    assert adapter_import_problems(bad_tree(tmp_path)) == [
        "assistant/adapters/bad.py:2: from assistant import answer",
        "assistant/adapters/bad.py:4: from assistant.retrieve import hybrid",
        "assistant/adapters/bad.py:5: import index.store",
        "assistant/adapters/bad.py:9: from assistant.answer.citations import is_verified",
        "assistant/adapters/bad.py:10: from assistant.measure.bench import run_bench",
    ]


def test_the_length_check_reports_each_long_module_with_its_count(tmp_path: Path) -> None:
    assert long_module_problems(bad_tree(tmp_path)) == [f"index/long.py: {MAX_LINES + 1} lines"]


def test_the_environment_check_reports_each_read_but_no_write(tmp_path: Path) -> None:
    assert environment_problems(bad_tree(tmp_path)) == [
        "index/setup.py:8: os.environ.get",
        "index/setup.py:9: os.environ['PATH']",
        "index/setup.py:10: os.getenv",
        "index/setup.py:11: os.environ (passed on)",
        "index/setup.py:12: env.copy",
        "index/setup.py:13: getenv",
        "index/setup.py:17: system.environ.items",
    ]
