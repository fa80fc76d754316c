"""The reverse proxy in front of every stack: HAProxy, configured by slipway.

slipway writes the proxy's whole configuration: one ``server`` line for each
app container that may take traffic. Moving traffic to a new release is
writing a new file and reloading HAProxy (SIGUSR2 to its master process):
the new worker takes over the listening sockets from the old one (``expose-fd
listeners``), so no connection is refused or reset, and the old worker
finishes its in-flight requests before it exits. slipway reads the master's
log to know when both have happened.

The package: ``rendering`` fills ``haproxy.cfg.template`` (the configuration,
a file beside it) in for one release; this module writes the result where the
proxy reads it and reloads the running proxy.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from python_on_whales import Container, DockerClient

from slipway import state
from slipway.config import Config, Environment
from slipway.config.https import DEFAULT_HTTPS_PORT
from slipway.engine import docker_errors, mounts
from slipway.errors import DeployFailed
from slipway.proxy.rendering import CONFIG_NAME, PORT, SITE_FILE, TEMPLATE, render

if TYPE_CHECKING:
    from slipway.kept import Kept

# The compose service of the proxy; the port it listens on in its container
# and the file it reads are rendering's (PORT, CONFIG_NAME).
SERVICE = "proxy"

# What the master process logs after a reload (HAProxy 2.x and 3.x).
_LOADED, _NOT_LOADED = "Loading success.", "Loading failure!"
_FORMER_EXITED = "Former worker"

__all__ = [
    "CONFIG_NAME",
    "PORT",
    "SERVICE",
    "SITE_FILE",
    "TEMPLATE",
    "container",
    "current",
    "reload",
    "render",
    "servers_of",
    "write",
]


def current(config: Config, env: Environment, kept: Kept | None = None) -> str | None:
    """The proxy's configuration as its engine keeps it (``kept``), else as
    this checkout last wrote it; None when there is none."""
    if kept is not None:
        data = kept.read(mounts.PROXY_FOLDER).get(CONFIG_NAME)
        return None if data is None else data.decode()
    path = state.proxy_folder(config, env) / CONFIG_NAME
    return path.read_text() if path.is_file() else None


def servers_of(config: Config, env: Environment, kept: Kept | None = None) -> list[str]:
    """The containers the proxy's current configuration sends traffic to."""
    text = current(config, env, kept) or ""
    return [line.split()[1] for line in text.splitlines() if line.startswith("    server ")]


def write(
    config: Config,
    env: Environment,
    servers: Sequence[str],
    kept: Kept | None = None,
    *,
    https_port: int = DEFAULT_HTTPS_PORT,
) -> bool:
    """Point the proxy's configuration at ``servers``; True when it changed.
    (``https_port``: where the engine's host publishes HTTPS, which plain
    HTTP redirects to, for an environment with ``https:``.)

    Sent to the engine's volume (``kept``), which the proxy mounts, and
    written here too (renamed over the old file, so nothing reads half a
    file). The proxy reads it only when reloaded, after this returns.
    """
    text = render(
        servers,
        project=config.project,
        port=config.port,
        health_path=config.health_path,
        https=env.https,
        https_port=https_port,
    )
    if current(config, env, kept) == text:
        return False
    if kept is not None:
        # HAProxy runs as uid 99: the file must be readable by others.
        kept.write({f"{mounts.PROXY_FOLDER}/{CONFIG_NAME}": text.encode()}, mode=0o644)
    folder = state.proxy_folder(config, env)
    folder.mkdir(parents=True, exist_ok=True)
    scratch = folder / f".{CONFIG_NAME}.{os.getpid()}"
    scratch.write_text(text)
    scratch.chmod(0o644)
    scratch.replace(folder / CONFIG_NAME)
    return True


def container(docker: DockerClient) -> Container | None:
    """The stack's running proxy container, if any."""
    with docker_errors("docker compose ps"):
        running = [c for c in docker.compose.ps(services=[SERVICE]) if c.state.running]
    return running[0] if running else None


def reload(docker: DockerClient, proxy: Container, *, timeout: float = 30) -> float:
    """Reload the proxy's configuration without dropping a connection.

    Returns once the new worker serves and the one it replaced has finished
    its last request and exited (or ``timeout`` seconds passed, after which
    hard-stop-after ends it anyway); the seconds until the new worker served.
    """
    since = datetime.now(UTC) - timedelta(seconds=1)
    started = time.monotonic()
    with docker_errors("reloading the proxy"):
        docker.container.kill(proxy, signal="SIGUSR2")
    loaded_after: float | None = None
    while time.monotonic() - started < timeout:
        with docker_errors("reading the proxy's log"):
            text = str(docker.container.logs(proxy, since=since))
        if _NOT_LOADED in text:
            raise DeployFailed(
                "the proxy rejected its new configuration; it keeps serving the old one",
                details=text,
            )
        if loaded_after is None and _LOADED in text:
            loaded_after = time.monotonic() - started
        if loaded_after is not None and _FORMER_EXITED in text:
            break
        time.sleep(0.2)
    if loaded_after is None:
        raise DeployFailed(f"the proxy did not reload within {timeout:.0f}s")
    return loaded_after
