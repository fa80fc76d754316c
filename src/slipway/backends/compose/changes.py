"""What differs between what runs and what a deploy asks for: the release's
image, the replicas, their health, the proxy's servers, and the services'
configuration as compose resolves it now from the compose files, the env file
and slipway's settings.

`docker compose config --hash` says each service's configuration hash as the
files, env files and settings resolve now; the release's rollout recorded
the same hashes (:func:`slipway.state.record_applied`). A difference means an
edited env file, compose file or slipway.yaml setting that the running
containers do not have, even when the image is the same. (The hash compose
labels containers with cannot be compared: slipway starts them with
``--no-deps``, and compose hashes them without their ``depends_on``, which
`config --hash` keeps.) The change is named from what runs (the container's
environment against the model's: names only, never values), so that a
deploy says what it rolls for.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from python_on_whales import Container, DockerClient

from slipway import engine, proxy, state
from slipway.backends.compose import files, roles
from slipway.config import Config, Environment
from slipway.engine import docker_errors, mounts
from slipway.errors import NotFound
from slipway.kept import Kept


@dataclass(frozen=True)
class Changes:
    """Why the environment is not in place (nothing: it is)."""

    # The release itself differs: its image, replicas, health or the proxy's servers.
    release: tuple[str, ...] = ()
    # The same release, configured otherwise (an env file, compose file or setting).
    configuration: tuple[str, ...] = ()
    # The proxy's own configuration changed: it must be recreated (a gap).
    proxy_stale: str | None = None
    # No proxy runs: nothing serves, so the new release's can start at once.
    proxy_down: bool = False

    def __bool__(self) -> bool:
        return bool(self.release or self.configuration or self.proxy_stale)


def of(
    docker: DockerClient,
    config: Config,
    env: Environment,
    ref: str,
    app: Sequence[Container],
    applied: Mapping[str, str] | None,
    others: Mapping[str, Sequence[Container]] = MappingProxyType({}),
) -> Changes:
    """What differs between ``app`` (the app's containers, running or not) and
    behind them the proxy, rolled out with the ``applied`` configuration
    hashes, and ``ref`` on ``env.replicas`` healthy replicas with the
    configuration compose resolves now; and between ``others`` (the other
    roles' containers, by role) and ``ref`` on each role's replicas."""
    release = (
        _release(docker, config, env, ref, app)
        or roles.differs(env, ref, others)
        or _image_moved(docker, ref, app)
    )
    running = proxy.container(docker)
    if running is None:
        release.append("the proxy is not running")
    want = hashes(docker, config, env) if applied is not None else {}
    # A new release can come with a proxy change too: the gap is said either way.
    stale = None
    if (
        running is not None
        and applied is not None
        and want.get(proxy.SERVICE) != applied.get(proxy.SERVICE)
    ):
        stale = _proxy_change(docker, running)
    if release:
        return Changes(release=tuple(release), proxy_stale=stale, proxy_down=running is None)
    if applied is None:
        return Changes(configuration=("what it runs with was not recorded",))
    configuration: list[str] = []
    configuration += [
        _change(docker, service, running[0])
        for service, running in {config.service: app, **others}.items()
        if running and want.get(service) != applied.get(service)
    ]
    if stale is not None:
        configuration.append(stale)
    if applied.get(state.ROTATED):
        configuration.append(f"the secret(s) {applied[state.ROTATED]} rotated")
    return Changes(configuration=tuple(configuration), proxy_stale=stale)


def hashes(docker: DockerClient, config: Config, env: Environment) -> dict[str, str]:
    """The app's, the other roles' and the proxy's configuration hashes, as
    compose resolves them now."""
    services = [config.service, *mounts.role_names(config, env), proxy.SERVICE]
    return engine.compose_config_hashes(docker, services)


def _release(
    docker: DockerClient, config: Config, env: Environment, ref: str, app: Sequence[Container]
) -> list[str]:
    names = sorted(c.name for c in app)
    if len(app) != env.replicas:
        return [f"{len(app)} app container(s) where {env.replicas} should serve"]
    if any(c.config.image != ref for c in app):
        return [f"the image is not {ref}"]
    if not all(_healthy(c) for c in app):
        return ["an app container is not healthy"]
    if sorted(proxy.servers_of(config, env, Kept.of(docker, config, env))) != names:
        return ["the proxy does not send requests to exactly these containers"]
    return []


def _image_moved(docker: DockerClient, ref: str, app: Sequence[Container]) -> list[str]:
    """The containers run another image than ``ref`` names now (by id: a tag
    that was moved to another image must not read as the release in place)."""
    try:
        with docker_errors(f"inspecting {ref}"):
            wanted = docker.image.inspect(ref).id
    except NotFound:
        return [f"{ref} is not on the engine"]
    if any(c.image != wanted for c in app):
        return [f"the containers run another image than {ref} names"]
    return []


def _healthy(container: Container) -> bool:
    state = container.state
    return bool(state.running) and state.health is not None and state.health.status == "healthy"


def _env(pairs: Sequence[str] | None) -> dict[str, str]:
    return dict(pair.partition("=")[::2] for pair in pairs or ())


def _change(docker: DockerClient, name: str, running: Container) -> str:
    """What changed in a role's configuration (the app's, a worker's): its
    environment's names (never their values), or else just that the compose
    configuration did."""
    service = engine.compose_model(docker).get("services", {}).get(name, {})
    wanted = {k: "" if v is None else str(v) for k, v in (service.get("environment") or {}).items()}
    has = _env(running.config.env)
    with docker_errors(f"inspecting {running.config.image}"):
        image_env = _env(docker.image.inspect(str(running.config.image)).config.env)
    changed = {k for k, v in wanted.items() if has.get(k) != v}
    # Set by the running container, unset now, and not the image's own.
    changed |= {k for k, v in has.items() if k not in wanted and image_env.get(k) != v}
    if changed:
        return f"{name}'s environment: {', '.join(sorted(changed))}"
    return f"{name}'s compose configuration"


def _published(ports: Mapping[str, Any] | None) -> str | None:
    """The host address a container publishes the proxy's port on."""
    for bind in (ports or {}).get(f"{proxy.PORT}/tcp") or []:
        return f"{bind.get('HostIp') or '0.0.0.0'}:{bind.get('HostPort')}"
    return None


def _proxy_change(docker: DockerClient, running: Container) -> str:
    """What changed in the proxy's configuration, which only recreating it applies."""
    address = files.proxy_address(engine.compose_model(docker))
    was = _published(running.network_settings.ports)
    now = f"{address[0]}:{address[1]}" if address else None
    if was != now:
        return f"the proxy's published port: {was or 'none'} -> {now or 'none'}"
    return "the proxy's compose configuration"
