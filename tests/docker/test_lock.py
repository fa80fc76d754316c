"""The deploy lock with real processes on the real engine: never two holders
(many waiters at once, and many waiters that all find one stale lock), and a
live holder in another PID namespace of this host (a CI container sharing the
host's network and name) is never declared dead."""

from __future__ import annotations

import getpass
import itertools
import json
import os
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from python_on_whales import docker

pytestmark = pytest.mark.docker

ROOT = Path(__file__).resolve().parents[2]

# One process: take the lock named argv[1], note when it held it in the file
# argv[2], hold it argv[3] seconds. The lock's name is the test's own.
HOLDER = """\
import sys, time
from slipway import config, handle, lock

name, log, hold = sys.argv[1], sys.argv[2], float(sys.argv[3])
lock.name_of = lambda _config, _env: name
with lock.held(handle.of(config.load(), "prod", report=print), command="test"):
    start = time.time()
    print("holding", flush=True)
    time.sleep(hold)
    with open(log, "a") as out:
        out.write(f"{start} {time.time()}\\n")
"""
# The labels a process writes on its lock; it then ends, as a killed deploy does.
LABELS_OF_A_DEAD_HOLDER = """\
import json
from slipway import lock
print(json.dumps(lock._me("deploy --env prod (killed)")))
"""


@pytest.fixture
def lock_name() -> Iterator[str]:
    name = f"slipway-test-lock-{uuid.uuid4().hex[:8]}"
    yield name
    for network in docker.network.list(filters=[("name", name)]):
        docker.network.remove(network.id)


def _start(
    name: str, log: Path, hold: float, *prefix: str, wait: int = 120
) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*prefix, sys.executable, "-c", HOLDER, name, str(log), str(hold)],
        cwd=ROOT,
        env={**os.environ, "SLIPWAY_LOCK_WAIT": str(wait)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _intervals(log: Path) -> list[tuple[float, float]]:
    rows = [line.split() for line in log.read_text().splitlines()]
    return sorted((float(a), float(b)) for a, b in rows)


def _assert_one_at_a_time(spans: list[tuple[float, float]]) -> None:
    for (_, end), (start, _) in itertools.pairwise(spans):
        assert start >= end, f"two holders at once: {spans}"


def test_many_processes_at_once_hold_the_lock_one_at_a_time(lock_name: str, tmp_path: Path) -> None:
    log = tmp_path / "held.log"
    procs = [_start(lock_name, log, 0.3) for _ in range(5)]
    outputs = [p.communicate(timeout=180)[0] for p in procs]
    assert [p.returncode for p in procs] == [0] * 5, outputs
    spans = _intervals(log)
    assert len(spans) == 5
    _assert_one_at_a_time(spans)
    assert docker.network.list(filters=[("name", lock_name)]) == []


def test_waiters_that_all_find_a_stale_lock_still_hold_it_one_at_a_time(
    lock_name: str, tmp_path: Path
) -> None:
    done = subprocess.run(
        [sys.executable, "-c", LABELS_OF_A_DEAD_HOLDER],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    docker.network.create(lock_name, labels=json.loads(done.stdout))
    log = tmp_path / "held.log"
    procs = [_start(lock_name, log, 0.5) for _ in range(6)]
    outputs = [p.communicate(timeout=180)[0] for p in procs]
    assert [p.returncode for p in procs] == [0] * 6, outputs
    assert any("released a stale deploy lock of prod" in out for out in outputs), outputs
    spans = _intervals(log)
    assert len(spans) == 6
    _assert_one_at_a_time(spans)


def _pid_free_on_this_host() -> int:
    for pid in range(45_000, 60_000):
        if not Path(f"/proc/{pid}").exists():
            return pid
    pytest.fail("no free pid to give the holder")


def test_a_live_holder_in_another_pid_namespace_is_never_declared_dead(
    lock_name: str, tmp_path: Path
) -> None:
    # The holder runs in its own PID namespace (as in a container sharing the
    # host's network and name) under a pid that no process of this namespace has.
    pid = _pid_free_on_this_host()
    log = tmp_path / "held.log"
    command = [
        "unshare", "--pid", "--fork", "--mount-proc", "sh", "-c",
        f'echo {pid - 1} > /proc/sys/kernel/ns_last_pid && "$@"', "sh",
    ]  # fmt: skip
    holder = _start(lock_name, log, 8, *command)
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "holding"
        (network,) = docker.network.list(filters=[("name", lock_name)])
        assert network.labels["io.slipway.lock.pid"] == str(pid)

        waiter = _start(lock_name, tmp_path / "waiter.log", 0, wait=2)
        out = waiter.communicate(timeout=60)[0]
        assert waiter.returncode != 0
        assert "released a stale" not in out
        assert f"prod is locked by {getpass.getuser()}@{socket.gethostname()} (pid {pid})" in out
        assert docker.network.list(filters=[("name", lock_name)]) != []
    finally:
        rest = holder.communicate(timeout=60)[0]
    assert holder.returncode == 0, rest
    assert len(_intervals(log)) == 1
    assert docker.network.list(filters=[("name", lock_name)]) == []
