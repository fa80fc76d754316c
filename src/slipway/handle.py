"""One command's handle: what a job works with, built once at the edge.

Kamal's commander is the model: the config, the environment, its backend, the
one Docker client and where progress goes, in one frozen object the task (or
nox session) makes and every job takes. Nothing below the edge resolves the
environment again or builds another client.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from slipway.timeline import Timeline

if TYPE_CHECKING:
    from python_on_whales import DockerClient

    from slipway.backends import Backend
    from slipway.config import Config, Environment

# Where a job says what it does, a line at a time (print, or a progress display).
Report = Callable[[str], None]


def quiet(_line: str) -> None:
    """A report that says nothing."""


@dataclass(frozen=True)
class Handle:
    config: Config
    env: Environment
    docker: DockerClient
    backend: Backend
    report: Report
    # Where the command's seconds go (deploy marks its phases).
    timeline: Timeline = field(default_factory=Timeline)
    # The engine that builds the release: the environment's own (None), or
    # this machine's for `build: local`, which then ships it there.
    builder: DockerClient | None = None

    def role(self, name: str | None) -> str:
        """The compose service of the release's role ``name``: the web one
        (slipway.yaml's ``service``) for None, ``web`` or its own name; a
        UsageError naming the roles there are for any other name."""
        from slipway.errors import UsageError  # noqa: PLC0415 (see of())

        web = self.config.service
        if name in (None, "web", web):
            return web
        if name in (others := self.roles()):
            return str(name)
        there = ", ".join([f"{web} (web)", *others])
        raise UsageError(f"{self.env.name} has no role {name!r}: its roles are {there}")

    def roles(self) -> list[str]:
        """The release's roles but the web one (a worker), by compose service."""
        from slipway.engine import mounts  # noqa: PLC0415 (see of())

        return mounts.role_names(self.config, self.env)


def of(config: Config, env_name: str, *, report: Report = quiet) -> Handle:
    """The handle of a command on environment ``env_name`` (ConfigError, with
    the names there are, if slipway.yaml has none of that name)."""
    # Imported here: every job imports this module for its types, and the
    # backends import the jobs' modules.
    from slipway import backends, engine  # noqa: PLC0415

    env = config.environment(env_name)
    docker = engine.client(config, env)
    builder = engine.client(config) if env.remote and env.build == "local" else None
    return Handle(config, env, docker, backends.of(docker, config, env), report, builder=builder)
