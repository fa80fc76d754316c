"""The deploy lock: taken when free, waited for and refused with who holds it,
released when its holder on this host has died."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest

from slipway import lock
from slipway.config import Config
from slipway.errors import Locked
from slipway.handle import Handle, Report

MakeDockerError = Callable[..., Exception]


class FakeNetworks:
    """The daemon's networks: a second create of a name fails, unless the
    engine lets duplicates through (its check is not atomic)."""

    def __init__(self, make_error: MakeDockerError) -> None:
        self.make_error = make_error
        self.networks: list[SimpleNamespace] = []
        self.duplicates = False
        self.removed: list[str] = []

    @property
    def labels(self) -> dict[str, dict[str, str]]:
        """The first network of each name: what the old, by-name view saw."""
        found: dict[str, dict[str, str]] = {}
        for network in self.networks:
            found.setdefault(network.name, network.labels)
        return found

    def add(self, name: str, labels: dict[str, str]) -> SimpleNamespace:
        network = SimpleNamespace(
            id=f"id{len(self.networks) + len(self.removed)}",
            name=name,
            labels=dict(labels),
            created=datetime.now(UTC) + timedelta(seconds=len(self.removed) + len(self.networks)),
        )
        self.networks.append(network)
        return network

    def create(self, name: str, *, labels: dict[str, str]) -> SimpleNamespace:
        if not self.duplicates and any(n.name == name for n in self.networks):
            raise self.make_error(
                stderr=f"Error response from daemon: network with name {name} already exists"
            )
        return self.add(name, labels)

    def list(self, *, filters: list[tuple[str, str]]) -> list[SimpleNamespace]:
        names = [value for key, value in filters if key == "name"]
        return [n for n in self.networks if all(name in n.name for name in names)]

    def remove(self, network_id: str) -> None:
        for network in self.networks:
            if network.id == network_id:
                self.networks.remove(network)
                self.removed.append(network_id)
                return
        raise self.make_error(stderr=f"Error response from daemon: network {network_id} not found")


@pytest.fixture
def networks(monkeypatch: pytest.MonkeyPatch, docker_error: MakeDockerError) -> FakeNetworks:
    fake = FakeNetworks(docker_error)
    monkeypatch.setattr(lock.time, "sleep", lambda _s: None)
    return fake


def _handle(config: Config, networks: FakeNetworks, report: Report) -> Handle:
    """A command's handle on prod whose client has only the (fake) networks."""
    docker: Any = SimpleNamespace(network=networks)
    # The lock never asks the backend.
    return Handle(config, config.environment("prod"), docker, backend=None, report=report)  # type: ignore[arg-type]


def held_by(
    networks: FakeNetworks, config: Config, pid: int, host: str | None = None, **more: str
) -> str:
    name = lock.name_of(config, config.environment("prod"))
    labels = lock._me("deploy --env prod")
    labels[f"{lock._PREFIX}pid"] = str(pid)
    labels[f"{lock._PREFIX}started"] = lock._started(pid)
    if host is not None:
        labels[f"{lock._PREFIX}host"] = host
    for key, value in more.items():
        labels[f"{lock._PREFIX}{key}"] = value
    networks.add(name, labels)
    return name


def _dead_pid() -> int:
    done = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    return int(done.stdout)


def test_a_free_lock_is_taken_for_the_block_and_released_after(
    config: Config, networks: FakeNetworks
) -> None:
    with lock.held(_handle(config, networks, print), command="deploy --env prod"):
        (labels,) = networks.labels.values()
        assert labels[f"{lock._PREFIX}command"] == "deploy --env prod"
        assert labels[f"{lock._PREFIX}pid"] == str(os.getpid())
    assert networks.labels == {}


