"""A compose stack: bring it up behind a health gate, look at it, take it down."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from python_on_whales import Container, DockerClient
from python_on_whales.exceptions import DockerException

from slipway import engine
from slipway.config import Config, Environment
from slipway.engine import docker_errors, message_of, state_file
from slipway.errors import CommandFailed, ConfigError, DeployFailed

SERVICE_LABEL = "com.docker.compose.service"
APP_PORT = 8000


@dataclass(frozen=True)
class ServiceStatus:
    service: str
    container: str
    state: str
    health: str
    image: str
    ports: str


def ensure_env_file(env: Environment) -> bool:
    """Create the env file from its committed example; True when created."""
    if env.env_file.is_file():
        return False
    if not env.env_example.is_file():
        raise ConfigError(
            f"{env.env_file.name} is missing for environment {env.name} and there is no "
            f"{env.env_example.name} to start from: create {env.env_file}"
        )
    env.env_file.parent.mkdir(parents=True, exist_ok=True)
    # Created 0600 from the start: env files may come to hold secrets.
    fd = os.open(env.env_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(env.env_example.read_text())
    return True


def record_image(
    config: Config, env: Environment, image_ref: str, extra: Mapping[str, str] | None = None
) -> None:
    """Name the image the stack runs (SLIPWAY_IMAGE, plus ``extra``) for compose."""
    path = Path(state_file(config, env))
    path.parent.mkdir(parents=True, exist_ok=True)
    values = {"SLIPWAY_IMAGE": image_ref, **(extra or {})}
    path.write_text("".join(f"{key}={value}\n" for key, value in values.items()))


def up(docker: DockerClient, config: Config, env: Environment) -> None:
    """Start or update the stack; return once every service is healthy.

    Raises DeployFailed, with the app's health log and last log lines, when
    a service fails or is not healthy within the environment's timeout.
    """
    try:
        docker.compose.up(
            detach=True,
            wait=True,
            wait_timeout=env.health_timeout,
            pull="never",
            remove_orphans=True,
            quiet=True,
        )
    except DockerException as exc:
        raise DeployFailed(
            f"the {env.name} stack did not become healthy within {env.health_timeout}s: "
            f"{message_of(exc)}",
            details=diagnose(docker, config.service),
        ) from None


def diagnose(docker: DockerClient, service: str) -> str:
    """The failing health probes and last log lines of a service."""
    parts: list[str] = []
    with docker_errors("reading the stack's state"):
        for container in docker.compose.ps(services=[service], all=True):
            health = container.state.health
            for probe in (health.log or [])[-3:] if health is not None else []:
                output = (probe.output or "").strip().splitlines()
                parts.append(f"health probe exit {probe.exit_code}: {output[-1] if output else ''}")
        logs = docker.compose.logs(services=[service], tail="20")
    parts.extend(f"log: {line}" for line in str(logs).splitlines())
    return "\n".join(parts)


def down(docker: DockerClient, *, volumes: bool = False) -> None:
    """Stop and remove the stack's containers (and its volumes if asked)."""
    with docker_errors("docker compose down"):
        docker.compose.down(volumes=volumes, remove_orphans=True, timeout=15)


def url(docker: DockerClient, service: str) -> str:
    """Where the host reaches the service's HTTP port."""
    with docker_errors("docker compose port"):
        host, port = docker.compose.port(service, APP_PORT)
    if port is None:
        return "(not published)"
    return f"http://{host}:{port}"


def _status(container: Container) -> ServiceStatus:
    state = container.state
    ports = sorted(
        f"{b['HostIp']}:{b['HostPort']}->{p}"
        for p, binds in (container.network_settings.ports or {}).items()
        for b in binds or []
    )
    return ServiceStatus(
        service=(container.config.labels or {}).get(SERVICE_LABEL, "?"),
        container=container.name,
        state=str(state.status),
        health=(state.health.status if state.health is not None else None) or "-",
        image=container.config.image or "?",
        ports=", ".join(ports) or "-",
    )


def status(docker: DockerClient) -> list[ServiceStatus]:
    """Every container of the stack, running or not."""
    with docker_errors("docker compose ps"):
        return [_status(c) for c in docker.compose.ps(all=True)]


def logs(docker: DockerClient, *, follow: bool = False, tail: str | None = None) -> Iterator[str]:
    """The stack's log lines, as compose prints them."""
    with docker_errors("docker compose logs"):
        for _source, line in docker.compose.logs(follow=follow, tail=tail, stream=True):
            yield line.decode(errors="replace").rstrip("\n")


def clean(config: Config) -> list[str]:
    """Take every environment down (volumes kept) and delete generated folders."""
    done = []
    for env in config.environments.values():
        if env.env_file.is_file() or env.env_example.is_file():
            down(engine.client(config, env))
            done.append(f"{env.name} stack removed (volumes kept)")
    for name in (".nox", "reports"):
        path = config.root / name
        if path.is_dir():
            shutil.rmtree(path)
            done.append(f"{name}/ deleted")
    return done


def execute(docker: DockerClient, service: str, command: Sequence[str], *, tty: bool) -> str:
    """Run a command in the service's running container; its output, when not a tty."""
    try:
        out = docker.compose.execute(service, list(command), tty=tty)
    except DockerException as exc:
        cause = engine.unavailable(exc)
        if cause is not None:
            raise cause from None
        if "is not running" in (exc.stderr or "") or "No container found" in (exc.stderr or ""):
            raise DeployFailed(f"{service} is not running: start it first") from None
        raise CommandFailed(
            f"`{' '.join(command)}` exited with code {exc.return_code} in {service}",
            details=(exc.stdout or "") + (exc.stderr or ""),
        ) from None
    return out or ""
