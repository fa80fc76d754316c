"""A compose stack: get it ready, look at it, run commands in it, take it down."""

from __future__ import annotations

import errno
import os
import re
import socket
from collections.abc import Iterator, Sequence

from python_on_whales import Container, DockerClient

from slipway import engine, proxy, secretfiles, state, tls
from slipway.backends.compose import files
from slipway.backends.protocol import ServiceStatus
from slipway.build import images
from slipway.config import Config, Environment, Target
from slipway.config.environments import LOOPBACK
from slipway.engine import docker_errors
from slipway.errors import (
    CommandFailed,
    ConfigError,
    DeployFailed,
    EngineError,
    NotRunning,
    PortInUse,
)
from slipway.handle import Report
from slipway.kept import Kept

SERVICE_LABEL = "com.docker.compose.service"
NUMBER_LABEL = "com.docker.compose.container-number"


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


def release_values(env: Environment, image_ref: str) -> dict[str, str]:
    """What compose reads of a release: the image (SLIPWAY_IMAGE), how many
    replicas, and for the dev stack the
    host user's ids (compose's own rebuilds, develop.watch, need them too)."""
    values = {
        state.IMAGE_KEY: image_ref,
        "SLIPWAY_REPLICAS": str(env.replicas),
    }
    if env.target is Target.DEV:
        uid, gid = images.dev_ids()
        values |= {"DEV_UID": str(uid), "DEV_GID": str(gid)}
    return values


def published_port(docker: DockerClient) -> tuple[str, int] | None:
    """The host address and port the proxy is published on."""
    return files.proxy_address(engine.compose_model(docker))


def port_taken(host: str, port: int) -> bool:
    """Another socket listens on host:port (a port we may not bind counts as free:
    e.g. a privileged one, which Docker may still publish)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family) as probe:
        # Lingering TIME_WAIT connections are no conflict; a listener is.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            return exc.errno == errno.EADDRINUSE
    return False


def held_by_stack(docker: DockerClient, port: int) -> bool:
    """A running container of the stack publishes the host port."""
    return any(f":{port}->" in row.ports for row in status(docker) if row.state == "running")


def ensure_port_free(docker: DockerClient, *, change: str = files.ANOTHER_PORT) -> None:
    """Refuse, before touching anything, when another program holds the port;
    the message ends with ``change``, how to move the proxy
    (:func:`slipway.files.port_setting`)."""
    address = published_port(docker)
    if address is None:
        return
    host, port = address
    if not port_taken(host, port) or held_by_stack(docker, port):
        return
    raise PortInUse(
        f"port {host}:{port} is already in use by another program: stop it, or {change}"
    )


def ensure_listening(docker: DockerClient, env: Environment) -> None:
    """Refuse, before anything is built, when slipway.yaml's ``listen:`` is not
    where the compose files publish the proxy (they must say it through
    ``${SLIPWAY_LISTEN}``, as `slipway init` writes them)."""
    address = published_port(docker)
    if address is not None and address[0] != env.listen:
        raise ConfigError(
            f"{env.name} has listen: {env.listen} in slipway.yaml, but its compose files "
            f"publish the proxy on {address[0]}: publish it on "
            '"${SLIPWAY_LISTEN:-127.0.0.1}:<port>:8080" as slipway init writes it'
        )


def down(docker: DockerClient, *, volumes: bool = False) -> None:
    """Stop and remove the stack's containers (and its volumes if asked)."""
    with docker_errors("docker compose down"):
        docker.compose.down(volumes=volumes, remove_orphans=True, timeout=15)


def url(docker: DockerClient) -> str:
    """Where the host reaches the stack: the proxy's published port."""
    with docker_errors("docker compose port"):
        host, port = docker.compose.port(proxy.SERVICE, proxy.PORT)
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
        image_id=str(container.image or "").removeprefix("sha256:")[:12] or "-",
    )


def status(docker: DockerClient) -> list[ServiceStatus]:
    """Every container of the stack, running or not."""
    with docker_errors("docker compose ps"):
        return [_status(c) for c in docker.compose.ps(all=True)]


# Terminal control (ECMA-48): CSI sequences (ESC [ ... final byte), OSC
# strings (ESC ] ... BEL or ESC \), other escape sequences (ESC, intermediate
# bytes, final byte), a lone ESC, and the C0 controls but tab.
_CONTROL = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?"
    r"|\x1b[ -/]*[0-~]"
    r"|\x1b"
    r"|[\x00-\x08\x0a-\x1f\x7f]"
)


def plain(line: str) -> str:
    """A log line without terminal control sequences (colours, line clears)."""
    return _CONTROL.sub("", line)


