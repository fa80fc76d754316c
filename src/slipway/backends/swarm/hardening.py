"""The hardening the release's tasks really run with, against what the
compose files ask for.

`docker stack deploy` drops ``security_opt`` without a word (moby#41371), so
a policy read from the compose files passes while the running task has no
``no-new-privileges``; a node whose daemon sets ``"no-new-privileges": true``
in its daemon.json gives it to every container anyway. What counts is the
task: its container as the engine started it, and ``NoNewPrivs`` of its
first process. Only the manager's engine is reached, so only its tasks are
read; the others are named as not checked.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from python_on_whales import Container, DockerClient

from slipway.engine import docker_errors
from slipway.errors import EngineError

NO_NEW_PRIVILEGES = "no-new-privileges"
SERVICE_LABEL = "com.docker.swarm.service.name"


def asked(spec: Mapping[str, Any]) -> set[str]:
    """The controls a service's compose model asks for."""
    controls = set()
    if spec.get("read_only"):
        controls.add("read_only")
    if "ALL" in (spec.get("cap_drop") or []):
        controls.add("cap_drop: ALL")
    if spec.get("init"):
        controls.add("init")
    options = [str(o) for o in spec.get("security_opt") or []]
    if any(o in (NO_NEW_PRIVILEGES, f"{NO_NEW_PRIVILEGES}:true") for o in options):
        controls.add(NO_NEW_PRIVILEGES)
    limits = ((spec.get("deploy") or {}).get("resources") or {}).get("limits") or {}
    controls |= {f"{k} limit" for k in ("memory", "pids") if limits.get(k)}
    return controls


def present(host: Any, no_new_privs: bool) -> set[str]:
    """The controls a running container has (``host``: its HostConfig)."""
    controls = set()
    if host.readonly_rootfs:
        controls.add("read_only")
    if "ALL" in [str(c).upper() for c in host.cap_drop or []]:
        controls.add("cap_drop: ALL")
    if host.init:
        controls.add("init")
    if no_new_privs:
        controls.add(NO_NEW_PRIVILEGES)
    if host.memory:
        controls.add("memory limit")
    if host.pids_limit and host.pids_limit > 0:
        controls.add("pids limit")
    return controls


@dataclass(frozen=True)
class Finding:
    """One service's controls as its task on the manager runs."""

    service: str
    node: str
    dropped: frozenset[str]


def no_new_privs(status: str) -> bool:
    """Whether /proc/<pid>/status says the process cannot gain privileges."""
    for line in status.splitlines():
        key, _, value = line.partition(":")
        if key == "NoNewPrivs":
            return value.strip() == "1"
    return False


def said(findings: list[Finding]) -> list[str]:
    """A warning line for each control a task runs without, naming its services."""
    dropped: dict[tuple[str, str], list[str]] = {}
    for finding in findings:
        for control in finding.dropped:
            dropped.setdefault((control, finding.node), []).append(finding.service)
    lines = []
    for (control, node), names in sorted(dropped.items()):
        why = (
            "Swarm drops security_opt (moby#41371): set "
            '"no-new-privileges": true in every node\'s daemon.json'
            if control == NO_NEW_PRIVILEGES
            else "the swarm did not apply it"
        )
        verb = "runs" if len(names) == 1 else "run"
        lines.append(
            f"warning: {', '.join(sorted(names))} {verb} on {node} without {control}, "
            f"which the compose files ask for; {why}"
        )
    return lines


def read(
    docker: DockerClient, stack: str, model: Mapping[str, Any], services: list[str]
) -> list[Finding]:
    """Each of ``services`` with a running task on the manager: the controls
    its compose model asks for that the task lacks."""
    with docker_errors("docker info"):
        node = str(docker.system.info().name)
    specs = model.get("services") or {}
    found = []
    for service in services:
        task = _task(docker, f"{stack}_{service}")
        if task is None:
            continue
        try:
            with docker_errors(f"reading {service}'s task"):
                status = str(docker.container.execute(task, ["cat", "/proc/1/status"]))
        except EngineError:
            continue  # gone since it was listed, or no cat in its image
        have = present(task.host_config, no_new_privs(status))
        found.append(Finding(service, node, frozenset(asked(specs[service]) - have)))
    return found


def _task(docker: DockerClient, full: str) -> Container | None:
    with docker_errors("docker container ls"):
        running = docker.container.list(filters=[("label", f"{SERVICE_LABEL}={full}")])
    return running[0] if running else None
