"""The swarm backend: an environment as a stack on a Docker Swarm, whose
manager slipway.yaml's ``engine`` names, the release pulled by every node
from ``registry`` by digest.

``stackfile`` translates the compose model into the stack file, ``cluster``
talks to the manager and tells what really runs. A rollout goes in phases,
each a `docker stack deploy` of part of the stack: the sidecars, healthy;
then the migration, a one-shot job that must exit 0; then the app and its
roles, updated start-first under Swarm's own rollback, and waited for until
every task runs the pushed digest.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

from python_on_whales import DockerClient

from slipway import engine, secretfiles, state
from slipway.backends.compose import files
from slipway.backends.compose.stack import ensure_env_file, plain, release_values
from slipway.backends.pointer import KeptPointer
from slipway.backends.protocol import NO_HOOKS, Hooks, Rollout, ServiceStatus
from slipway.backends.swarm import cluster, stackfile
from slipway.backends.swarm.rollout import SwarmRollout
from slipway.config import Config, Environment
from slipway.engine import docker_errors
from slipway.errors import ConfigError, DeployFailed, UsageError
from slipway.handle import Report
from slipway.kept import Kept


class SwarmBackend(KeptPointer):
    """An environment's stack on a swarm, through the command's one client
    (the manager's engine)."""

    name = "swarm"

    def __init__(self, docker: DockerClient, config: Config, env: Environment) -> None:
        self.docker, self.config, self.env = docker, config, env
        self.stack = engine.project_name(config, env)
        self.rollout = SwarmRollout(docker, config, env)
        self._managed = False

    # --- before anything runs ------------------------------------------------------

    def prepare(self, report: Report) -> None:
        config, env = self.config, self.env
        engine.ensure_engine(self.docker, compose=True)
        self._manager()
        if env.https is not None:
            raise ConfigError(
                f"{env.name}: https: is not served on a swarm yet: remove it, or put TLS "
                "in front of the swarm's proxy"
            )
        if ensure_env_file(env):
            report(f"created {config.show(env.env_file)} from its example")
        model = self.model()
        self._refuse_sqlite(model)
        stackfile.refuse_unswarmable(model, env.name)
        kept = Kept.of(self.docker, config, env)
        kept.ensure()
        secretfiles.deliver(kept, config, env, report=report)

    def _refuse_sqlite(self, model: Mapping[str, Any]) -> None:
        web = (model.get("services") or {}).get(self.config.service) or {}
        url = str((web.get("environment") or {}).get("DATABASE_URL") or "")
        if url.startswith("sqlite"):
            raise ConfigError(
                f"{self.env.name} runs on a swarm, but {self.config.service}'s DATABASE_URL "
                f"is SQLite ({url}), a file one node cannot share with another: use "
                "PostgreSQL (compose/postgres.yaml), or orchestrator: compose"
            )

    # --- the release pointer and the state its engine keeps ---------------------------

    def _manager(self) -> None:
        """ConfigError unless the engine manages the swarm (asked once)."""
        if not self._managed:
            cluster.ensure_manager(self.docker, engine.where(self.env))
            self._managed = True

    def pull(self) -> None:
        # The first thing a command asks: nothing is read from, or left on,
        # an engine that is not the swarm's manager.
        self._manager()
        super().pull()

    # --- rolling out -----------------------------------------------------------------

    def in_place(self, ref: str) -> bool:
        return self.rollout.in_place(ref)

    def roll(
        self, ref: str, *, migrations: bool, report: Report, hooks: Hooks = NO_HOOKS
    ) -> Rollout:
        # hooks.before_replacing is not run: Swarm replaces a sidecar itself,
        # stop-first with its volume (its data is not copied out first).
        with state.staging(self.config, self.env, release_values(self.env, ref)):
            return self.rollout.roll(ref, migrations=migrations, report=report, hooks=hooks)

    # --- looking at it ---------------------------------------------------------------

    def status(self) -> list[ServiceStatus]:
        nodes = cluster.node_names(self.docker)
        rows = []
        for task in cluster.tasks(self.docker, self.stack, nodes):
            if task.desired not in ("running", "complete") and task.state != "running":
                continue
            repo, _, digest = task.image.partition("@")
            # Swarm has replaced it (it leaves DNS, then gets SIGTERM): not
            # serving any more, though its process still runs.
            stopping = task.state == "running" and task.desired not in ("running", "complete")
            state = "stopping" if stopping else task.state
            rows.append(
                ServiceStatus(
                    service=task.service,
                    container=f"{task.service}.{task.slot} on {task.node}",
                    state=state,
                    health="healthy" if state == "running" else "-",
                    image=repo.rpartition("/")[2] if digest else repo,
                    ports="-",
                    image_id=digest.removeprefix("sha256:")[:12] or "-",
                    node=task.node,
                )
            )
        return sorted(rows, key=lambda r: (r.service, r.container))

    def logs(
        self, *, follow: bool, tail: str | None, plain_text: bool, services: Sequence[str] = ()
    ) -> Iterator[str]:
        names = list(services) or sorted(self.model().get("services") or {})
        if follow and len(names) != 1:
            raise UsageError(
                f"{self.env.name} runs on a swarm: follow one service's logs at a time "
                f"(one of {', '.join(names)})"
            )
        for name in names:
            with docker_errors(f"docker service logs {name}"):
                lines = self.docker.service.logs(
                    f"{self.stack}_{name}",
                    follow=follow,
                    tail=int(tail) if tail not in (None, "all") else None,
                    stream=True,
                )
                for _source, line in lines:
                    text = line.decode(errors="replace").rstrip("\n")
                    yield plain(text) if plain_text else text

    def _container(self, service: str) -> str:
        with docker_errors("docker container ls"):
            found = self.docker.container.list(
                filters=[("label", f"com.docker.swarm.service.name={self.stack}_{service}")]
            )
        if not found:
            raise DeployFailed(
                f"{service} has no running task on {engine.where(self.env)}, the manager: "
                "commands run in a task there"
            )
        return str(found[0].name)

    def execute(self, service: str, command: Sequence[str], *, tty: bool) -> str:
        container = self._container(service)
        with docker_errors(f"`{' '.join(command)}` in {service}"):
            return str(self.docker.container.execute(container, list(command), tty=tty) or "")

    def exec_argv(
        self, service: str, command: Sequence[str], *, envs: Mapping[str, str] | None = None
    ) -> list[str]:
        return engine.container_exec_argv(self.docker, self._container(service), command, envs=envs)

    def run_argv(self, service: str, command: Sequence[str]) -> list[str]:
        return self.exec_argv(service, command)

    def stop(self, service: str) -> None:
        engine.service_update(self.docker, f"{self.stack}_{service}", replicas=0)

    def start(self, service: str, *, wait_seconds: int | None = None) -> None:
        del wait_seconds  # `docker service update` waits until the tasks converged.
        shape = self.rollout.release_shape("")
        replicas = shape[service][1] if service in shape else 1
        engine.service_update(self.docker, f"{self.stack}_{service}", replicas=replicas)

    def down(self, *, volumes: bool = False) -> None:
        cluster.remove(self.docker, self.stack, volumes=volumes)
        Kept.of(self.docker, self.config, self.env).remove(volume=volumes)

    def url(self) -> str:
        address = files.proxy_address(self.model())
        if address is None:
            return "(not published)"
        host = (
            urlsplit(self.env.engine).hostname
            if self.env.engine and "://" in self.env.engine
            else None
        )
        return f"http://{host or '127.0.0.1'}:{address[1]}"

    def model(self) -> Mapping[str, Any]:
        return engine.compose_model(self.docker)

    def watch(self) -> Iterator[str]:
        raise UsageError(f"{self.env.name} runs on a swarm: the dev loop runs with compose")
