"""The door into Docker: slipway.engine (every module of the package) is the
only code that uses python-on-whales' internals, sees its exceptions, builds
a docker argv or reads what a docker failure means from its output (everyone
else catches the type the engine raised: NotFound, AlreadyExists, InUse,
NotRunning...).

A grep (and, for the failures' output, a read of the syntax tree) over the
library's source; a failure names each file:line that goes around the door.
"""

from __future__ import annotations

import ast
import re
import textwrap
from pathlib import Path

import pytest

from slipway import errors

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src" / "slipway"
ENGINE = SRC / "engine"

# What only the engine may write, by what it would mean elsewhere.
AROUND_THE_DOOR = {
    "python-on-whales' internal runner": re.compile(
        r"python_on_whales\.utils|from python_on_whales import[^#\n]*\butils\b"
    ),
    "a python-on-whales exception": re.compile(
        r"DockerException|ClientNotFoundError|python_on_whales\.(exceptions|client_config)"
    ),
    "a raw docker argv": re.compile(r"\bdocker_(compose_)?cmd\b"),
}


def _lines_matching(pattern: re.Pattern[str], paths: list[Path]) -> list[str]:
    return [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in paths
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if pattern.search(line)
    ]


def _the_engine() -> list[Path]:
    """The door: every module of the engine package."""
    return sorted(ENGINE.rglob("*.py"))


def _outside_the_engine() -> list[Path]:
    return sorted(path for path in SRC.rglob("*.py") if not path.is_relative_to(ENGINE))


@pytest.mark.parametrize("what", list(AROUND_THE_DOOR))
def test_nothing_but_the_engine_goes_around_the_door(what: str) -> None:
    offences = _lines_matching(AROUND_THE_DOOR[what], _outside_the_engine())

    assert offences == [], f"{what} outside src/slipway/engine/:\n" + "\n".join(offences)


@pytest.mark.parametrize("what", list(AROUND_THE_DOOR))
def test_the_grep_finds_the_engines_own_use(what: str) -> None:
    """Each pattern matches the engine: the test above cannot pass by matching nothing."""
    assert _lines_matching(AROUND_THE_DOOR[what], _the_engine())


def test_the_grep_reads_the_whole_library() -> None:
    names = {path.relative_to(SRC).as_posix() for path in _outside_the_engine()}

    assert {
        "build/images.py",
        "checks/sizes.py",
        "data/backup.py",
        "dev.py",
        "backends/compose/stack.py",
    } <= names
    assert "engine.py" not in names
    assert not any(name.startswith("engine/") for name in names)
    assert "engine/__init__.py" in {p.relative_to(SRC).as_posix() for p in _the_engine()}


# --- the door for errors: the engine reads the output, callers catch a type ---

OUTPUT = frozenset({"stderr", "stdout"})
# What a caller would match text with.
TEXT_METHODS = frozenset(
    {"lower", "upper", "casefold", "startswith", "endswith", "find", "rfind", "index", "count"}
)
# The names an except clause or an annotation gives an engine failure.
FAILURES = frozenset(
    name
    for name, value in vars(errors).items()
    if isinstance(value, type) and issubclass(value, errors.EngineError)
) | {"SlipwayError", "Exception", "BaseException"}
# Functions that read a failure's output for what is not Docker's words.
ITS_OWN_OUTPUT = {
    "backends/compose/rollout.py:migrate": (
        "the migration's own traceback, picked for the message and details"
    ),
}


def _reads_output(node: ast.AST) -> bool:
    return any(isinstance(n, ast.Attribute) and n.attr in OUTPUT for n in ast.walk(node))


def _matching_text(tree: ast.AST) -> list[int]:
    """Lines that match text in some ``.stderr`` or ``.stdout``: ``"x" in
    exc.stderr``, ``"x" in f"{exc.stderr}{exc.stdout}"``, ``exc.stderr.lower()``,
    ``re.search(..., exc.stdout)``."""
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare) and any(
            isinstance(op, ast.In | ast.NotIn) for op in node.ops
        ):
            if _reads_output(node):
                lines.add(node.lineno)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            method, owner = node.func.attr, node.func.value
            regex = isinstance(owner, ast.Name) and owner.id == "re"
            if (method in TEXT_METHODS and _reads_output(owner)) or (
                regex and any(_reads_output(arg) for arg in node.args)
            ):
                lines.add(node.lineno)
    return sorted(lines)


def _names_a_failure(expr: ast.expr | None) -> bool:
    if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
        expr = ast.parse(expr.value, mode="eval").body
    return expr is not None and any(
        (isinstance(n, ast.Name) and n.id in FAILURES)
        or (isinstance(n, ast.Attribute) and n.attr in FAILURES)
        for n in ast.walk(expr)
    )


