"""The `slipway` command itself: how long its help takes, and its builds.

- `slipway --help`, printed from the committed help without importing
  invoke, and `slipway --list`, which goes through invoke's Program like
  every command: the floor a command pays before it does anything. Each is
  the median of many runs (at least 20), one after the other.
- A no-op `slipway build --target prod` and a rebuild after a one-line
  change, against `docker buildx build` of the same Dockerfile and target,
  timed in pairs as the `noop` and `warm` sections time `invoke build`.
"""

from __future__ import annotations

from dataclasses import replace

from bench import builds
from bench.figures import Figure, Report
from bench.workspace import Workspace, shown

SECTION = "cli"
# Runs of the help per --runs: a run takes a tenth of a second.
HELP_RUNS, MIN_HELP_RUNS = 4, 20


def _startup(ws: Workspace, runs: int, report: Report, *args: str) -> Figure:
    command = ws.slipway(*args)
    ws.run(command)  # the first run writes the copy's bytecode
    samples = tuple(ws.timed(command) for _ in range(max(MIN_HELP_RUNS, runs * HELP_RUNS)))
    report(f"  {SECTION} {shown(command)}: median of {len(samples)} runs")
    return Figure(SECTION, shown(command), "s", samples, shown(command))


def _named(situation: str, figures: list[Figure]) -> list[Figure]:
    """The pair's figures, their names saying which build they measure."""
    return [replace(f, name=f"{situation}: {f.name}") for f in figures]


def measure(ws: Workspace, runs: int, report: Report) -> list[Figure]:
    figures = [_startup(ws, runs, report, "--help"), _startup(ws, runs, report, "--list")]
    noop = builds.noop(ws, runs, report, section=SECTION, via="slipway")
    warm = builds.warm(ws, runs, report, section=SECTION, via="slipway")
    return [*figures, *_named("no-op build", noop), *_named("rebuild after an edit", warm)]
