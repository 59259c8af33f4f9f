"""The web view, the app factory and the scheduler reach the data through services only: none of
them imports a store module, and the web view imports nothing of the API."""

import ast
import pathlib

import pytest

import grading

ROOT = pathlib.Path(grading.__file__).parent
ENTRYPOINTS = sorted([*ROOT.glob("web/*.py"), ROOT / "app.py", ROOT / "scheduler.py"])


def imported(path: pathlib.Path) -> set[str]:
    """Every module a file imports, as an absolute name."""
    package = ".".join(path.relative_to(ROOT.parent).with_suffix("").parts[:-1])
    if path.name == "__init__.py":
        package = ".".join(path.relative_to(ROOT.parent).parts[:-1])
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = package.rsplit(".", node.level - 1)[0] if node.level else ""
            module = ".".join(part for part in (base, node.module) if part)
            names.add(module)
            names |= {f"{module}.{alias.name}" for alias in node.names}
    return names


@pytest.mark.parametrize("path", ENTRYPOINTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_an_entrypoint_imports_no_store_module(path):
    assert not {name for name in imported(path) if name.startswith("grading.store")}


@pytest.mark.parametrize("path", sorted(ROOT.glob("web/*.py")), ids=lambda p: p.name)
def test_the_web_view_imports_nothing_of_the_api(path):
    assert not {name for name in imported(path) if name.startswith("grading.api")}
