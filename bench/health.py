"""Time to healthy, from the engine's own clock: from the app container's
start to the first 200 on /health (polled every 10 ms from the host), and to
the first passing HEALTHCHECK probe, after `docker compose up --detach` of a
stopped stack (`invoke down` first, volumes kept). `invoke deploy` against
`docker compose up -d --wait` is bench/deploys.py's.
"""

from __future__ import annotations

import json
import re
import subprocess
import time
from datetime import datetime

from bench.figures import BenchError, Figure, Report
from bench.workspace import ENVIRONMENT, Workspace, shown

SECTION = "health"
POLL_SECONDS = 0.01
# Longest wait for a first 200 or a healthy container.
WAIT_SECONDS = 120


def parse_time(stamp: str) -> float:
    """Docker's RFC 3339 nanosecond times, as POSIX seconds (microsecond precision)."""
    match = re.fullmatch(r"(.+?\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)", stamp)
    if match is None:
        raise BenchError(f"unexpected time from docker inspect: {stamp!r}")
    whole, fraction, zone = match.groups()
    micros = (fraction or "0")[:6].ljust(6, "0")
    return datetime.fromisoformat(
        f"{whole}.{micros}{'+00:00' if zone == 'Z' else zone}"
    ).timestamp()


def _container_states(ws: Workspace) -> list[dict[str, object]]:
    """The State of every app container (one per replica)."""
    containers = ws.run(ws.compose("ps", "--quiet", ws.config.service)).split()
    if not containers:
        raise BenchError(f"no {ws.config.service} container after `docker compose up`")
    states: list[dict[str, object]] = [
        json.loads(line)
        for line in ws.run(
            ["docker", "inspect", "--format", "{{json .State}}", *containers]
        ).splitlines()
        if line.strip()
    ]
    return states


def _first_200_and_healthy(ws: Workspace) -> tuple[float, float]:
    """Seconds from the app container's start to its first 200, and to healthy."""
    ws.stop()
    up = ws.compose("up", "--detach")
    deadline = time.monotonic() + WAIT_SECONDS
    with ws.popen(up, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) as process:
        while ws.get("/health", timeout=1) != 200:
            if process.poll() or time.monotonic() > deadline:
                process.kill()
                _, errors = process.communicate()
                raise BenchError(f"no 200 on /health after `{shown(up)}`:\n{errors}")
            time.sleep(POLL_SECONDS)
        first_200 = time.time()
        _, errors = process.communicate(timeout=WAIT_SECONDS)
        if process.returncode != 0:
            raise BenchError(f"`{shown(up)}` exited {process.returncode}:\n{errors}")
    started, healthy = _start_and_healthy(ws, deadline)
    return first_200 - started, healthy - started


def _start_and_healthy(ws: Workspace, deadline: float) -> tuple[float, float]:
    """When the first app container started, and when the first passing probe
    of any replica ended (the proxy serves from the first healthy one)."""
    while time.monotonic() < deadline:
        states = _container_states(ws)
        passed = [
            parse_time(str(probe["End"]))
            for state in states
            if isinstance(health := state.get("Health"), dict) and health.get("Status") == "healthy"
            for probe in health.get("Log") or []
            if probe.get("ExitCode") == 0
        ]
        if passed:
            return min(parse_time(str(s["StartedAt"])) for s in states), min(passed)
        time.sleep(0.2)
    raise BenchError(f"the app was not healthy within {WAIT_SECONDS}s")


def measure(ws: Workspace, runs: int, report: Report) -> list[Figure]:
    """From the app container's start: the first 200 and the first passing probe."""
    ws.run(ws.invoke("deploy", "--env", ENVIRONMENT))  # builds prod, writes the env files
    first_200: list[float] = []
    healthy: list[float] = []
    for run in range(runs):
        to_200, to_healthy = _first_200_and_healthy(ws)
        first_200.append(to_200)
        healthy.append(to_healthy)
        report(
            f"  {SECTION} {run + 1}/{runs} from container start: "
            f"200 after {to_200:.2f} s, healthy after {to_healthy:.2f} s"
        )
    up = shown(ws.compose("up", "--detach"))
    return [
        Figure(SECTION, "container start to first 200 on /health", "s", tuple(first_200), up),
        Figure(SECTION, "container start to first passing healthcheck", "s", tuple(healthy), up),
    ]
