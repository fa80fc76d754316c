"""One comparison: slipway's command and the raw CLI's, timed in alternating pairs."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from bench.figures import Figure, Report, ratios
from bench.workspace import Workspace, shown


def nothing() -> None:
    """No preparation, or no check, between runs."""


def compare(
    ws: Workspace,
    section: str,
    *,
    runs: int,
    sides: Mapping[str, Sequence[str]],
    before: Callable[[], object] = nothing,
    after: Callable[[], object] = nothing,
    report: Report,
) -> list[Figure]:
    """Run `before`, the timed command, then `after`, `runs` times for each side.

    ``sides`` names two commands, slipway's first, then the raw CLI's. The
    order alternates from run to run so neither always runs right after the other.
    """
    (ours, ours_command), (raw, raw_command) = sides.items()
    times: dict[str, list[float]] = {ours: [], raw: []}
    for run in range(runs):
        for name in (ours, raw) if run % 2 == 0 else (raw, ours):
            before()
            times[name].append(ws.timed(sides[name]))
            after()
            report(f"  {section} {run + 1}/{runs} {name}: {times[name][-1]:.2f} s")
    return [
        Figure(section, ours, "s", tuple(times[ours]), shown(ours_command)),
        Figure(section, raw, "s", tuple(times[raw]), shown(raw_command)),
        ratios(section, "overhead: slipway / raw CLI", times[ours], times[raw]),
    ]
