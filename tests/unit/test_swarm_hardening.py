"""slipway.backends.swarm.hardening: what a swarm task runs without, of what
its compose files ask for (pure: no engine)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from slipway.backends.swarm import hardening

HARDENED: dict[str, Any] = {
    "read_only": True,
    "cap_drop": ["ALL"],
    "init": True,
    "security_opt": ["no-new-privileges:true"],
    "deploy": {"resources": {"limits": {"memory": "512M", "pids": 256}}},
}


def _host(**changes: object) -> Any:
    values: dict[str, object] = {
        "readonly_rootfs": True,
        "cap_drop": ["ALL"],
        "init": True,
        "memory": 512 * 2**20,
        "pids_limit": 256,
    }
    return SimpleNamespace(**(values | changes))


def test_every_control_the_compose_files_ask_for_is_read() -> None:
    assert hardening.asked(HARDENED) == {
        "read_only",
        "cap_drop: ALL",
        "init",
        "no-new-privileges",
        "memory limit",
        "pids limit",
    }
    assert hardening.asked({}) == set()


def test_a_task_without_no_new_privs_lacks_only_that() -> None:
    have = hardening.present(_host(), no_new_privs=False)
    assert hardening.asked(HARDENED) - have == {"no-new-privileges"}
    assert hardening.asked(HARDENED) - hardening.present(_host(), no_new_privs=True) == set()
    lax = hardening.present(_host(readonly_rootfs=False, pids_limit=-1), no_new_privs=True)
    assert hardening.asked(HARDENED) - lax == {"read_only", "pids limit"}


def test_no_new_privs_is_read_from_the_process_status() -> None:
    status = "Name:\tpython\nNoNewPrivs:\t1\nSeccomp:\t2\n"
    assert hardening.no_new_privs(status)
    assert not hardening.no_new_privs(status.replace("NoNewPrivs:\t1", "NoNewPrivs:\t0"))
    assert not hardening.no_new_privs("Name:\tpython\n")


def test_one_line_per_dropped_control_names_its_services_and_the_fix() -> None:
    findings = [
        hardening.Finding("worker", "node-1", frozenset({"no-new-privileges"})),
        hardening.Finding("app", "node-1", frozenset({"no-new-privileges"})),
        hardening.Finding("migrate", "node-1", frozenset()),
    ]
    assert hardening.said(findings) == [
        "warning: app, worker run on node-1 without no-new-privileges, which the compose "
        "files ask for; Swarm drops security_opt (moby#41371): set "
        '"no-new-privileges": true in every node\'s daemon.json'
    ]
    assert hardening.said(findings[2:]) == []
    (line,) = hardening.said(findings[1:])
    assert line.startswith("warning: app runs on node-1 without no-new-privileges")
