"""Progress: plain lines when piped or in CI, live steps on a terminal."""

from __future__ import annotations

import io
import re
import subprocess
import sys

import pytest

from slipway.cli.progress import build_step, steps


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def text(shown: str) -> str:
    """What a person reads: the output without its escape codes."""
    return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", shown)


def test_piped_lines_are_printed_as_they_come_without_escape_codes() -> None:
    out = io.StringIO()
    with steps(out) as report:
        report("building slipway/notes:prod ...")
        report("built slipway/notes:abc")
    assert out.getvalue() == "building slipway/notes:prod ...\nbuilt slipway/notes:abc\n"


def test_a_terminal_shows_each_step_done_with_its_elapsed_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setenv("TERM", "xterm-256color")
    out = Terminal()
    with steps(out) as report:
        report("building [prod]")
        report("rolling")
    shown = out.getvalue()
    assert "\x1b[" in shown
    assert "✓ building [prod]" in text(shown)  # markup in a line is shown, not interpreted
    assert "0:00:00" in shown


def test_a_failed_step_is_marked_and_the_error_goes_on(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    out = Terminal()
    with pytest.raises(RuntimeError, match="health gate"), steps(out) as report:  # noqa: PT012
        report("rolling")
        raise RuntimeError("health gate")
    assert "✗ rolling" in text(out.getvalue())


@pytest.mark.parametrize("env", [{"CI": "true", "TERM": "xterm"}, {"TERM": "dumb"}])
def test_ci_or_a_dumb_terminal_gets_plain_lines(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str]
) -> None:
    monkeypatch.delenv("CI", raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    out = Terminal()
    with steps(out) as report:
        report("building")
    assert out.getvalue() == "building\n"


def test_rich_is_not_imported_when_output_is_plain() -> None:
    code = (
        "import io, sys\n"
        "from slipway.cli.progress import steps\n"
        "with steps(io.StringIO()) as report: report('x')\n"
        "print('rich' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_only_build_instructions_are_steps() -> None:
    assert (
        build_step("#7 [builder 3/6] RUN uv sync --locked") == "builder 3/6: RUN uv sync --locked"
    )
    assert build_step("#7 0.512 Resolved 21 packages") is None
    assert build_step("#7 DONE 1.2s") is None
