"""A warm `nox -s docker_tests` against the same in-image test run by hand.

The session first builds the test target and runs the service's tests in it
(slipway.build.testrun), logs `reports: ...`, then runs tests/docker. The time to
that log line is the part a user could do by hand with `docker buildx build
--target test` and `docker run --rm <image>:test pytest ...` (same pytest
arguments, same reports mount); the whole session is reported too.
"""

from __future__ import annotations

import os
import subprocess
import threading
import time

from bench.figures import BenchError, Figure, Report, ratios
from bench.workspace import Workspace, shown
from slipway.build import testrun

SECTION = "tests"
SESSION = "docker_tests"
# The line docker_tests logs once the in-image tests have passed.
IN_IMAGE_DONE = "reports: "
# Failed sessions a section runs again before it gives up.
RETRIES = 2
# The whole session runs tests/docker too: allow it far longer than one command.
SESSION_TIMEOUT = 1800


def run_session(ws: Workspace) -> tuple[float, float]:
    """Seconds to the in-image tests' end and to the session's end."""
    command = ws.python("nox", "-s", SESSION)
    start = time.perf_counter()
    in_image = 0.0
    lines: list[str] = []
    with ws.popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT) as process:
        timer = threading.Timer(SESSION_TIMEOUT, process.kill)
        timer.start()
        try:
            for line in process.stdout or []:
                lines.append(line.rstrip("\n"))
                if not in_image and IN_IMAGE_DONE in line:
                    in_image = time.perf_counter() - start
        finally:
            timer.cancel()
        code = process.wait()
    total = time.perf_counter() - start
    if code != 0 or not in_image:
        tail = "\n".join(lines[-25:])
        raise BenchError(f"`{shown(command)}` exited {code} after {total:.0f}s:\n{tail}")
    return in_image, total


def by_hand(ws: Workspace) -> list[list[str]]:
    """Build the test target and run pytest in it, as the session does."""
    reports = ws.root / "reports"
    reports.mkdir(exist_ok=True)
    run = [
        "docker",
        "run",
        "--rm",
        "--pull",
        "never",
        "--volume",
        f"{reports}:{testrun.REPORTS_MOUNT}",
        "--user",
        f"{os.getuid()}:{os.getgid()}",
        "--env",
        f"COVERAGE_FILE={testrun.REPORTS_MOUNT}/.coverage",
        "--env",
        "HOME=/tmp",
        ws.ref("test"),
        *testrun.PYTEST_ARGS,
    ]
    return [ws.buildx("test"), run]


def passing_session(ws: Workspace, failed: list[str], report: Report) -> tuple[float, float]:
    """The times of a session that passed; one that failed is run again, not timed.

    tests/docker holds timing-sensitive tests (restarts, kills, rollouts) that
    a busy machine can fail; their names go to ``failed``. More than RETRIES
    failures in a section stop it.
    """
    while True:
        try:
            return run_session(ws)
        except BenchError as exc:
            names = [ln for ln in str(exc).splitlines() if ln.startswith(("FAILED", "ERROR"))]
            failed.append("; ".join(names) or str(exc).splitlines()[0])
            if len(failed) > RETRIES:
                raise
            report(f"  {SECTION}: the session failed, not timed, running it again: {failed[-1]}")


def measure(ws: Workspace, runs: int, report: Report) -> list[Figure]:
    """Time the session (after one warm-up run) and the same work by hand."""
    report(f"  {SECTION}: warm-up run of nox -s {SESSION} ...")
    failed: list[str] = []
    passing_session(ws, failed, report)
    steps = by_hand(ws)
    in_image: list[float] = []
    whole: list[float] = []
    manual: list[float] = []
    for run in range(runs):
        first, total = passing_session(ws, failed, report)
        in_image.append(first)
        whole.append(total)
        manual.append(sum(ws.timed(step) for step in steps))
        report(
            f"  {SECTION} {run + 1}/{runs}: nox to the in-image tests' end {first:.1f} s "
            f"(whole session {total:.1f} s), by hand {manual[-1]:.1f} s"
        )
    nox = f"python -m nox -s {SESSION}"
    hand = " && ".join(shown(step) for step in steps)
    return [
        Figure(
            SECTION, f"nox -s {SESSION}, whole session (with tests/docker)", "s", tuple(whole), nox
        ),
        Figure(
            SECTION, f"nox -s {SESSION}, up to the in-image tests' end", "s", tuple(in_image), nox
        ),
        Figure(
            SECTION,
            "by hand: docker buildx build --target test + docker run pytest",
            "s",
            tuple(manual),
            hand,
        ),
        ratios(SECTION, "in-image tests, slipway overhead (nox / by hand)", in_image, manual),
        Figure(SECTION, "failed sessions, run again and not timed", "count", (len(failed),)),
    ]
