"""One deploy at a time per environment, held on the engine.

The lock is a Docker network named ``<project>-<env>-lock``: the daemon
refuses a second network of the same name, so creating it is a test-and-set
that every checkout and every person using the engine sees. Where the
daemon's duplicate check is not atomic (two creates at once can both
succeed), the oldest network of the name is the lock and every other creator
removes its own and waits. Its labels say who holds it (host, user, pid,
command, since) and where that pid lives (the boot, the PID namespace, the
process's start time). A lock whose holder ran in this host's boot and PID
namespace and has ended (or whose pid now names another process) is
released, by its network id, so a lock taken since is never removed; a live
holder, or one slipway cannot see, makes the next command wait, then give up
with one line naming it. Every wait is bounded.
"""

from __future__ import annotations

import getpass
import os
import socket
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from python_on_whales import DockerClient

from slipway import engine
from slipway.config import Config, Environment
from slipway.engine import docker_errors
from slipway.errors import AlreadyExists, EngineError, Locked, NotFound
from slipway.handle import Handle

_PREFIX = "io.slipway.lock."
# How long a command waits for another one's lock before it gives up.
WAIT_SECONDS = 600
# Where a test or a user sets another wait (seconds).
WAIT_ENV = "SLIPWAY_LOCK_WAIT"
# Between two looks: while a live holder works, and after a lock changed hands.
WAITING_PAUSE = 1.0
RACING_PAUSE = 0.2


def _read(path: str) -> str:
    try:
        return Path(path).read_text().strip()
    except OSError:
        return ""


def _pid_namespace() -> str:
    try:
        return str(Path("/proc/self/ns/pid").readlink())
    except OSError:
        return ""


def _started(pid: int | str) -> str:
    """When process ``pid`` started (clock ticks since boot), "" when unknown:
    a pid reused by another process has another start."""
    stat = _read(f"/proc/{pid}/stat")
    return stat.rsplit(")", 1)[1].split()[19] if ")" in stat else ""


@dataclass(frozen=True)
class Holder:
    host: str
    user: str
    pid: int
    command: str
    since: str
    # Where the pid means something: this boot, this PID namespace, and the
    # process's start ("" from a host without /proc, or an older slipway).
    boot: str = ""
    pidns: str = ""
    started: str = ""

    @classmethod
    def of(cls, labels: Mapping[str, str]) -> Holder:
        def label(key: str, default: str = "?") -> str:
            return labels.get(f"{_PREFIX}{key}", default)

        pid = label("pid", "0")
        return cls(
            host=label("host"),
            user=label("user"),
            pid=int(pid) if pid.isdigit() else 0,
            command=label("command"),
            since=label("since"),
            boot=label("boot", ""),
            pidns=label("pidns", ""),
            started=label("started", ""),
        )

    def describe(self) -> str:
        return (
            f"{self.user}@{self.host} (pid {self.pid}) running `{self.command}` since {self.since}"
        )

    def gone(self) -> bool:
        """True only when the holder's pid is one this process can judge (same
        host, boot and PID namespace) and no longer names the holder."""
        here = (socket.gethostname(), _read(_BOOT_ID), _pid_namespace())
        if (self.host, self.boot, self.pidns) != here or self.pid <= 0:
            return False  # another host, boot or container: never ours to call dead
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            pass  # alive, another user's
        # The pid is alive: it is the holder only if it started when the holder did.
        now = _started(self.pid)
        return bool(self.started and now and now != self.started)


_BOOT_ID = "/proc/sys/kernel/random/boot_id"


def name_of(config: Config, env: Environment) -> str:
    return f"{engine.project_name(config, env)}-lock"


def _me(command: str) -> dict[str, str]:
    return {
        f"{_PREFIX}host": socket.gethostname(),
        f"{_PREFIX}user": getpass.getuser(),
        f"{_PREFIX}pid": str(os.getpid()),
        f"{_PREFIX}command": command,
        f"{_PREFIX}since": datetime.now(UTC).isoformat(timespec="seconds"),
        f"{_PREFIX}boot": _read(_BOOT_ID),
        f"{_PREFIX}pidns": _pid_namespace(),
        f"{_PREFIX}started": _started("self"),
    }


@dataclass(frozen=True)
class _Network:
    id: str
    created: datetime
    holder: Holder


def _locks(docker: DockerClient, name: str) -> list[_Network] | None:
    """Every network named ``name``, oldest first: the first is the lock.
    None when one vanished while it was being listed (the lock changed hands
    between `network ls` and its inspection): look again."""
    try:
        with docker_errors(f"docker network ls --filter name={name}"):
            exact = [
                _Network(
                    n.id, n.created or datetime.min.replace(tzinfo=UTC), Holder.of(n.labels or {})
                )
                for n in docker.network.list(filters=[("name", name)])
                if n.name == name
            ]
    except NotFound:
        return None
    return sorted(exact, key=lambda n: (n.created, n.id))


def _create(docker: DockerClient, name: str, labels: dict[str, str]) -> str | None:
    """The id of a new network ``name``; None when the daemon says one exists."""
    try:
        with docker_errors(f"taking the deploy lock {name}"):
            return docker.network.create(name, labels=labels).id
    except AlreadyExists:
        return None
    except EngineError as exc:
        raise Locked(f"cannot take the deploy lock {name}: {exc.reason}") from None


def _wait_seconds() -> float:
    raw = os.environ.get(WAIT_ENV, "")
    return float(raw) if raw.replace(".", "", 1).isdigit() else WAIT_SECONDS


def _take(
    docker: DockerClient, name: str, labels: dict[str, str]
) -> tuple[str | None, _Network | None]:
    """One attempt: the id of the lock when it is now ours, else None and
    the lock that stands in the way (None when it vanished meanwhile)."""
    ours = _create(docker, name, labels)
    locks = _locks(docker, name)
    if locks is None:  # in flux: never hold what could not be seen whole
        if ours is not None:
            _remove(docker, name, ours)
        return None, None
    if ours is not None and locks and locks[0].id == ours:
        return ours, None
    if ours is not None:
        _remove(docker, name, ours)  # a duplicate beside an older lock: not ours
    return None, next((n for n in locks if n.id != ours), None)


@contextmanager
def held(handle: Handle, *, command: str) -> Iterator[None]:
    """Hold the environment's lock for the block; wait for it, up to a limit."""
    docker, env, report = handle.docker, handle.env, handle.report
    name = name_of(handle.config, env)
    labels = _me(command)
    deadline = time.monotonic() + _wait_seconds()
    waiting_said = False
    while True:
        ours, other = _take(docker, name, labels)
        if ours is not None:
            break
        pause = RACING_PAUSE
        who = other.holder.describe() if other is not None else "another command"
        if other is not None and other.holder.gone():
            report(f"released a stale deploy lock of {env.name}: {who} has ended")
            _remove(docker, name, other.id)  # by id: a lock taken since stays
        elif other is not None:
            if not waiting_said:
                report(f"waiting for the deploy lock of {env.name}: held by {who}")
                waiting_said = True
            pause = WAITING_PAUSE
        if time.monotonic() > deadline:
            raise Locked(f"{env.name} is locked by {who}: wait for it to finish and try again")
        time.sleep(pause)
    try:
        yield
    finally:
        _remove(docker, name, ours)


def _remove(docker: DockerClient, name: str, network_id: str) -> None:
    """Remove one lock network by id; one already gone is fine."""
    try:
        with docker_errors(f"releasing the deploy lock {name}"):
            docker.network.remove(network_id)
    except NotFound:
        pass
