"""Sidecars: the stack's other long-running services (Redis, a database, a
search index), part of the release.

A sidecar is any service of the resolved compose model that is not the app,
its migration, the proxy, a service running the release's own image (a role
of the release) or a one-shot job (one that a service waits for with
``condition: service_completed_successfully``). The rollout starts the app
with ``--no-deps``, so the app's ``depends_on`` never starts them: this
module does, before the migration and the app, on the first deploy as on
every later one (compose's ``up`` leaves one in place when its
configuration is unchanged and replaces it when it changed), and waits
until each is healthy (or running, without a healthcheck). One that does
not get there fails the deploy in one line before the app is touched.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from python_on_whales import DockerClient

from slipway import engine, proxy
from slipway.backends.compose import trial
from slipway.backends.compose.stack import SERVICE_LABEL
from slipway.backends.protocol import nothing_kept
from slipway.config import Config, Environment
from slipway.engine import docker_errors
from slipway.errors import DeployFailed, EngineError, SlipwayError
from slipway.handle import Report

COMPLETED = "service_completed_successfully"


def _one_shots(services: Mapping[str, Any]) -> set[str]:
    """Services another waits for to exit 0: jobs, not sidecars."""
    found = set()
    for spec in services.values():
        needs = (spec or {}).get("depends_on") or {}
        if isinstance(needs, Mapping):
            found |= {n for n, how in needs.items() if (how or {}).get("condition") == COMPLETED}
    return found


def of(model: Mapping[str, Any], config: Config) -> list[str]:
    """The sidecars of a resolved compose model, by name."""
    services: Mapping[str, Any] = model.get("services") or {}
    release_image = (services.get(config.service) or {}).get("image")
    skip = {config.service, config.migrate, proxy.SERVICE, *_one_shots(services)}
    return sorted(
        name
        for name, spec in services.items()
        if name not in skip and (spec or {}).get("image") != release_image
    )


def _running(docker: DockerClient, names: list[str]) -> dict[str, set[str]]:
    with docker_errors("docker compose ps"):
        containers = docker.compose.ps(services=names)
    found: dict[str, set[str]] = {name: set() for name in names}
    for container in containers:
        service = (container.config.labels or {}).get(SERVICE_LABEL, "")
        found.setdefault(service, set()).add(container.id)
    return found


def _missing_images(docker: DockerClient, model: Mapping[str, Any], names: list[str]) -> list[str]:
    """The sidecars' images the engine does not have, as ``service (image)``."""
    services = model.get("services") or {}
    found = []
    for name in names:
        image = (services.get(name) or {}).get("image")
        if image and not docker.image.exists(image):
            found.append(f"{name} ({image})")
    return found


def _before_replacing(keep: Callable[[Sequence[str]], object], tried: Sequence[str]) -> None:
    """``keep`` the data of the sidecars about to be replaced; a SlipwayError
    from it is a DeployFailed. (One whose new image the engine lacks was not
    tried: compose's start fails before it stops the old one, or pulls the
    image and replaces it.)"""
    try:
        if tried:
            keep(tried)
    except SlipwayError as exc:
        raise DeployFailed(str(exc), details=exc.details) from None


def start(
    docker: DockerClient,
    config: Config,
    env: Environment,
    report: Report,
    before_replacing: Callable[[Sequence[str]], object] = nothing_kept,
) -> list[str]:
    """Start the environment's sidecars, healthy, and say which started or
    were replaced (``before_replacing`` given those about to be, once their
    new configuration passed its trial); DeployFailed (one line) when one
    does not get healthy within the environment's health timeout, or its
    image is not on the engine and cannot be pulled. The running sidecars it
    replaced, by name."""
    model = engine.compose_model(docker)
    names = of(model, config)
    if not names:
        return names
    before = _running(docker, names)
    # A running one about to change is tried first: compose replaces it in place.
    tried = trial.trial(docker, config, env, model, trial.changing(docker, before))
    if tried:
        report(f"tried the new configuration of {', '.join(tried)}: healthy")
    _before_replacing(before_replacing, tried)
    try:
        with docker_errors(f"starting {', '.join(names)}"):
            docker.compose.up(
                services=names,
                detach=True,
                wait=True,
                wait_timeout=env.health_timeout,
                quiet=True,
            )
    except EngineError as exc:
        missing = _missing_images(docker, model, names)
        why = (
            f"the sidecar image(s) of {', '.join(missing)} are not on {env.name}'s engine "
            f"({engine.where(env)}) and could not be pulled: load them there (docker load) "
            "or let that engine reach their registry"
            if missing
            else f"the sidecar(s) {', '.join(names)} did not start healthy within "
            f"{env.health_timeout}s ({exc.reason}): see `slipway logs --env {env.name}`"
        )
        raise DeployFailed(why, details=exc.details) from None
    after = _running(docker, names)
    started = [name for name in names if after.get(name) != before.get(name)]
    if started:
        report(f"started {', '.join(started)} (healthy) before the app")
    return [name for name in started if before.get(name)]


def dependents(
    model: Mapping[str, Any], replaced: Sequence[str], services: Sequence[str]
) -> list[str]:
    """Which of ``services`` must restart because a sidecar they depend on
    was ``replaced``: those whose ``depends_on`` says ``restart: true`` for it
    (compose's own word for it)."""
    specs = model.get("services") or {}
    found = []
    for service in services:
        needs = (specs.get(service) or {}).get("depends_on") or {}
        if isinstance(needs, Mapping) and any(
            (needs.get(name) or {}).get("restart") is True for name in replaced
        ):
            found.append(service)
    return found
