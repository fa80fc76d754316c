"""The release's process roles other than the web one (a worker): compose
services that run the release image, rolled out with it.

The web role's new containers start beside the old and take traffic at the
switch (:mod:`.rollout`); each other role's new containers start at the same
time, each waited for until healthy (a heartbeat, :mod:`slipway.engine.mounts`),
and the old ones retire with the old web containers. A singleton role never
runs two: its new container is created, not started, then the old one stops
(SIGTERM, its grace period), and only then the new one starts. Should
anything of the release fail to get healthy, the new containers are removed
and the stopped singleton starts again: the old release goes on whole. The
lease of ``docker/entrypoint.py`` holds the role to one even if something
else starts a second container.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from python_on_whales import Container, DockerClient

from slipway.backends.compose.health import wait_healthy
from slipway.config import Config, Environment
from slipway.config.roles import of as role_of
from slipway.engine import docker_errors, mounts
from slipway.errors import DeployFailed

# How long a retired container (web or other role) may take to finish its work after SIGTERM.
STOP_TIMEOUT = 15


def containers(docker: DockerClient, service: str) -> list[Container]:
    """Every container of the service, running or not, oldest first."""
    with docker_errors("docker compose ps"):
        found = docker.compose.ps(services=[service], all=True)
    return sorted(found, key=lambda c: str(c.created))


def running(docker: DockerClient, config: Config, env: Environment) -> dict[str, list[Container]]:
    """Each role's containers now."""
    return {name: containers(docker, name) for name in mounts.role_names(config, env)}


def differs(env: Environment, ref: str, now: Mapping[str, Sequence[Container]]) -> list[str]:
    """Why the roles are not the release ``ref`` in place (nothing: they are)."""
    why = []
    for name, found in now.items():
        wanted = role_of(env.roles, name).replicas
        if len(found) != wanted:
            why.append(f"{len(found)} {name} container(s) where {wanted} should run")
        elif any(c.config.image != ref for c in found):
            why.append(f"{name} does not run {ref}")
        elif not all(_healthy(c) for c in found):
            why.append(f"a {name} container is not healthy")
    return why


def _healthy(container: Container) -> bool:
    state = container.state
    return bool(state.running) and state.health is not None and state.health.status == "healthy"


@dataclass
class Started:
    """The roles' new containers, and the singletons stopped for them."""

    new: dict[str, list[Container]] = field(default_factory=dict)
    stopped: list[Container] = field(default_factory=list)

    @property
    def containers(self) -> list[Container]:
        return [c for found in self.new.values() for c in found]


def beside(
    docker: DockerClient, service: str, old: Sequence[Container], count: int, *, start: bool
) -> list[Container]:
    """``count`` new containers of the service beside ``old``, started or
    only created; the new ones, by name."""
    before = {c.id for c in old}
    with docker_errors(f"starting the new {service} containers"):
        docker.compose.up(
            services=[service],
            detach=True,
            scales={service: len(old) + count},
            recreate=False,
            dependencies=False,
            start=start,
            pull="never",
            quiet=True,
        )
    return sorted(
        (c for c in containers(docker, service) if c.id not in before), key=lambda c: c.name
    )


def start(
    docker: DockerClient, env: Environment, old: Mapping[str, Sequence[Container]]
) -> Started:
    """Start each role's new containers beside the old (a singleton's once
    its old one stopped); what was started and stopped, for :func:`undo`
    when something fails on the way, even in here."""
    started = Started()
    try:
        for name, before in old.items():
            role = role_of(env.roles, name)
            started.new[name] = new = beside(docker, name, before, role.replicas, start=False)
            with docker_errors(f"starting the new {name} container(s)"):
                if role.singleton and before:
                    docker.container.stop(list(before), time=STOP_TIMEOUT)
                    started.stopped += before
                docker.container.start(new)
    except BaseException:
        undo(docker, started, env.health_timeout)
        raise
    return started


def wait(docker: DockerClient, env: Environment, started: Started) -> None:
    """Until every new role container is healthy; DeployFailed when one is not."""
    for name, new in started.new.items():
        wait_healthy(docker, new, env.health_timeout, service=name)


def undo(docker: DockerClient, started: Started, timeout: int) -> None:
    """Remove the new containers and start the stopped singletons again,
    waiting (up to ``timeout`` seconds) until they are healthy: the old
    release whole again, as it was."""
    with docker_errors("removing the new role containers"):
        if started.containers:
            docker.container.remove(started.containers, force=True)
        if started.stopped:
            docker.container.start(started.stopped)
    for stopped in started.stopped:
        name = (stopped.config.labels or {}).get("com.docker.compose.service", "a role")
        with contextlib.suppress(DeployFailed):
            # Not healthy again: the deploy's failure says so (not in place).
            wait_healthy(docker, [stopped], timeout, service=name)


def retire(docker: DockerClient, old: Mapping[str, Sequence[Container]]) -> None:
    """SIGTERM the old release's role containers (they finish their work),
    then remove them."""
    retired = [c for found in old.values() for c in found]
    if retired:
        with docker_errors("stopping the old role containers"):
            docker.container.stop(retired, time=STOP_TIMEOUT)
            docker.container.remove(retired, force=True)
