"""The layers of DESIGN.md ("The house"), read from the source: SQL only in grading/store/; the core
imports nothing but itself and pure libraries; services know no Flask; entrypoints (api, web, cli,
scheduler, app) reach the data through services only. Each failure names the file, the line and
the rule."""

from __future__ import annotations

import ast
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
GRADING = ROOT / "grading"

SQL_CALLS = frozenset(("execute", "executemany", "executescript", "query"))
# a statement, not a word: "DELETE" alone is an HTTP method, "BEGIN" alone is a transaction
SQL_TEXT = re.compile(r"\s*(?:(?:SELECT|INSERT|UPDATE|DELETE|PRAGMA|CREATE)\s+\S|BEGIN\b)")
# What the core may import besides itself and the standard library: pure computation, no I/O.
# orjson parses the bytes core.json_input is handed (it opens nothing).
CORE_LIBRARIES = frozenset(("numpy", "re2", "orjson"))
ENTRYPOINTS = ("api", "web", "http", "cli", "scheduler.py", "app.py")


def modules(under: Path = GRADING) -> list[Path]:
    return sorted(under.rglob("*.py"))


def name(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def docstrings(module: ast.Module) -> set[int]:
    """The ids of the docstring nodes: prose may well say SELECT."""
    found = set()
    for node in ast.walk(module):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                found.add(id(body[0].value))
    return found


def sql_in(path: Path, shown: str | None = None) -> list[str]:
    """Each SQL call or SQL text of the module, in line order, as "file:line: rule: what"."""
    module = ast.parse(path.read_text(encoding="utf-8"))
    shown = shown or name(path)
    prose = docstrings(module)
    prose |= {id(v) for n in ast.walk(module) if isinstance(n, ast.JoinedStr) for v in n.values}
    found = []
    for node in ast.walk(module):
        what = None
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in SQL_CALLS
        ):
            what = f".{node.func.attr}(...)"
        text = None
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in prose:
            text = node.value
        elif isinstance(node, ast.JoinedStr) and node.values:
            first = node.values[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                text = first.value
        if text is not None and SQL_TEXT.match(text):
            what = repr(text.strip()[:50])
        if what is not None:
            found.append((node.lineno, node.col_offset, what))
    return [
        f"{shown}:{line}: SQL outside grading/store/: {what}" for line, _, what in sorted(found)
    ]


def imports(path: Path) -> Iterator[tuple[int, str]]:
    """(line, absolute module name) of every import of the module, relative ones resolved."""
    package = path.relative_to(ROOT).with_suffix("").parts
    package = package[:-1] if package[-1] != "__init__" else package[:-1]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = ".".join(package[: len(package) - node.level + 1])
                target = f"{base}.{node.module}" if node.module else base
            else:
                target = node.module or ""
            if node.module is None:  # from . import x, y: each is a module of the package
                for alias in node.names:
                    yield node.lineno, f"{target}.{alias.name}"
            else:
                yield node.lineno, target


def top(module: str) -> str:
    return module.split(".", 1)[0]


OUTSIDE_STORE = [p for p in modules() if "store" not in p.relative_to(GRADING).parts[:1]]


@pytest.mark.parametrize("path", OUTSIDE_STORE, ids=name)
def test_no_sql_outside_the_store(path):
    problems = list(sql_in(path))
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("path", modules(GRADING / "core"), ids=name)
def test_the_core_imports_only_itself_and_pure_libraries(path):
    allowed = sys.stdlib_module_names | CORE_LIBRARIES
    problems = [
        f"{name(path)}:{line}: grading/core/ imports {module} (only grading.core, the standard"
        f" library and {', '.join(sorted(CORE_LIBRARIES))})"
        for line, module in imports(path)
        if not (module == "grading.core" or module.startswith("grading.core."))
        and top(module) not in allowed
    ]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("path", modules(GRADING / "services"), ids=name)
def test_services_know_no_flask(path):
    problems = [
        f"{name(path)}:{line}: grading/services/ imports {module} (services hold no Flask)"
        for line, module in imports(path)
        if top(module) == "flask" or top(module).startswith("flask_")
    ]
    assert not problems, "\n".join(problems)


def entrypoint_modules() -> list[Path]:
    found = []
    for entry in ENTRYPOINTS:
        path = GRADING / entry
        found += modules(path) if path.is_dir() else [path] if path.exists() else []
    return found


def test_entrypoints_reach_the_store_only_through_services():
    problems = [
        f"{name(path)}:{line}: an entrypoint imports {module} (call a service instead)"
        for path in entrypoint_modules()
        for line, module in imports(path)
        if module == "grading.store" or module.startswith("grading.store.")
    ]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("path", modules(GRADING / "web"), ids=name)
def test_the_web_view_imports_nothing_of_the_api(path):
    problems = [
        f"{name(path)}:{line}: grading/web/ imports {module} (shared plumbing is in grading/http/)"
        for line, module in imports(path)
        if module == "grading.api" or module.startswith("grading.api.")
    ]
    assert not problems, "\n".join(problems)


BLUEPRINTS = [p for folder in ("api", "web", "http") for p in modules(GRADING / folder)]


@pytest.mark.parametrize("path", BLUEPRINTS, ids=name)
def test_the_blueprints_reach_no_other_entrypoint(path):
    """A request handler calls a service, never the scheduler, the CLI or the app factory."""
    others = ("grading.scheduler", "grading.cli", "grading.app")
    problems = [
        f"{name(path)}:{line}: {module} is another entrypoint (call a service instead)"
        for line, module in imports(path)
        if any(module == other or module.startswith(other + ".") for other in others)
    ]
    assert not problems, "\n".join(problems)


def test_the_checks_see_what_they_look_for(tmp_path):
    """Each rule finds a planted breach, so a passing run means something."""
    sample = tmp_path / "sample.py"
    sample.write_text(
        '"""SELECT in a docstring is prose."""\n'
        'db.execute("SELECT 1")\n'
        'x = f"UPDATE leads SET a = {b}"\n'
        'method = "DELETE"\n'
        'begin = "BEGIN"\n'
    )
    assert sql_in(sample, "sample.py") == [
        "sample.py:2: SQL outside grading/store/: .execute(...)",
        "sample.py:2: SQL outside grading/store/: 'SELECT 1'",
        "sample.py:3: SQL outside grading/store/: 'UPDATE leads SET a ='",
        "sample.py:5: SQL outside grading/store/: 'BEGIN'",
    ]
    relative = GRADING / "services" / "grading.py"  # from grading.store ... / from .pool ...
    found = {module for _, module in imports(relative)}
    assert {"grading.store.db", "grading.services.pool", "grading.services.accounts"} <= found
    assert entrypoint_modules(), "no entrypoint found: the list of entrypoints is stale"
