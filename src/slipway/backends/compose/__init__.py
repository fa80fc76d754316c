"""The compose backend: an environment as a compose project on one engine,
its app replicas behind slipway's HAProxy.

The package: ``stack`` brings a stack up, looks at it and takes it down;
``rollout`` moves it to a release with no failed request; ``files`` reads
the proxy's published port from the compose files. This module is the
:class:`~slipway.backends.Backend` they make together.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from python_on_whales import DockerClient

from slipway import engine, proxy, state
from slipway.backends.compose import changes, files, rollout, stack
from slipway.backends.pointer import KeptPointer
from slipway.backends.protocol import NO_HOOKS, Hooks, Rollout, ServiceStatus
from slipway.config import Config, Environment
from slipway.engine import docker_errors
from slipway.handle import Report
from slipway.kept import Kept


class ComposeBackend(KeptPointer):
    """An environment's compose stack, through the command's one client."""

    name = "compose"

    def __init__(self, docker: DockerClient, config: Config, env: Environment) -> None:
        self.docker, self.config, self.env = docker, config, env

    def prepare(self, report: Report) -> None:
        stack.prepare(self.docker, self.config, self.env, report=report)

    def in_place(self, ref: str) -> bool:
        applied = state.applied(self.config, self.env)
        return rollout.in_place(self.docker, self.config, self.env, ref, applied)

    def roll(
        self, ref: str, *, migrations: bool, report: Report, hooks: Hooks = NO_HOOKS
    ) -> Rollout:
        # compose reads the staged release after the pointer: the new
        # containers run it, and the pointer moves only once it serves.
        config, env = self.config, self.env
        with state.staging(config, env, stack.release_values(env, ref)):
            applied = state.applied(config, env)
            done = rollout.roll(
                self.docker,
                config,
                env,
                ref,
                applied=applied,
                migrations=migrations,
                report=report,
                hooks=hooks,
            )
            # What it serves with now, for the next deploy to compare (when
            # nothing moved, what was recorded is what it still serves with).
            if done.switch_seconds is not None:
                state.record_applied(config, env, changes.hashes(self.docker, config, env))
        return done

    def status(self) -> list[ServiceStatus]:
        return stack.status(self.docker)

    def logs(
        self, *, follow: bool, tail: str | None, plain_text: bool, services: Sequence[str] = ()
    ) -> Iterator[str]:
        return stack.logs(
            self.docker, follow=follow, tail=tail, plain_text=plain_text, services=services
        )

    def execute(self, service: str, command: Sequence[str], *, tty: bool) -> str:
        return stack.execute(self.docker, service, command, tty=tty)

    def exec_argv(
        self, service: str, command: Sequence[str], *, envs: Mapping[str, str] | None = None
    ) -> list[str]:
        index = stack.first_index(self.docker, service)
        return engine.compose_exec_argv(self.docker, service, command, envs=envs, index=index)

    def run_argv(self, service: str, command: Sequence[str]) -> list[str]:
        return engine.compose_run_argv(self.docker, service, list(command))

    def stop(self, service: str) -> None:
        with docker_errors(f"stopping {service}"):
            self.docker.compose.stop(services=[service])

    def start(self, service: str, *, wait_seconds: int | None = None) -> None:
        stack.start(self.docker, service, wait_seconds=wait_seconds)
        running = proxy.container(self.docker) if service == self.config.service else None
        if running is not None:
            # The proxy marked the stopped replicas down and would wait for two
            # good checks of its own; a reload sends them requests at once.
            proxy.reload(self.docker, running)

    def down(self, *, volumes: bool = False) -> None:
        stack.down(self.docker, volumes=volumes)
        # What the engine keeps goes with the stack's own volumes.
        Kept.of(self.docker, self.config, self.env).remove(volume=volumes)

    def url(self) -> str:
        return stack.url(self.docker)

    def model(self) -> Mapping[str, Any]:
        return engine.compose_model(self.docker)

    def watch(self) -> Iterator[str]:
        return engine.compose_watch(self.docker)

    def port_setting(self) -> str:
        """How to move the proxy to another host port, in the project's own terms."""
        return files.port_setting(self.config, self.env)
