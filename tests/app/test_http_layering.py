"""Routes stay thin, read from the source: each route function is a few lines (parse, call the serving
layer, render), and no HTTP module reaches into a store or reads the settings (the container wires them)."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import REPO

HTTP = REPO / "app" / "http"
MOST_ROUTE_LINES = 30


def route_functions(path: Path) -> list[ast.FunctionDef | ast.AsyncFunctionDef]:
    """Functions decorated with `@router.<method>(...)`."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            calls = [d.func for d in node.decorator_list if isinstance(d, ast.Call)]
            if any(isinstance(f, ast.Attribute) and getattr(f.value, "id", "") == "router" for f in calls):
                found.append(node)
    return found


def test_every_route_function_is_a_few_lines() -> None:
    routes = [(p.name, f) for p in sorted(HTTP.glob("routes_*.py")) for f in route_functions(p)]
    assert len(routes) > 30
    long = [f"{name}:{f.name} ({f.end_lineno - f.lineno + 1} lines)" for name, f in routes
            if (f.end_lineno or 0) - f.lineno + 1 > MOST_ROUTE_LINES]  # fmt: skip
    assert long == []


def test_no_http_module_reaches_into_a_store_or_reads_the_settings() -> None:
    wrong = []
    for path in sorted(HTTP.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Attribute) and node.attr in ("store", "settings"):
                wrong.append(f"{path.name}:{node.lineno} .{node.attr}")
    assert wrong == []
