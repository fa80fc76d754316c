"""A deploy's own cost against the engine's (issue 25's aims), each slipway
deploy's timeline kept phase by phase.

- from nothing to healthy: `slipway deploy` against `docker compose up -d
  --wait` on the same files and release, both after `invoke down` (the volumes kept
  and not timed), alternating;
- a redeploy after a committed one-line change: `slipway deploy` against the
  raw way, `docker buildx build --target prod` then `docker compose up -d
  --wait` on the new image (which recreates the app containers: downtime).
  The raw runs come first as a block, then slipway's, each preceded by its
  own first deploy: the two ways leave the stack in different shapes, and a
  run of one must not pay for the other's;
- a deploy with nothing to do: `slipway deploy` again at once.

The aims are printed as met or not; they are never asserted in tests.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Sequence

from bench.figures import Figure, Report, ratios
from bench.pairs import compare
from bench.workspace import ENVIRONMENT, GIT_IDENTITY, Workspace, shown

SECTION = "deploy"
# slipway's time over the raw way's, at most (from nothing, a redeploy).
RATIO_AIM = 1.3
# Seconds a deploy with nothing to do may take, at most.
NOTHING_AIM = 1.0
RAW_TAG = "raw"


def _commit_an_edit(ws: Workspace) -> None:
    """A one-line change to the service's source, committed in the copy."""
    ws.edit_source()
    for step in (["add", "--all"], ["commit", "--quiet", "--message", "bench edit"]):
        subprocess.run(
            ["git", *step], cwd=ws.root, env={**ws.environ(), **GIT_IDENTITY}, check=True
        )


def _deploy(ws: Workspace) -> tuple[float, list[tuple[str, float]]]:
    """`slipway deploy --json`: its seconds and its timeline."""
    began = time.perf_counter()
    out = ws.run(ws.slipway("deploy", "--env", ENVIRONMENT, "--json"))
    seconds = time.perf_counter() - began
    return seconds, [(phase, float(s)) for phase, s in json.loads(out)["timeline"]]


def _raw_redeploy(ws: Workspace) -> float:
    """The build and `compose up -d --wait` on its image, timed together."""
    ref = ws.ref(RAW_TAG)
    up = ["env", f"SLIPWAY_IMAGE={ref}", *ws.compose("up", "-d", "--wait")]
    began = time.perf_counter()
    ws.run(ws.buildx("prod", ref=ref))
    ws.run(up)
    return time.perf_counter() - began


def _from_nothing(ws: Workspace, runs: int, report: Report) -> list[Figure]:
    return compare(
        ws,
        SECTION,
        runs=runs,
        sides={
            "from nothing: slipway deploy": ws.slipway("deploy", "--env", ENVIRONMENT),
            "from nothing: docker compose up -d --wait": ws.compose("up", "-d", "--wait"),
        },
        before=ws.stop,
        report=report,
    )


def _phases(timelines: Sequence[Sequence[tuple[str, float]]]) -> list[Figure]:
    """Each phase of the redeploys, its samples across the runs."""
    names = [phase for phase, _ in timelines[0]]
    return [
        Figure(
            SECTION,
            f"redeploy phase: {name}",
            "s",
            tuple(dict(t).get(name, 0.0) for t in timelines),
            "slipway deploy --json (timeline)",
        )
        for name in names
    ]


def _redeploys(ws: Workspace, runs: int, report: Report) -> list[Figure]:
    ws.stop()
    ws.run(ws.compose("up", "-d", "--wait"))
    raw: list[float] = []
    for run in range(runs):
        _commit_an_edit(ws)
        raw.append(_raw_redeploy(ws))
        report(f"  {SECTION} {run + 1}/{runs} raw redeploy: {raw[-1]:.2f} s")
    ws.stop()
    ws.run(["docker", "image", "rm", ws.ref(RAW_TAG)])
    ws.run(ws.slipway("deploy", "--env", ENVIRONMENT))
    ours: list[float] = []
    timelines = []
    for run in range(runs):
        _commit_an_edit(ws)
        seconds, timeline = _deploy(ws)
        ours.append(seconds)
        timelines.append(timeline)
        report(f"  {SECTION} {run + 1}/{runs} slipway redeploy: {seconds:.2f} s {timeline}")
    raw_command = f"{shown(ws.buildx('prod'))} && {shown(ws.compose('up', '-d', '--wait'))}"
    return [
        Figure(SECTION, "redeploy: slipway deploy", "s", tuple(ours), "slipway deploy"),
        Figure(SECTION, "redeploy: build, compose up -d --wait", "s", tuple(raw), raw_command),
        ratios(SECTION, "redeploy: slipway / raw", ours, raw),
        *_phases(timelines),
    ]


def _nothing_to_do(ws: Workspace, runs: int, report: Report) -> list[Figure]:
    seconds: list[float] = []
    for run in range(runs):
        seconds.append(_deploy(ws)[0])
        report(f"  {SECTION} {run + 1}/{runs} nothing to do: {seconds[-1]:.2f} s")
    return [Figure(SECTION, "nothing to do: slipway deploy", "s", tuple(seconds), "slipway deploy")]


def _aims(figures: Sequence[Figure], report: Report) -> None:
    by_name = {f.name: f.median for f in figures}
    for name, aim, shown_aim in (
        ("overhead: slipway / raw CLI", RATIO_AIM, f"from nothing at most {RATIO_AIM}x"),
        ("redeploy: slipway / raw", RATIO_AIM, f"a redeploy at most {RATIO_AIM}x"),
        ("nothing to do: slipway deploy", NOTHING_AIM, f"nothing to do under {NOTHING_AIM} s"),
    ):
        value = by_name[name]
        report(f"  aim {shown_aim}: {value:.2f} ({'met' if value <= aim else 'not met'})")


def measure(ws: Workspace, runs: int, report: Report) -> list[Figure]:
    """From nothing, a redeploy, nothing to do; the aims met or not."""
    ws.run(ws.slipway("deploy", "--env", ENVIRONMENT))  # builds prod, writes the env files
    figures = [
        *_from_nothing(ws, runs, report),
        *_redeploys(ws, runs, report),
        *_nothing_to_do(ws, runs, report),
    ]
    _aims(figures, report)
    ws.restore_source()
    return figures
