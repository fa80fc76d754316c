"""`slipway --help` prints invoke's own help without importing invoke."""

from __future__ import annotations

import io
import subprocess
import sys
from contextlib import redirect_stdout

import pytest

from slipway.cli import _help
from slipway.cli._program import make

REGENERATE = "regenerate it: uv run python -m slipway.cli._help"
# A narrow terminal, invoke's fallback when stdout is no terminal, wider ones.
WIDTHS = (60, 79, 80, 81, 100, 132, 200)


def invokes_help(monkeypatch: pytest.MonkeyPatch, columns: int) -> str:
    """What invoke's Program prints for `slipway --help` on a terminal that wide."""
    monkeypatch.setattr("invoke.program.pty_size", lambda: (columns, 24))
    out = io.StringIO()
    with redirect_stdout(out):
        make().run(["slipway", "--help"], exit=False)
    return out.getvalue()


def test_the_committed_help_is_what_invoke_prints_for_the_collection() -> None:
    assert _help.dumped(_help.load()) == _help.dumped(_help.captured()), (
        f"src/slipway/cli/help.json is stale: {REGENERATE}"
    )


@pytest.mark.parametrize("columns", WIDTHS)
def test_the_help_is_wrapped_as_invoke_wraps_it(
    monkeypatch: pytest.MonkeyPatch, columns: int
) -> None:
    assert _help.render(_help.load(), columns) == invokes_help(monkeypatch, columns), (
        f"src/slipway/cli/help.json or its rendering differs from invoke's help: {REGENERATE}"
    )


def test_a_terminal_too_narrow_for_the_options_is_left_to_invoke() -> None:
    assert _help.render(_help.load(), 30) is None


@pytest.mark.parametrize("argv", [[], ["--help"], ["-h"]])
def test_the_help_arguments_take_the_short_way(argv: list[str]) -> None:
    assert _help.wanted(argv)


@pytest.mark.parametrize("argv", [["-h", "build"], ["--list"], ["--version"], ["build"]])
def test_other_arguments_go_through_invoke(argv: list[str]) -> None:
    assert not _help.wanted(argv)


def test_slipway_help_imports_no_invoke_and_prints_invokes_help() -> None:
    code = (
        "import sys; sys.argv = ['slipway', '--help']\n"
        "from slipway.cli import main; main()\n"
        "assert 'invoke' not in sys.modules, 'invoke was imported'\n"
        "assert 'importlib.metadata' not in sys.modules, 'importlib.metadata was imported'\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=60
    )
    assert done.returncode == 0, done.stderr
    # Piped, so 80 columns, as invoke wraps it when stdout is no terminal.
    assert done.stdout == _help.render(_help.load(), 80)
    assert "Subcommands:\n\n  audit " in done.stdout
