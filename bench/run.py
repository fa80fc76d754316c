"""`invoke bench`: run the benchmarks, print a table, write bench/results.json.

    python -m bench.run [--runs 5] [--only SECTION,...]   (sections: SECTIONS below)

Every timed figure is the median of `--runs` runs, with min and max. A run
with --only replaces those sections in results.json and keeps the others.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import (
    builds,
    deploys,
    health,
    image_sizes,
    load,
    machine,
    remote,
    rollout,
    slipway_command,
    swarm,
    tests_session,
    tls,
)
from bench.figures import BenchError, Figure, Report, fmt
from bench.workspace import Workspace, source, workspace

Section = Callable[[Workspace, int, Report], list[Figure]]

# In the order a full run takes them: the cold builds first empty the cache.
SECTIONS: dict[str, Section] = {
    "cold": builds.cold,
    "warm": builds.warm,
    "noop": builds.noop,
    "cli": slipway_command.measure,
    "size": image_sizes.measure,
    "health": health.measure,
    "deploy": deploys.measure,
    "load": load.measure,
    "rollout": rollout.measure,
    "tests": tests_session.measure,
    "remote": remote.measure,
    "tls": tls.measure,
    "cluster": swarm.measure,
}
RESULTS = Path(__file__).resolve().parent / "results.json"
MIN_RUNS = 5

__all__ = ["BenchError", "main"]


def chosen(only: Sequence[str]) -> list[str]:
    unknown = [name for name in only if name not in SECTIONS]
    if unknown:
        raise BenchError(f"unknown section {', '.join(unknown)}: choose from {', '.join(SECTIONS)}")
    return [name for name in SECTIONS if not only or name in only]


def render(figures: Sequence[Figure]) -> str:
    """A Markdown table: the terminal shows it plainly, the README takes it as is."""
    rows = [("section", "measurement", "median", "min", "max", "runs")]
    rows += [
        (
            f.section,
            f.name,
            fmt(f.median, f.unit),
            fmt(f.min, f.unit),
            fmt(f.max, f.unit),
            str(len(f.samples)),
        )
        for f in figures
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [
        "| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |"
        for row in rows
    ]
    lines.insert(1, "| " + " | ".join("-" * w for w in widths) + " |")
    return "\n".join(lines)


def write(results: Path, name: str, figures: Sequence[Figure], *, context: dict[str, Any]) -> None:
    """Put one section into results.json, keeping the others, with machine and tools."""
    document: dict[str, Any] = json.loads(results.read_text()) if results.is_file() else {}
    sections = document.get("sections", {})
    now = datetime.now(UTC).isoformat(timespec="seconds")
    sections[name] = {"date": now, **context, "figures": [f.as_json() for f in figures]}
    document = {
        "date": now,
        "machine": machine.machine(),
        "tools": machine.tools(),
        "sections": {key: sections[key] for key in SECTIONS if key in sections},
    }
    results.write_text(json.dumps(document, indent=2) + "\n")


def main(*, runs: int = MIN_RUNS, only: Sequence[str] = (), report: Report = print) -> str:
    """Run the chosen sections on a copy of the repository; the table they produced."""
    names = chosen(only)
    if runs < 1:
        raise BenchError(f"--runs must be at least 1, got {runs}")
    if runs < MIN_RUNS:
        report(f"bench: {runs} runs per figure; the published figures use {MIN_RUNS}")
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        # Started in the background (`nohup ... &`): children would inherit the
        # ignored Ctrl-C, and tests/docker's Ctrl-C test would hang on them.
        signal.signal(signal.SIGINT, signal.default_int_handler)
    command = f"invoke bench --runs {runs}" + (f" --only {','.join(names)}" if only else "")
    sections: dict[str, list[Figure]] = {}
    with workspace(report) as ws:
        for name in names:
            report(f"bench: {name} ...")
            # Other work on the machine skews the figures: say how busy it was.
            context = {
                "command": command,
                "runs": runs,
                "source": source(),
                "load_average": [round(load, 2) for load in os.getloadavg()],
            }
            sections[name] = SECTIONS[name](ws, runs, report)
            # Saved as each section ends: a failure later keeps what was measured.
            write(RESULTS, name, sections[name], context=context)
    table = render([f for figures in sections.values() for f in figures])
    report(table)
    report(f"bench: written to {RESULTS}")
    return table


def cli(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    parser.add_argument("--runs", type=int, default=MIN_RUNS, help="timed runs per figure")
    parser.add_argument("--only", default="", help=f"comma-separated: {','.join(SECTIONS)}")
    args = parser.parse_args(argv)
    try:
        main(runs=args.runs, only=[s for s in args.only.split(",") if s])
    except BenchError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(cli())