def logs(
    docker: DockerClient,
    *,
    follow: bool = False,
    tail: str | None = None,
    plain_text: bool = False,
    services: Sequence[str] = (),
) -> Iterator[str]:
    """The stack's log lines, as compose prints them; with ``plain_text``
    without control sequences, for a pipe or a file: compose writes ESC[2K
    before every line even with --no-color and its output not a terminal,
    and an app may colour its own lines."""
    with docker_errors("docker compose logs"):
        lines = docker.compose.logs(list(services), follow=follow, tail=tail, stream=True)
        for _source, line in lines:
            text = line.decode(errors="replace").rstrip("\n")
            yield plain(text) if plain_text else text


# slipway's entrypoint, as `slipway init` writes it (docker/entrypoint.py):
# `docker compose exec` skips an image's entrypoint, so a command run in a
# container of such an image goes through it too, and sees the environment
# the server sees (DATABASE_URL with its password).
ENTRYPOINT = ("python", "/usr/local/lib/slipway/entrypoint.py")
# What tells that entrypoint to take a singleton role's lease first.
LEASE = "SLIPWAY_LEASE"


def first_index(docker: DockerClient, service: str) -> int:
    """compose's number of the service's first running container.

    `compose exec` picks container 1 unless told otherwise, and after a
    rollout the replicas that serve are numbered on from the retired ones.
    """
    first = _first_running(docker, service)
    return _number(first) if first is not None else 1


def _first_running(docker: DockerClient, service: str) -> Container | None:
    with docker_errors("docker compose ps"):
        running = [c for c in docker.compose.ps(services=[service]) if c.state.running]
    return min(running, key=_number, default=None)


def _number(container: Container) -> int:
    return int((container.config.labels or {}).get(NUMBER_LABEL, "1"))


def execute(docker: DockerClient, service: str, command: Sequence[str], *, tty: bool) -> str:
    """Run a command in the service's first running container (through
    slipway's entrypoint when its image has it); its output, when not a tty."""
    first = _first_running(docker, service)
    index = _number(first) if first is not None else 1
    argv, envs = list(command), {}
    if first is not None and tuple(first.config.entrypoint or ()) == ENTRYPOINT:
        # Never the singleton's lease: the role's own process holds it.
        argv, envs = [*ENTRYPOINT, *argv], {LEASE: ""}
    shown = f"`{' '.join(command)}`"
    try:
        with docker_errors(f"{shown} in {service}"):
            out = docker.compose.execute(service, argv, tty=tty, index=index, envs=envs)
    except NotRunning:
        raise DeployFailed(f"{service} is not running: start it first") from None
    except EngineError as exc:
        raise CommandFailed(
            f"{shown} exited with code {exc.return_code} in {service}",
            details=exc.stdout + exc.stderr,
        ) from None
    return out or ""


def start(docker: DockerClient, service: str, *, wait_seconds: int | None) -> None:
    """Start the service's containers and wait until compose reports them healthy."""
    with docker_errors(f"starting {service}"):
        docker.compose.up(
            services=[service],
            detach=True,
            wait=True,
            wait_timeout=wait_seconds,
            pull="never",
            quiet=True,
        )


def _serve_new_certificate(
    docker: DockerClient, config: Config, env: Environment, kept: Kept, report: Report
) -> None:
    """A running proxy that already serves HTTPS reloads, seamlessly, to serve
    the certificate its engine now keeps (one that does not yet is
    configured for it, and reloaded or recreated, by the rollout)."""
    running = proxy.container(docker)
    if running is None or proxy.SITE_FILE not in (proxy.current(config, env, kept) or ""):
        return
    proxy.reload(docker, running)
    report(f"{env.name}'s proxy serves the new certificate (reloaded: no connection dropped)")


def prepare(docker: DockerClient, config: Config, env: Environment, *, report: Report) -> None:
    """What a stack needs before anything is built or touched: the engine and
    its plugins, the env file (from its example), the secret files, a free port."""
    engine.ensure_engine(docker, compose=True)
    if ensure_env_file(env):
        report(f"created {config.show(env.env_file)} from its example")
    kept = Kept.of(docker, config, env)
    kept.ensure()
    # Before anything is built: a secret this checkout has wrong stops here.
    secretfiles.deliver(kept, config, env, report=report)
    # So does a certificate that cannot be served.
    if tls.install(kept, config, env, report=report):
        _serve_new_certificate(docker, config, env, kept, report)
    if env.listen != LOOPBACK:
        ensure_listening(docker, env)
    if not env.remote:
        # A remote engine's ports are on its own host: compose says if taken.
        ensure_port_free(docker, change=files.port_setting(config, env))