def test_a_lock_held_by_a_live_process_is_refused_with_who_holds_it(
    config: Config, networks: FakeNetworks, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(lock.WAIT_ENV, "0")
    held_by(networks, config, os.getppid())
    said: list[str] = []
    with (
        pytest.raises(Locked) as failure,
        lock.held(_handle(config, networks, said.append), command="rollback"),
    ):
        pytest.fail("the block ran without the lock")
    message = str(failure.value)
    assert message.startswith("prod is locked by ")
    assert (
        f"@{socket.gethostname()} (pid {os.getppid()}) running `deploy --env prod` since "
        in message
    )
    assert message.endswith("wait for it to finish and try again")
    assert len(networks.labels) == 1, "the holder's lock was taken away"


def test_a_lock_whose_holder_died_on_this_host_is_released_and_taken(
    config: Config, networks: FakeNetworks
) -> None:
    name = held_by(networks, config, _dead_pid())
    said: list[str] = []
    with lock.held(_handle(config, networks, said.append), command="deploy --env prod"):
        assert networks.labels[name][f"{lock._PREFIX}pid"] == str(os.getpid())
    assert said[0].startswith("released a stale deploy lock of prod")


def test_a_lock_held_on_another_host_is_never_called_stale(
    config: Config, networks: FakeNetworks, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(lock.WAIT_ENV, "0")
    held_by(networks, config, 999_999, host="elsewhere")
    with (
        pytest.raises(Locked, match=r"locked by .*@elsewhere"),
        lock.held(_handle(config, networks, print), command="down"),
    ):
        pass


def test_a_dead_pid_in_another_pid_namespace_of_this_host_is_never_called_stale(
    config: Config, networks: FakeNetworks, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A CI container sharing the host's network (and so its host name) holds
    # the lock: its pid means nothing in this PID namespace.
    monkeypatch.setenv(lock.WAIT_ENV, "0")
    held_by(networks, config, _dead_pid(), pidns="pid:[4026500000]")
    with (
        pytest.raises(Locked, match="locked by"),
        lock.held(_handle(config, networks, print), command="deploy"),
    ):
        pytest.fail("a live holder in another container was declared dead")
    assert len(networks.networks) == 1


def test_a_pid_reused_by_another_process_is_a_stale_lock(
    config: Config, networks: FakeNetworks
) -> None:
    # The holder's pid is alive, but it started at another time: not the holder.
    held_by(networks, config, os.getppid(), started="1")
    said: list[str] = []
    with lock.held(_handle(config, networks, said.append), command="deploy"):
        pass
    assert said[0].startswith("released a stale deploy lock of prod")


def test_two_waiters_that_both_saw_a_stale_lock_never_remove_the_one_taken_since(
    config: Config, networks: FakeNetworks
) -> None:
    name = held_by(networks, config, _dead_pid())
    stale = networks.networks[0].id
    # Another waiter released the stale lock and took it between our look and
    # our removal: our removal is by the stale lock's id, so theirs stands.
    networks.remove(stale)
    theirs = networks.add(name, lock._me("deploy (the other waiter)"))
    lock._remove(SimpleNamespace(network=networks), name, stale)  # type: ignore[arg-type]
    assert networks.networks == [theirs]


def test_on_an_engine_that_allows_two_networks_of_one_name_only_the_oldest_holds(
    config: Config, networks: FakeNetworks, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(lock.WAIT_ENV, "3")
    networks.duplicates = True
    held_by(networks, config, os.getppid())
    sleeps: list[float] = []
    monkeypatch.setattr(lock.time, "sleep", sleeps.append)
    clock = iter(range(0, 10_000, 1))
    monkeypatch.setattr(lock.time, "monotonic", lambda: float(next(clock)))
    with (
        pytest.raises(Locked, match="locked by"),
        lock.held(_handle(config, networks, print), command="deploy"),
    ):
        pytest.fail("a second holder beside the first")
    # Each attempt made a duplicate and removed it again; the wait slept and ended.
    assert len(networks.networks) == 1
    assert sleeps
    assert len(networks.removed) == len(sleeps) + 1


def test_a_lock_that_vanishes_while_it_is_listed_is_looked_at_again(
    config: Config, networks: FakeNetworks, docker_error: MakeDockerError
) -> None:
    # `network ls` named a network that was removed before its inspection.
    real_list = networks.list
    calls = iter([True, False])

    def flaky(*, filters: list[tuple[str, str]]) -> list[SimpleNamespace]:
        if next(calls, False):
            raise docker_error(stderr="Error response from daemon: network 1a2b3c not found")
        return real_list(filters=filters)

    networks.list = flaky  # type: ignore[method-assign]
    with lock.held(_handle(config, networks, print), command="deploy"):
        assert len(networks.networks) == 1
    # The first attempt let go of what it had created; the second held it.
    assert len(networks.removed) == 2
    assert networks.networks == []
