"""Zero-downtime rollouts on one host: start the new release beside the old,
move the proxy's traffic once it is healthy, then drain and retire the old.

The steps, in the order :func:`roll` runs them:

0. the sidecars (Redis, a database: :mod:`.sidecars`), started and healthy
   before anything else, on every deploy;
1. the new release's migrations, as a one-off ``migrate`` container, while
   the old release serves (so migrations must be backward compatible:
   expand first, contract in a later release; see the README);
2. ``replicas`` new app containers, started beside the old ones
   (``compose up --no-recreate --scale``), each waited for until Docker
   reports it healthy (when no proxy runs, nothing serves: the proxy starts
   on them meanwhile), and the release's SBOM, written meanwhile, waited for;
3. the switch (:mod:`.switch`): the proxy's configuration names only the new
   containers, and a reload moves traffic without dropping a connection;
4. the old containers get no new requests; once the old proxy worker has
   finished its in-flight requests they get SIGTERM (uvicorn drains) and are
   removed.

A failure in 1 or 2 removes what was started and raises DeployFailed: the
old release never stopped serving and no request reached the new one.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace

from python_on_whales import Container, DockerClient

from slipway import engine
from slipway.backends.compose import changes, roles, sidecars, switch
from slipway.backends.compose.health import wait_healthy
from slipway.backends.protocol import NO_HOOKS, Hooks, Rollout
from slipway.config import Config, Environment
from slipway.engine import docker_errors
from slipway.errors import DeployFailed, EngineError, SlipwayError
from slipway.handle import Report, quiet
from slipway.timeline import Mark

MIGRATE_SERVICE = "migrate"
# The line a traceback ends with: `sqlalchemy.exc.OperationalError: ...`.
_RAISED = re.compile(r"^[\w.]*(Error|Exception|Exit)\b[^:]*: ")


def app_containers(docker: DockerClient, service: str) -> list[Container]:
    """Every container of the app service, running or not, oldest first."""
    with docker_errors("docker compose ps"):
        containers = docker.compose.ps(services=[service], all=True)
    return sorted(containers, key=lambda c: str(c.created))


def in_place(
    docker: DockerClient,
    config: Config,
    env: Environment,
    ref: str,
    applied: Mapping[str, str] | None,
) -> bool:
    """True when exactly the wanted release runs, healthy, behind the proxy,
    rolled out with the configuration (``applied``) the compose files, env
    file and settings say now."""
    current = app_containers(docker, config.service)
    others = roles.running(docker, config, env)
    return not changes.of(docker, config, env, ref, current, applied, others)


def migrate(docker: DockerClient, service: str = MIGRATE_SERVICE) -> None:
    """Run the release's migrations in a one-off container; raise if they fail."""
    try:
        with docker_errors(f"docker compose run {service}"):
            docker.compose.run(service, remove=True, tty=False)
    except EngineError as exc:
        output = "\n".join(s for s in (exc.stdout, exc.stderr) if s)
        lines = [ln.strip() for ln in output.splitlines() if ln.strip()]
        why = next((ln for ln in reversed(lines) if _RAISED.match(ln)), "") or next(
            (ln for ln in reversed(lines) if "error" in ln.lower() or "fail" in ln), ""
        )
        raise DeployFailed(
            f"{service} exited with code {exc.return_code}: {why or exc.reason}",
            details="\n".join(f"{service} log: {ln}" for ln in lines),
        ) from None


def start_beside(
    docker: DockerClient, service: str, old: Sequence[Container], replicas: int
) -> list[Container]:
    """Start ``replicas`` new containers of the service beside ``old``."""
    return roles.beside(docker, service, old, replicas, start=True)


def discard(docker: DockerClient, containers: Sequence[Container]) -> None:
    """Remove containers that never took traffic."""
    if containers:
        with docker_errors("removing the new containers"):
            docker.container.remove(list(containers), force=True)


def retire(docker: DockerClient, containers: Sequence[Container]) -> None:
    """SIGTERM containers that no longer get requests (they drain), then remove them."""
    if containers:
        with docker_errors("stopping the old containers"):
            docker.container.stop(list(containers), time=roles.STOP_TIMEOUT)
            docker.container.remove(list(containers), force=True)


@dataclass(frozen=True)
class _Old:
    """What runs before a rollout: the web role's containers, the other roles'."""

    web: list[Container]
    roles: dict[str, list[Container]]


