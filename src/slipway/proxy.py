"""The reverse proxy in front of every stack: HAProxy, configured by slipway.

slipway writes the proxy's whole configuration: one ``server`` line for each
app container that may take traffic. Moving traffic to a new release is
writing a new file and reloading HAProxy (SIGUSR2 to its master process):
the new worker takes over the listening sockets from the old one (``expose-fd
listeners``), so no connection is refused or reset, and the old worker
finishes its in-flight requests before it exits. slipway reads the master's
log to know when both have happened.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

from python_on_whales import Container, DockerClient

from slipway import state
from slipway.config import Config, Environment, names
from slipway.engine import docker_errors
from slipway.errors import DeployFailed

# The compose service of the proxy, and the port it listens on in its container.
SERVICE = "proxy"
PORT = 8080
CONFIG_NAME = "haproxy.cfg"

# What the master process logs after a reload (HAProxy 2.x and 3.x).
_LOADED, _NOT_LOADED = "Loading success.", "Loading failure!"
_FORMER_EXITED = "Former worker"

_TEMPLATE = """\
# Written by slipway for {project}: every deploy and rollback rewrites it.
# It names the app containers of the release that takes traffic.

global
    # The runtime API; on a reload the new worker takes the listening sockets
    # over from the old one through it, so no connection is ever refused.
    stats socket /tmp/haproxy.sock mode 600 level admin expose-fd listeners
    # A worker replaced by a reload gets this long to finish its requests.
    hard-stop-after 30s

resolvers docker
    # Docker's embedded DNS: a replica restarted with a new address is found again.
    nameserver dns 127.0.0.11:53
    hold valid 1s

defaults
    mode http
    timeout connect 1s
    timeout client 60s
    timeout server 60s
    timeout http-request 10s
    # A request whose server refused the connection or died before answering
    # goes to another server; only idempotent requests are retried after
    # they reached a server (see disable-l7-retry below).
    retries 3
    option redispatch 1
    retry-on conn-failure empty-response response-timeout
    # A new server connection per request: a replica closing an idle
    # keep-alive connection can never race a request sent on it.
    option http-server-close

frontend http
    bind :{port}
    http-request disable-l7-retry unless {{ method GET HEAD OPTIONS PUT DELETE }}
    default_backend app

frontend health
    # The proxy's own healthcheck: healthy while one app server is up.
    bind 127.0.0.1:8404
    monitor-uri /healthz
    monitor fail if {{ nbsrv(app) lt 1 }}

backend app
    balance roundrobin
    option httpchk GET {health_path}
    http-check expect status 200
    default-server check inter 2s fall 2 rise 2 resolvers docker init-addr last,libc,none
{servers}
"""


def render(
    servers: Sequence[str], *, project: str, port: int = 8000, health_path: str = "/health"
) -> str:
    """The configuration that sends traffic to ``servers`` (container names),
    which serve on ``port`` and answer 200 on ``health_path`` while alive.

    Every value is one word of HAProxy's configuration whatever it holds:
    names are checked (DeployFailed) and the path is percent-encoded."""
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        raise DeployFailed(f"cannot write {CONFIG_NAME}: {port!r} is not a port number")
    lines = "\n".join(
        f"    server {name} {name}:{port}" for name in (_word(s, names.CONTAINER) for s in servers)
    )
    return _TEMPLATE.format(
        project=_word(project, names.PROJECT),
        port=PORT,
        health_path=_url_path(health_path),
        servers=lines,
    )


def _word(value: str, rule: names.Rule) -> str:
    """``value``, which ``rule`` allows, for haproxy.cfg; DeployFailed otherwise."""
    if not rule.matches(value):
        raise DeployFailed(f"cannot write {CONFIG_NAME}: {value!r} is not {rule.what}")
    return value


def _url_path(path: str) -> str:
    """``path`` with every character HAProxy's parser could read as more than
    one word (a space, a quote, #, $, a backslash, a line break) percent-encoded."""
    encoded = quote(
        path if path.startswith("/") else f"/{path}", safe=f"{names.URL_PATH_CHARACTERS}%"
    )
    return re.sub(r"%(?![0-9A-Fa-f]{2})", "%25", encoded)


def servers_of(config: Config, env: Environment) -> list[str]:
    """The containers the proxy's current configuration sends traffic to."""
    path = state.proxy_folder(config, env) / CONFIG_NAME
    if not path.is_file():
        return []
    return [
        line.split()[1] for line in path.read_text().splitlines() if line.startswith("    server ")
    ]


def write(config: Config, env: Environment, servers: Sequence[str]) -> bool:
    """Point the proxy's configuration at ``servers``; True when it changed.

    Written to a new file and renamed over the old one, so the proxy never
    reads half a file; the folder (not the file) is mounted, so the
    container sees the rename.
    """
    folder = state.proxy_folder(config, env)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / CONFIG_NAME
    text = render(servers, project=config.project, port=config.port, health_path=config.health_path)
    if path.is_file() and path.read_text() == text:
        return False
    scratch = folder / f".{CONFIG_NAME}.{os.getpid()}"
    scratch.write_text(text)
    # HAProxy runs as uid 99: the file must be readable by others.
    scratch.chmod(0o644)
    scratch.replace(path)
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
