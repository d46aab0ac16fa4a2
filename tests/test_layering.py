"""The one-way imports of DESIGN.md, read from the source: runtime code never imports training code."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import REPO

# package -> the packages of ours it may import (DESIGN.md, "Packages and the way imports point")
ALLOWED = {
    "retrieval": {"retrieval"},
    "ingest": {"ingest", "retrieval"},
    "generation": {"generation", "retrieval"},
    "eval": {"eval", "ingest", "retrieval", "generation"},
    "app": {"app", "eval", "ingest", "retrieval", "generation"},
}
OURS = {*ALLOWED, "scripts", "tests", "bench"}
# The CLI's evaluation and training commands are the only runtime modules that reach into eval/.
EVAL_COMMANDS = {"app/cli_eval.py", "app/cli_safety.py", "app/cli_answerability.py"}


def imported_packages(path: Path) -> set[str]:
    """The modules a file imports, at module level or inside functions."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def our_imports(path: Path) -> set[str]:
    return {name for name in imported_packages(path) if name.split(".")[0] in OURS}


def modules(package: str) -> list[Path]:
    return sorted((REPO / package).rglob("*.py"))


def test_every_package_imports_only_the_packages_below_it() -> None:
    wrong = [
        f"{path.relative_to(REPO)} imports {name}"
        for package, allowed in ALLOWED.items()
        for path in modules(package)
        for name in our_imports(path)
        if name.split(".")[0] not in allowed
    ]
    assert wrong == []


def test_runtime_code_never_imports_training_code() -> None:
    wrong = [
        f"{path.relative_to(REPO)} imports {name}"
        for package in ("retrieval", "ingest", "generation", "app")
        for path in modules(package)
        for name in our_imports(path)
        if name.split(".")[0] == "eval" and str(path.relative_to(REPO)) not in EVAL_COMMANDS
    ]
    assert wrong == []


def test_fitting_models_happens_only_in_eval() -> None:
    """Training lives in eval/training: no runtime module imports scikit-learn's model fitting."""
    fitting = ("sklearn.linear_model", "sklearn.model_selection")
    wrong = [
        f"{path.relative_to(REPO)} imports {name}"
        for package in ("retrieval", "ingest", "generation", "app")
        for path in modules(package)
        for name in imported_packages(path)
        if name.startswith(fitting)
    ]
    assert wrong == []