def _started_healthy(
    docker: DockerClient,
    config: Config,
    env: Environment,
    old: _Old,
    *,
    proxy_down: bool,
    mark: Mark,
    ready: Callable[[], object],
) -> tuple[list[Container], roles.Started]:
    """``replicas`` new containers beside ``old``, and the other roles' new
    ones, healthy, and then ``ready`` run; DeployFailed, with none of them
    left and a stopped singleton started again, when they are not or it
    raises SlipwayError. With ``proxy_down`` (nothing serves) the proxy
    starts on the new ones meanwhile."""
    try:
        new = start_beside(docker, config.service, old.web, env.replicas)
    except EngineError as exc:
        # Compose may have created some before it failed (a missing secret file).
        before = {c.id for c in old.web}
        discard(docker, [c for c in app_containers(docker, config.service) if c.id not in before])
        raise DeployFailed(str(exc), details=exc.details) from None
    try:
        started = roles.start(docker, env, old.roles)
    except EngineError as exc:
        discard(docker, new)
        raise DeployFailed(str(exc), details=exc.details) from None
    mark("start")
    try:
        if proxy_down:
            switch.start_early(docker, config, env, new)
        wait_healthy(docker, new, env.health_timeout, service=config.service)
        roles.wait(docker, env, started)
        mark("health")
        ready()
    except SlipwayError as exc:
        discard(docker, new)
        roles.undo(docker, started, env.health_timeout)
        if proxy_down:
            switch.stop_early(docker)
        if isinstance(exc, DeployFailed):
            raise
        raise DeployFailed(str(exc), details=exc.details) from None
    return new, started


def _changes(
    docker: DockerClient,
    config: Config,
    env: Environment,
    ref: str,
    old: _Old,
    applied: Mapping[str, str] | None,
    replaced: Sequence[str],
) -> changes.Changes:
    """What differs from what runs (:func:`changes.of`); with nothing else,
    a replaced sidecar that a release service's ``depends_on`` says
    ``restart: true`` for is a change (compose restarts those; a rollout
    starts them anew, with no failed request)."""
    what = changes.of(docker, config, env, ref, old.web, applied, old.roles)
    if what or not replaced:
        return what
    services = [config.service, *old.roles]
    must = sidecars.dependents(engine.compose_model(docker), replaced, services)
    if not must:
        return what
    why = f"{', '.join(replaced)} replaced, and {', '.join(must)}'s depends_on says restart: true"
    return replace(what, configuration=(why,))


def _rolling(config: Config, env: Environment, ref: str, what: changes.Changes) -> str:
    """What a rollout says as it starts: why, when the release is the same."""
    why = "" if what.release else f": its configuration changed ({'; '.join(what.configuration)})"
    # With a new release, the proxy's change is not in `why`: named here.
    change = f" ({what.proxy_stale})" if what.release else ""
    gap = (
        f"; the proxy is recreated to apply its change{change}, so requests in flight to it fail"
        if what.proxy_stale
        else ""
    )
    return (
        f"rolling {engine.project_name(config, env)} to {ref}{why}: {env.replicas} new "
        f"container(s) beside the old, waiting up to {env.health_timeout}s for health "
        f"before the switch{gap} ..."
    )


def roll(  # noqa: PLR0913 (the client, the environment, the release, then keywords)
    docker: DockerClient,
    config: Config,
    env: Environment,
    ref: str,
    *,
    applied: Mapping[str, str] | None = None,
    migrations: bool = True,
    report: Report = quiet,
    hooks: Hooks = NO_HOOKS,
) -> Rollout:
    """Move the environment onto ``ref`` (which compose reads as SLIPWAY_IMAGE),
    saying what happens; nothing moves when it is already in place, with the
    configuration ``applied`` (as recorded) still what compose resolves.

    ``migrations=False`` skips step 1: a rollback returns to code that the
    current, expanded schema still serves, and an older release's migrations
    would not know the newer revision. ``hooks.before_switch`` runs once the
    new containers are healthy (the release's SBOM, written meanwhile); if
    it raises SlipwayError they are removed and nothing switches;
    ``hooks.before_replacing`` keeps the data of running sidecars about to change."""
    mark = hooks.mark
    # Redis, a database: there and healthy before the app, on every deploy.
    replaced = sidecars.start(docker, config, env, report, hooks.before_replacing)
    old = _Old(app_containers(docker, config.service), roles.running(docker, config, env))
    what = _changes(docker, config, env, ref, old, applied, replaced)
    mark("compare")
    if not what:
        report(f"{ref} already serves on {env.replicas} healthy replica(s): nothing to roll")
        return switch.kept_serving(docker, config, env, report)
    report(_rolling(config, env, ref, what))
    if migrations and config.migrate:
        migrate(docker, config.migrate)
        mark("migrate")
    new, started = _started_healthy(
        docker, config, env, old, proxy_down=what.proxy_down, mark=mark, ready=hooks.before_switch
    )
    names = [c.name for c in new]
    # Read before they are removed: a Container's attributes re-inspect it.
    old_names = tuple(c.name for c in old.web)
    recreate = what.proxy_stale is not None
    seconds = switch.switch(docker, config, env, names, recreate=recreate, early=what.proxy_down)
    mark("switch")
    retire(docker, old.web)
    roles.retire(docker, old.roles)
    mark("drain")
    done = Rollout(tuple(names), old_names, seconds)
    report(_switched(done, started))
    return done


def _switched(done: Rollout, started: roles.Started) -> str:
    """What a rollout says once it switched and drained."""
    return (
        f"switched the proxy to {', '.join(done.serving)} in {done.switch_seconds or 0:.2f}s"
        + (f"; drained and removed {', '.join(done.retired)}" if done.retired else "")
        + "".join(f"; replaced {name} ({len(new)} healthy)" for name, new in started.new.items())
    )
