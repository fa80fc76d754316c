"""One deploy at a time per environment, held on the engine.

The lock is a Docker network named ``<project>-<env>-lock``: the daemon
refuses a second network of the same name, so creating it is an atomic
test-and-set that every checkout and every person using the engine sees.
Its labels say who holds it (host, user, pid, command, since). A lock whose
holder ran on this host and is gone (a killed deploy) is released; a live
holder makes the next command wait, then give up with one line naming it.
"""

from __future__ import annotations

import getpass
import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

from python_on_whales import DockerClient

from slipway import engine
from slipway.config import Config, Environment
from slipway.engine import docker_errors
from slipway.errors import EngineError, Locked
from slipway.images import Report

_PREFIX = "io.slipway.lock."
# How long a command waits for another one's lock before it gives up.
WAIT_SECONDS = 600
# Where a test or a user sets another wait (seconds).
WAIT_ENV = "SLIPWAY_LOCK_WAIT"


@dataclass(frozen=True)
class Holder:
    host: str
    user: str
    pid: int
    command: str
    since: str

    def describe(self) -> str:
        return (
            f"{self.user}@{self.host} (pid {self.pid}) running `{self.command}` since {self.since}"
        )

    def gone(self) -> bool:
        """True when the holder ran on this host and its process has ended."""
        if self.host != socket.gethostname():
            return False
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            return False  # alive, another user's
        return False


def name_of(config: Config, env: Environment) -> str:
    return f"{engine.project_name(config, env)}-lock"


def _me(command: str) -> dict[str, str]:
    return {
        f"{_PREFIX}host": socket.gethostname(),
        f"{_PREFIX}user": getpass.getuser(),
        f"{_PREFIX}pid": str(os.getpid()),
        f"{_PREFIX}command": command,
        f"{_PREFIX}since": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def holder(docker: DockerClient, name: str) -> Holder | None:
    """Who holds the lock ``name``, or None when nobody does."""
    try:
        with docker_errors(f"docker network inspect {name}"):
            network = docker.network.inspect(name)
    except EngineError:
        return None
    labels = network.labels or {}
    return Holder(
        host=labels.get(f"{_PREFIX}host", "?"),
        user=labels.get(f"{_PREFIX}user", "?"),
        pid=int(labels.get(f"{_PREFIX}pid", "0") or 0),
        command=labels.get(f"{_PREFIX}command", "?"),
        since=labels.get(f"{_PREFIX}since", "?"),
    )


def _try_take(docker: DockerClient, name: str, labels: dict[str, str]) -> bool:
    try:
        with docker_errors(f"taking the deploy lock {name}"):
            docker.network.create(name, labels=labels)
    except EngineError as exc:
        if "already exists" in f"{exc.stderr}{exc.stdout}":
            return False
        raise Locked(f"cannot take the deploy lock {name}: {exc.reason}") from None
    return True


def _wait_seconds() -> float:
    raw = os.environ.get(WAIT_ENV, "")
    return float(raw) if raw.replace(".", "", 1).isdigit() else WAIT_SECONDS


@contextmanager
def held(config: Config, env: Environment, *, command: str, report: Report) -> Iterator[None]:
    """Hold the environment's lock for the block; wait for it, up to a limit."""
    docker = engine.client(config)
    name = name_of(config, env)
    labels = _me(command)
    deadline = time.monotonic() + _wait_seconds()
    waiting_said = False
    while not _try_take(docker, name, labels):
        other = holder(docker, name)
        if other is None:
            continue  # released between our attempt and the look
        if other.gone():
            report(f"released a stale deploy lock of {env.name}: {other.describe()} has ended")
            _release(docker, name)
            continue
        if time.monotonic() > deadline:
            raise Locked(
                f"{env.name} is locked by {other.describe()}: wait for it to finish and try again"
            )
        if not waiting_said:
            report(f"waiting for the deploy lock of {env.name}: held by {other.describe()}")
            waiting_said = True
        time.sleep(1)
    try:
        yield
    finally:
        _release(docker, name)


def _release(docker: DockerClient, name: str) -> None:
    try:
        with docker_errors(f"releasing the deploy lock {name}"):
            docker.network.remove(name)
    except EngineError as exc:
        if "not found" not in exc.stderr:
            raise
