"""Boundaries the design promises: the engine and the language import numpy and the standard
library only (the engine knows nothing of HTTP), and nothing in app/ calls eval or exec."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

APP = Path(__file__).resolve().parent.parent / "app"


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names.add(node.module)
    return names


@pytest.mark.parametrize(
    ("package", "allowed_project"), [("engine", ("app.engine",)), ("lang", ("app.engine", "app.lang"))]
)
def test_engine_and_language_import_numpy_and_the_standard_library_only(package, allowed_project):
    files = sorted((APP / package).glob("*.py"))
    assert files
    for path in files:
        for module in imported_modules(path):
            top = module.split(".")[0]
            ok = top in sys.stdlib_module_names or top == "numpy" or module.startswith(allowed_project)
            assert ok, f"{path.relative_to(APP.parent)} imports {module}"


def test_no_eval_or_exec_in_app():
    for path in APP.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                assert node.func.id not in {"eval", "exec", "compile", "__import__"}, path


def test_the_server_process_keeps_freed_memory_on_linux():
    """create_app raises glibc's trim and mmap thresholds (app/memory.py); CI runs on glibc Linux."""
    import sys

    from app.memory import keep_freed_memory

    assert keep_freed_memory() is sys.platform.startswith("linux")
