"""The health gate: a new release's containers are waited for until Docker
reports each one healthy, and given up on, with the failing probes and log
lines, as soon as waiting can tell nothing more: one exited or keeps
exiting, or every one's health path answers what no wait will change."""

from __future__ import annotations

import re
import time
from collections.abc import Sequence

from python_on_whales import Container, DockerClient
from python_on_whales.components.container.models import ContainerState

from slipway.engine import docker_errors
from slipway.errors import DeployFailed

# Restarts of a new container before it was ever healthy that mean it crashes
# on start (Docker restarts it within a second or two each time).
CRASH_LOOP = 3
# A probe's last line when the health path answered, but not 200 (docker/healthcheck.py).
_WRONG_ANSWER = re.compile(
    r"^(?P<path>/\S*) did not answer 200 \(\d+ in a row\): it answered (?P<status>[34]\d\d)$"
)
# Probes in a row that must have answered so before the path is called wrong.
WRONG_ANSWERS = 2
# How long to wait for a crash-looping container's next exit, to read its code.
EXIT_CODE_WAIT = 15


def wait_healthy(
    docker: DockerClient, containers: Sequence[Container], timeout: int, *, service: str
) -> None:
    """Return once every container is healthy; raise DeployFailed with the
    failing health probes and log lines when one exits, every one's health
    path answers what waiting will not change (a 3xx or 4xx), or time runs out."""
    deadline = time.monotonic() + timeout
    while True:
        with docker_errors("docker inspect"):
            seen = [(c, docker.container.inspect(c.id)) for c in containers]
        # Exited, or (under a restart policy, which reports it running again)
        # crash-looping: waiting out the timeout would tell nothing more.
        exited = [
            (c, i.state)
            for c, i in seen
            if (not i.state.running and i.state.status != "created")
            or (i.restart_count or 0) >= CRASH_LOOP
        ]
        states = [i.state for _, i in seen]
        if not exited and all(
            s.health is not None and s.health.status == "healthy" for s in states
        ):
            return
        wrong = None if exited else _wrong_answer(states)
        if exited or wrong or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    details = "\n".join(_probes_and_logs(docker, seen, service))
    if exited:
        raise DeployFailed(_exited(docker, seen, exited, service), details=details)
    if wrong:
        path, status = wrong
        raise DeployFailed(
            f"GET {path} answered {status} on every new replica: set health_path in "
            "slipway.yaml to a route that answers 200",
            details=details,
        )
    now = next((s.health.status for s in states if s.health is not None), "starting")
    summary = f"{service} did not become healthy within {timeout}s (health: {now})"
    raise DeployFailed(summary, details=details)


def _probes_and_logs(
    docker: DockerClient, seen: Sequence[tuple[Container, Container]], service: str
) -> list[str]:
    """Each container's last health probes and log lines, for the details."""
    parts: list[str] = []
    for c, inspected in seen:
        health = inspected.state.health
        for probe in (health.log or [])[-3:] if health is not None else []:
            out = (probe.output or "").strip().splitlines()
            parts.append(f"{service} health probe exit {probe.exit_code}: {out[-1] if out else ''}")
        with docker_errors("docker logs"):
            logs = str(docker.container.logs(c, tail=15))
        parts.extend(f"{service} log: {line}" for line in logs.splitlines() if line.strip())
    return parts


def _exited(
    docker: DockerClient,
    seen: Sequence[tuple[Container, Container]],
    exited: Sequence[tuple[Container, ContainerState]],
    service: str,
) -> str:
    """How the first container that exited (or kept exiting) ended."""
    c, state = exited[0]
    restarts = next(i.restart_count or 0 for d, i in seen if d is c)
    code = state.exit_code if _between_runs(state) else _last_exit_code(docker, c)
    how = f"exited with code {code}" if code is not None else "kept exiting"
    again = f" (and again after each of {restarts} restarts)" if restarts else ""
    return f"{service} {how} before it was healthy{again}"


def _wrong_answer(states: Sequence[ContainerState]) -> tuple[str, str] | None:
    """(path, status) when every container's last probes all say its health
    path answered the same 3xx or 4xx (docker/healthcheck.py writes the status):
    a path the app does not serve, which waiting will not change."""
    answers = set()
    for state in states:
        probes = (state.health.log or [])[-WRONG_ANSWERS:] if state.health is not None else []
        if len(probes) < WRONG_ANSWERS:
            return None
        for probe in probes:
            lines = (probe.output or "").strip().splitlines()
            found = _WRONG_ANSWER.match(lines[-1]) if lines else None
            if found is None:
                return None
            answers.add((found["path"], found["status"]))
    return answers.pop() if len(answers) == 1 else None


def _last_exit_code(docker: DockerClient, container: Container) -> int | None:
    """The exit code of a crash-looping container caught running again: a
    running container reports 0, so wait (briefly) for its next exit, or the
    restart policy's back-off between two runs, to read the real one."""
    deadline = time.monotonic() + EXIT_CODE_WAIT
    while time.monotonic() < deadline:
        with docker_errors("docker inspect"):
            state = docker.container.inspect(container.id).state
        if _between_runs(state):
            return state.exit_code
        time.sleep(0.1)
    return None


def _between_runs(state: ContainerState) -> bool:
    """Exited, or waiting out the restart policy's back-off (Docker reports
    that as running *and* restarting): the exit code is the last run's."""
    return not state.running or bool(state.restarting)
