"""The :class:`Backend` protocol: what the jobs ask of an environment's stack,
and the shapes its answers take."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from slipway.timeline import Mark, mark_nothing

if TYPE_CHECKING:
    from slipway.handle import Report


def nothing() -> None:
    """No step before a rollout's switch."""


def nothing_kept(_sidecars: Sequence[str]) -> None:
    """No step before a rollout replaces sidecars."""


@dataclass(frozen=True)
class Hooks:
    """What a job asks a rollout to do at its steps: ``mark`` each step as
    it ends (migrate, start, health, switch, drain); ``before_switch`` once
    the new release is healthy, before it takes traffic (a SlipwayError from
    it is a DeployFailed, nothing switched); ``before_replacing`` with the
    running sidecars about to be replaced, their new configuration tried."""

    mark: Mark = mark_nothing
    before_switch: Callable[[], object] = nothing
    before_replacing: Callable[[Sequence[str]], object] = nothing_kept


# A rollout nobody asks anything of.
NO_HOOKS = Hooks()


@dataclass(frozen=True)
class ServiceStatus:
    """One container of a stack, as `slipway status` shows it."""

    service: str
    container: str
    state: str
    health: str
    image: str
    ports: str
    # The id of the image the container runs (12 hex digits): what a tag named
    # when the container started, whatever it names now.
    image_id: str = "-"
    # The swarm node it runs on ("" on one engine).
    node: str = ""


@dataclass(frozen=True)
class Rollout:
    """What a rollout did: the containers that serve now, those it retired,
    and how long the switch of the proxy took (None when nothing moved)."""

    serving: tuple[str, ...]
    retired: tuple[str, ...]
    switch_seconds: float | None


class Backend(Protocol):
    """An environment's stack, wherever and however it runs."""

    name: str

    def prepare(self, report: Report) -> None:
        """What the stack needs before anything is built or touched (the engine
        and its plugins, the env file from its example, secret files, a free
        port); UsageError or ConfigError, with nothing touched, if it cannot."""

    def release(self) -> str | None:
        """The release the environment runs (its image), if one was recorded."""

    def forget(self) -> None:
        """The environment runs no release any more (its stack was taken down)."""

    def pull(self) -> None:
        """Bring the state the environment's engine keeps (the release pointer,
        the configuration it was rolled out with, the history) into this
        checkout's cache, before a command reads it."""

    def push(self) -> None:
        """Send this checkout's state of the environment back to its engine,
        after a command changed it under the deploy lock."""

    def in_place(self, ref: str) -> bool:
        """True when exactly ``ref`` runs, healthy, behind the proxy."""

    def roll(
        self, ref: str, *, migrations: bool, report: Report, hooks: Hooks = NO_HOOKS
    ) -> Rollout:
        """Roll the stack onto ``ref`` with no failed request, and record it as
        the release once it serves; DeployFailed, with the release before still
        recorded and serving, if it never became healthy. ``hooks`` are run
        at the rollout's steps (:class:`Hooks`)."""

    def status(self) -> list[ServiceStatus]:
        """Every container of the stack, running or not."""

    def logs(
        self, *, follow: bool, tail: str | None, plain_text: bool, services: Sequence[str] = ()
    ) -> Iterator[str]:
        """The stack's log lines (only the ``services``' when given)."""

    def execute(self, service: str, command: Sequence[str], *, tty: bool) -> str:
        """Run a command in the service's first running container; its output."""

    def exec_argv(
        self, service: str, command: Sequence[str], *, envs: Mapping[str, str] | None = None
    ) -> list[str]:
        """The argv that runs ``command`` in the service's first running
        container with stdin open (for data streamed in or out)."""

    def run_argv(self, service: str, command: Sequence[str]) -> list[str]:
        """The argv that runs ``command`` in a one-off container of the
        service (its volumes, no ports), stdin open."""

    def stop(self, service: str) -> None:
        """Stop the service's containers (the proxy stops sending them requests)."""

    def start(self, service: str, *, wait_seconds: int | None = None) -> None:
        """Start the service, waiting until it is healthy, and put it back behind the proxy."""

    def down(self, *, volumes: bool = False) -> None:
        """Stop and remove the stack's containers (and its volumes if asked)."""

    def url(self) -> str:
        """Where the host reaches the stack."""

    def model(self) -> Mapping[str, Any]:
        """The stack's services, networks and volumes as the backend resolves them."""

    def watch(self) -> Iterator[str]:
        """Sync source edits into the running stack (the dev loop), line by line."""
