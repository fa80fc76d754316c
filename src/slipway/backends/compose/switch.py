"""The proxy's side of a rollout: the switch of its traffic to a new
release's containers, its start when none runs (early, while they get
healthy, since nothing serves then), and its reload when nothing else moves."""

from __future__ import annotations

import time
from collections.abc import Sequence

from python_on_whales import Container, DockerClient

from slipway import engine, proxy
from slipway.backends.compose import files
from slipway.backends.protocol import Rollout
from slipway.config import Config, Environment
from slipway.config.https import DEFAULT_HTTPS_PORT, HTTPS_PORT
from slipway.engine import docker_errors
from slipway.handle import Report
from slipway.kept import Kept


def switch(
    docker: DockerClient,
    config: Config,
    env: Environment,
    serving: Sequence[str],
    *,
    recreate: bool = False,
    early: bool = False,
) -> float:
    """Send the proxy's traffic to ``serving``; seconds until it did. With
    ``recreate`` the proxy's own configuration changed, which only a new
    proxy container applies; with ``early`` the proxy was started on
    ``serving`` already (:func:`start_early`): wait until it is healthy."""
    started = time.monotonic()
    changed = proxy.write(
        config, env, serving, Kept.of(docker, config, env), https_port=https_port(docker, env)
    )
    running = proxy.container(docker)
    # Started early, HAProxy may have marked a server down while it started:
    # a reload's new worker takes them all as up, and checks them from there.
    if (changed or early) and running is not None and not recreate:
        proxy.reload(docker, running)
    if running is None or recreate or early:
        start_proxy(docker, env, recreate=recreate, wait=True)
    return time.monotonic() - started


def start_proxy(
    docker: DockerClient, env: Environment, *, recreate: bool = False, wait: bool
) -> None:
    """`compose up` of the proxy; with ``wait``, until it is healthy."""
    with docker_errors("starting the proxy"):
        docker.compose.up(
            services=[proxy.SERVICE],
            detach=True,
            wait=wait,
            wait_timeout=env.health_timeout if wait else None,
            dependencies=False,
            force_recreate=recreate,
            pull="never",
            quiet=True,
        )


def start_early(
    docker: DockerClient, config: Config, env: Environment, new: Sequence[Container]
) -> None:
    """No proxy runs, so nothing serves: start it now, on the new release's
    containers, while they get healthy (HAProxy checks them itself); the
    switch then waits for it to be healthy."""
    kept = Kept.of(docker, config, env)
    proxy.write(config, env, [c.name for c in new], kept, https_port=https_port(docker, env))
    start_proxy(docker, env, wait=False)


def https_port(docker: DockerClient, env: Environment) -> int:
    """Where the engine's host publishes the proxy's HTTPS (its default when
    the environment has none)."""
    if env.https is None:
        return DEFAULT_HTTPS_PORT
    address = files.proxy_address(engine.compose_model(docker), target=HTTPS_PORT)
    return address[1] if address else DEFAULT_HTTPS_PORT


def kept_serving(docker: DockerClient, config: Config, env: Environment, report: Report) -> Rollout:
    """Nothing to roll: the same servers serve, with the proxy's own lines
    (https:, HSTS) as slipway.yaml says them now, a reload applying a change."""
    kept = Kept.of(docker, config, env)
    serving = proxy.servers_of(config, env, kept)
    if proxy.write(config, env, serving, kept, https_port=https_port(docker, env)):
        running = proxy.container(docker)
        if running is not None:
            proxy.reload(docker, running)
            report("reloaded the proxy with its new configuration")
    return Rollout(tuple(serving), (), None)


def stop_early(docker: DockerClient) -> None:
    """Remove the proxy :func:`start_early` started: as before the rollout,
    none runs."""
    with docker_errors("removing the proxy"):
        docker.compose.rm(services=[proxy.SERVICE], stop=True)
