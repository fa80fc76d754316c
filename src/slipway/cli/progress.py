"""Progress of long commands: live steps with elapsed time on a terminal,
plain lines everywhere else.

On a terminal (and not in CI, and TERM is not ``dumb``) each reported line
becomes a step with a spinner and its elapsed time, drawn by rich, which is
imported only then. Piped, redirected or in CI the lines are printed as they
come, flushed, with no escape codes: logs and scripts read them as text.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TextIO

from slipway.handle import Report


def on_terminal(stream: TextIO) -> bool:
    """Whether ``stream`` is a person's terminal (not a pipe, a file or CI)."""
    return stream.isatty() and not os.environ.get("CI") and os.environ.get("TERM", "") != "dumb"


@contextmanager
def steps(
    stream: TextIO | None = None, *, step: Callable[[str], str | None] | None = None
) -> Iterator[Report]:
    """A Report for a command's lines, shown as steps on a terminal.

    ``step`` picks the lines that start a step and names it (None: the line
    is detail, drawn on a terminal only as part of a failure's output); by
    default every line is a step.
    """
    out = stream or sys.stdout
    if not on_terminal(out):
        yield lambda line: print(line, file=out, flush=True)
        return
    with _live(out, step or (lambda line: line)) as report:
        yield report


@contextmanager
def _live(out: TextIO, step: Callable[[str], str | None]) -> Iterator[Report]:
    from rich.console import Console
    from rich.markup import escape
    from rich.progress import (
        Progress,
        SpinnerColumn,
        TaskID,
        TextColumn,
        TimeElapsedColumn,
    )

    bar = Progress(
        SpinnerColumn(finished_text=""),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=Console(file=out),
    )
    current: list[tuple[TaskID, str]] = []

    def finish(mark: str) -> None:
        if current:
            task, title = current.pop()
            bar.update(task, description=f"{mark} {title}", total=1, completed=1)

    def report(line: str) -> None:
        title = step(line)
        if title is not None:
            finish("[green]✓[/]")
            current.append((bar.add_task(escape(title), total=None), escape(title)))

    with bar:
        try:
            yield report
        except BaseException:
            finish("[red]✗[/]")
            raise
        finish("[green]✓[/]")


_BUILD_STEP = re.compile(r"^#\d+ \[([^\]]+)\] (.+)$")


def build_step(line: str) -> str | None:
    """A Dockerfile instruction starting (``#7 [builder 3/6] RUN ...``), as
    ``builder 3/6: RUN ...``; None for the lines of its output."""
    match = _BUILD_STEP.match(line)
    return f"{match.group(1)}: {match.group(2)[:100]}" if match else None
