"""The deploy lock: taken when free, waited for and refused with who holds it,
released when its holder on this host has died."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import pytest

from slipway import lock
from slipway.config import Config
from slipway.errors import Locked

MakeDockerError = Callable[..., Exception]


class FakeNetworks:
    """The daemon's network names: a second create of a name fails."""

    def __init__(self, make_error: MakeDockerError) -> None:
        self.make_error = make_error
        self.labels: dict[str, dict[str, str]] = {}

    def create(self, name: str, *, labels: dict[str, str]) -> None:
        if name in self.labels:
            raise self.make_error(
                stderr=f"Error response from daemon: network with name {name} already exists"
            )
        self.labels[name] = dict(labels)

    def inspect(self, name: str) -> Any:
        if name not in self.labels:
            raise self.make_error(stderr=f"Error: No such network: {name}")
        return SimpleNamespace(labels=self.labels[name])

    def remove(self, name: str) -> None:
        if self.labels.pop(name, None) is None:
            raise self.make_error(stderr=f"Error response from daemon: network {name} not found")


@pytest.fixture
def networks(monkeypatch: pytest.MonkeyPatch, docker_error: MakeDockerError) -> FakeNetworks:
    fake = FakeNetworks(docker_error)
    monkeypatch.setattr(lock.engine, "client", lambda _config: SimpleNamespace(network=fake))
    monkeypatch.setattr(lock.time, "sleep", lambda _s: None)
    return fake


def held_by(networks: FakeNetworks, config: Config, pid: int, host: str | None = None) -> str:
    name = lock.name_of(config, config.environment("prod"))
    labels = lock._me("deploy --env prod")
    labels[f"{lock._PREFIX}pid"] = str(pid)
    if host is not None:
        labels[f"{lock._PREFIX}host"] = host
    networks.labels[name] = labels
    return name


def test_a_free_lock_is_taken_for_the_block_and_released_after(
    config: Config, networks: FakeNetworks
) -> None:
    env = config.environment("prod")
    with lock.held(config, env, command="deploy --env prod", report=print):
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
        lock.held(config, config.environment("prod"), command="rollback", report=said.append),
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
    done = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    name = held_by(networks, config, int(done.stdout))
    said: list[str] = []
    with lock.held(
        config, config.environment("prod"), command="deploy --env prod", report=said.append
    ):
        assert networks.labels[name][f"{lock._PREFIX}pid"] == str(os.getpid())
    assert said[0].startswith("released a stale deploy lock of prod")


def test_a_lock_held_on_another_host_is_never_called_stale(
    config: Config, networks: FakeNetworks, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(lock.WAIT_ENV, "0")
    held_by(networks, config, 999_999, host="elsewhere")
    with (
        pytest.raises(Locked, match=r"locked by .*@elsewhere"),
        lock.held(config, config.environment("prod"), command="down", report=print),
    ):
        pass
