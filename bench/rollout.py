"""A release switch under load: `invoke deploy` of a new release while four
loopback clients mix GETs and POSTs (bench.traffic, no retries).

Each run deploys the copy once (not timed), edits the service's source (a
new release), then starts the load, waits STEADY seconds, runs `invoke
deploy` and keeps the load going for at least MIN_SECONDS in all. It reports
requests, failed requests, the longest gap between two good answers, p50
and p99 latency in steady state (before the deploy) and during the switch
(SWITCH_WINDOW seconds either side of it), and the time from starting
`invoke deploy` to the switch (when it prints "switched the proxy").
"""

from __future__ import annotations

import subprocess
import time

from bench.figures import BenchError, Figure, Report
from bench.traffic import Traffic
from bench.workspace import ENVIRONMENT, Workspace, shown

SECTION = "rollout"
STEADY = 3.0
MIN_SECONDS = 20.0
SWITCH_WINDOW = 1.0
DEPLOY_TIMEOUT = 600


def _deploy_until_switch(ws: Workspace) -> float:
    """Run `invoke deploy`; the monotonic time it printed the switch."""
    command = ws.invoke("deploy", "--env", ENVIRONMENT)
    process = ws.popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    switched, lines = None, []
    for line in process.stdout or ():
        lines.append(line)
        if switched is None and line.startswith("switched the proxy"):
            switched = time.monotonic()
    if process.wait(timeout=DEPLOY_TIMEOUT) != 0 or switched is None:
        tail = "".join(lines[-15:])
        raise BenchError(f"`{shown(command)}` did not switch the release:\n{tail}")
    return switched


def measure(ws: Workspace, runs: int, report: Report) -> list[Figure]:
    names = (
        ("requests", "count"),
        ("failed requests", "count"),
        ("longest gap between good answers", "s"),
        ("p50 latency, steady", "ms"),
        ("p99 latency, steady", "ms"),
        ("p50 latency, switch", "ms"),
        ("p99 latency, switch", "ms"),
        ("invoke deploy to the switch", "s"),
    )
    samples: dict[str, list[float]] = {name: [] for name, _ in names}
    ws.run(ws.invoke("deploy", "--env", ENVIRONMENT))
    for run in range(runs):
        ws.edit_source()
        with Traffic(f"http://127.0.0.1:{ws.port}", min_seconds=MIN_SECONDS) as load:
            began = time.monotonic()
            time.sleep(STEADY)
            started = time.monotonic()
            switched = _deploy_until_switch(ws)
        steady = load.latency_ms(began, started)
        during = load.latency_ms(switched - SWITCH_WINDOW, switched + SWITCH_WINDOW)
        figures = (
            len(load.outcomes),
            len(load.failed),
            load.longest_gap(),
            *steady,
            *during,
            switched - started,
        )
        for (name, _unit), value in zip(names, figures, strict=True):
            samples[name].append(float(value))
        report(f"  run {run + 1}/{runs}: {load.summary()}")
    ws.restore_source()
    command = f"{shown(ws.invoke('deploy'))} under 4 loopback clients"
    return [Figure(SECTION, name, unit, tuple(samples[name]), command) for name, unit in names]
