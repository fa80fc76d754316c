"""`slipway --help` without importing invoke (about 0.15-0.3 s of imports).

help.json, beside this file, is what invoke's Program prints for `slipway
--help`, `slipway -h` and a bare `slipway`, split into the text it prints as
is and its two tables (core options, subcommands), whose help column invoke
wraps to the terminal's width: the columns of stdout's terminal, 80 when
stdout is not one. :func:`render` wraps them the same way, so the output is
invoke's at every width; where invoke's own wrapping would fail (a terminal
too narrow for the option names) the command goes through invoke as before.

tests/unit/test_help.py compares :func:`render` with invoke's output at
several widths, so a task, a docstring or a flag changed without
regenerating the file fails there. Regenerate it with::

    uv run python -m slipway.cli._help
"""

from __future__ import annotations

import io
import json
import os
import sys
import textwrap
from collections.abc import Sequence
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any

DATA = Path(__file__).with_name("help.json")
# The arguments for which invoke prints its help and exits.
ARGV: tuple[list[str], ...] = ([], ["--help"], ["-h"])
# invoke's Program.leading_indent_width and col_padding.
INDENT, PADDING = 2, 3

# A block of the help: ("text", str) is printed as is, ("rows", [[name, help], ...])
# is a table of invoke's print_columns.
Block = tuple[str, Any]


def wanted(argv: Sequence[str]) -> bool:
    """Whether ``argv`` (without the program name) asks only for the help."""
    return list(argv) in ARGV


def width() -> int:
    """The columns invoke wraps to: those of stdout's terminal, else 80."""
    try:
        return os.get_terminal_size(sys.stdout.fileno()).columns or 80
    except (AttributeError, OSError, ValueError):
        return 80


def table(rows: Sequence[Sequence[str]], columns: int) -> str | None:
    """invoke's print_columns: names padded, help wrapped to what is left of
    ``columns``; None where invoke's TextWrapper would refuse the width."""
    name_width = max(len(name) for name, _ in rows)
    help_width = columns - name_width - INDENT - PADDING - 1
    if help_width < 1:
        return None
    wrapper = textwrap.TextWrapper(width=help_width)
    lines = []
    for name, text in rows:
        spec = " " * INDENT + name.ljust(name_width) + " " * PADDING
        chunks = wrapper.wrap(text)
        if not chunks:
            lines.append(spec.rstrip())
            continue
        lines.append(spec + chunks[0])
        lines += [" " * len(spec) + chunk for chunk in chunks[1:]]
    return "\n".join(lines) + "\n\n"


def render(blocks: Sequence[Block], columns: int) -> str | None:
    """The help as invoke prints it at ``columns``; None when it cannot."""
    parts = []
    for kind, value in blocks:
        part = value if kind == "text" else table(value, columns)
        if part is None:
            return None
        parts.append(part)
    return "".join(parts)


def load() -> list[Block]:
    return [(kind, value) for kind, value in json.loads(DATA.read_text())]


def show() -> bool:
    """Print the help as invoke would; False (nothing printed) when it cannot."""
    text = render(load(), width())
    if text is None:
        return False
    sys.stdout.write(text)
    sys.stdout.flush()
    return True


# --- regenerating help.json (imports invoke) ---------------------------------


def captured() -> list[Block]:
    """What invoke's Program prints for `slipway --help`, in blocks."""
    from slipway.cli._program import Slipway, make

    blocks: list[Block] = []
    out = io.StringIO()

    class Recording(Slipway):
        def print_columns(self, tuples: Sequence[tuple[str, str | None]]) -> None:
            blocks.append(("text", out.getvalue()))
            out.seek(0)
            out.truncate()
            blocks.append(("rows", [[name, text or ""] for name, text in tuples]))

    with redirect_stdout(out):
        make(Recording).run(["slipway", "--help"], exit=False)
    if out.getvalue():
        blocks.append(("text", out.getvalue()))
    return blocks


def dumped(blocks: Sequence[Block]) -> str:
    return json.dumps([list(block) for block in blocks], indent=1) + "\n"


if __name__ == "__main__":
    DATA.write_text(dumped(captured()))
    print(f"wrote {DATA}")