class _FailureOutput(ast.NodeVisitor):
    """Where a name bound to an engine failure (caught as one, or a parameter
    annotated as one) has its ``.stderr`` or ``.stdout`` read, other than
    to hand it on as a ``details=`` message: (function, line)."""

    def __init__(self) -> None:
        self.function = "<module>"
        self.found: set[tuple[str, int]] = set()

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        self._function(node)

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> None:
        self._function(node)

    def _function(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        outer, self.function = self.function, node.name
        every = [*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs]
        self._reads(node.body, {a.arg for a in every if _names_a_failure(a.annotation)})
        self.generic_visit(node)
        self.function = outer

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> None:
        if node.name and _names_a_failure(node.type):
            self._reads(node.body, {node.name})
        self.generic_visit(node)

    def _reads(self, body: list[ast.stmt], names: set[str]) -> None:
        if not names:
            return
        passed_on = {
            id(n)
            for stmt in body
            for kw in ast.walk(stmt)
            if isinstance(kw, ast.keyword) and kw.arg == "details"
            for n in ast.walk(kw.value)
        }
        self.found |= {
            (self.function, n.lineno)
            for stmt in body
            for n in ast.walk(stmt)
            if isinstance(n, ast.Attribute)
            and n.attr in OUTPUT
            and isinstance(n.value, ast.Name)
            and n.value.id in names
            and id(n) not in passed_on
        }


def _failure_output(tree: ast.AST) -> set[tuple[str, int]]:
    visitor = _FailureOutput()
    visitor.visit(tree)
    return visitor.found


def _source(text: str) -> ast.Module:
    return ast.parse(textwrap.dedent(text))


def test_no_module_but_the_engine_matches_text_in_a_commands_output() -> None:
    offences = [
        f"{path.relative_to(ROOT)}:{line}: {path.read_text().splitlines()[line - 1].strip()}"
        for path in _outside_the_engine()
        for line in _matching_text(ast.parse(path.read_text()))
    ]

    assert offences == [], (
        "text matched in a command's output outside src/slipway/engine/ "
        "(catch the type the engine raises instead):\n" + "\n".join(offences)
    )


def test_an_engine_failures_output_is_only_handed_on_as_details() -> None:
    offences = [
        f"{path.relative_to(ROOT)}:{line} (in {function})"
        for path in _outside_the_engine()
        for function, line in sorted(_failure_output(ast.parse(path.read_text())))
        if f"{path.relative_to(SRC).as_posix()}:{function}" not in ITS_OWN_OUTPUT
    ]

    assert offences == [], (
        "an EngineError's stderr or stdout read outside src/slipway/engine/ "
        "(catch its type, or hand the output on as details=):\n" + "\n".join(offences)
    )


def test_the_exceptions_to_the_door_still_exist() -> None:
    """Each allowed reader still reads: the list cannot outlive its reason."""
    for where in ITS_OWN_OUTPUT:
        module, function = where.split(":")
        tree = ast.parse((SRC / module).read_text())

        assert function in {f for f, _line in _failure_output(tree)}, where


# How the library matched Docker's words before the engine raised types.
MATCHING_TEXT = {
    "in f-string": """
        try:
            create()
        except EngineError as exc:
            if "already exists" in f"{exc.stderr}{exc.stdout}":
                return None
        """,
    "not in": """
        try:
            remove()
        except EngineError as exc:
            if "not found" not in exc.stderr and "No such network" not in exc.stderr:
                raise
        """,
    "lower": """
        try:
            remove()
        except EngineError as exc:
            if exc.stderr.lower().startswith("conflict"):
                pass
        """,
    "a parameter": """
        def _failed(exc: EngineError, action: str) -> CommandFailed:
            if "is not running" in f"{exc.stderr}{exc.stdout}":
                return CommandFailed(action)
        """,
    "regex": """
        try:
            run()
        except (NotRunning, errors.NotFound) as exc:
            found = re.search("No container found", exc.stdout)
        """,
}


@pytest.mark.parametrize("how", list(MATCHING_TEXT))
def test_the_checks_find_text_matched_in_a_failures_output(how: str) -> None:
    """The tests above cannot pass by finding nothing."""
    tree = _source(MATCHING_TEXT[how])

    assert _matching_text(tree)
    assert _failure_output(tree)


@pytest.mark.parametrize(
    "text",
    [
        # A command's output handed on whole, for the edge to print.
        """
        try:
            run()
        except EngineError as exc:
            raise CommandFailed("it failed", details=exc.stdout + exc.stderr) from None
        """,
        # A type caught: nothing read.
        """
        try:
            remove()
        except NotFound:
            pass
        """,
        # Another program's output (not an engine failure) is not the door's business.
        """
        done = subprocess.run(argv, capture_output=True, text=True, check=False)
        last = done.stderr.strip().splitlines()[-1]
        """,
    ],
)
def test_the_checks_let_through_what_is_no_text_matching(text: str) -> None:
    tree = _source(text)

    assert _matching_text(tree) == []
    assert _failure_output(tree) == set()


def test_the_failure_names_the_check_knows_are_the_engines() -> None:
    assert {"EngineError", "NotFound", "AlreadyExists", "InUse", "NotRunning"} <= FAILURES
