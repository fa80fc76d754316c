"""The library's shape: no module over 300 lines, no function over 50
(docstrings counted), so that each reads in one sitting."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "slipway"
MODULES = sorted(SRC.rglob("*.py"))


def test_no_module_is_over_300_lines() -> None:
    long = {
        path.relative_to(SRC).as_posix(): n
        for path in MODULES
        if (n := len(path.read_text().splitlines())) > 300
    }

    assert long == {}


def test_no_function_is_over_50_lines() -> None:
    long = {
        f"{path.relative_to(SRC).as_posix()}:{node.name}": lines
        for path in MODULES
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and (lines := (node.end_lineno or node.lineno) - node.lineno + 1) > 50
    }

    assert long == {}


def test_the_readme_layout_names_every_module_and_folder() -> None:
    """The README's Layout section matches the tree: each module of the
    library (by name, as `name`) and each folder (as `folder/`) is there."""
    readme = (SRC.parents[1] / "README.md").read_text()
    layout = readme.split("## Layout", 1)[1].split("\n## ", 1)[0]
    named = {
        f"`{path.parent.name}/`" if path.name == "__init__.py" else f"`{path.stem}`"
        for path in MODULES
        if "templates" not in path.parts and path != SRC / "__init__.py"
    }

    missing = sorted(named - _quoted(layout))

    assert missing == []


def _quoted(text: str) -> set[str]:
    """Every `word` of the text, and each folder named in a path (`a/b/` gives `b/`)."""
    words = set()
    for word in text.split("`")[1::2]:
        words |= {f"`{word}`", f"`{word.removesuffix('.py')}`"}
        parts = word.strip("/").split("/")
        if word.endswith("/") or len(parts) > 1:
            words |= {f"`{part}/`" for part in parts[:-1] or parts}
            words.add(f"`{parts[-1].removesuffix('.py')}`")
    return words


def test_every_engine_test_module_is_marked_docker() -> None:
    """`nox -s docker_tests` selects `-m docker`: a module without the mark
    would never run in CI, and nothing would say so."""
    unmarked = [
        path.name
        for path in sorted((SRC.parents[1] / "tests/docker").glob("test_*.py"))
        if "pytestmark = pytest.mark.docker" not in path.read_text()
    ]
    assert unmarked == []
