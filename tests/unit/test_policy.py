"""slipway.checks.policy: each hardening rule, one-shot exemptions, results naming
service and rule."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from slipway.checks import policy

HARDENED: dict[str, Any] = {
    "read_only": True,
    "tmpfs": ["/tmp"],  # noqa: S108 (a path inside the container)
    "cap_drop": ["ALL"],
    "security_opt": ["no-new-privileges:true"],
    "init": True,
    "deploy": {"resources": {"limits": {"memory": "536870912", "pids": 256}}},
    "restart": "unless-stopped",
    "healthcheck": {"test": ["CMD", "true"], "interval": "10s"},
    "ports": [{"host_ip": "127.0.0.1", "target": 8000, "published": "8000"}],
    "volumes": [{"type": "volume", "source": "app-data", "target": "/app/data"}],
}


def model(**services: dict[str, Any]) -> dict[str, Any]:
    return {"name": "slipway-prod", "services": services}


def hardened(**changes: Any) -> dict[str, Any]:
    service = copy.deepcopy(HARDENED)
    for key, value in changes.items():
        if value is None:
            service.pop(key, None)
        else:
            service[key] = value
    return service


def failures(service: dict[str, Any]) -> list[str]:
    return [r.detail for r in policy.check(model(app=service), env_name="prod") if not r.ok]


def test_a_hardened_service_passes_every_rule() -> None:
    (result,) = policy.check(model(app=hardened()), env_name="prod")
    assert result.ok
    assert result.detail == f"prod: app: {len(policy.RULES)} rules pass"


@pytest.mark.parametrize(
    ("changes", "rule"),
    [
        ({"read_only": None}, "read_only"),
        ({"read_only": False}, "read_only"),
        ({"tmpfs": None}, "tmpfs /tmp"),
        ({"cap_drop": ["NET_RAW"]}, "cap_drop ALL"),
        ({"cap_add": ["SYS_ADMIN"]}, "not privileged"),
        ({"privileged": True}, "not privileged"),
        ({"security_opt": None}, "no-new-privileges"),
        ({"init": None}, "init"),
        ({"deploy": {"resources": {"limits": {"pids": 64}}}}, "memory limit"),
        ({"deploy": {"resources": {"limits": {"memory": "1g"}}}}, "pids limit"),
        ({"restart": None}, "restart policy"),
        ({"restart": "no"}, "restart policy"),
        ({"healthcheck": None}, "healthcheck"),
        ({"healthcheck": {"disable": True}}, "healthcheck"),
        (
            {"volumes": [{"type": "bind", "source": "/var/run/docker.sock", "target": "/s"}]},
            "no docker.sock",
        ),
        (
            {"ports": [{"host_ip": "0.0.0.0", "target": 8000, "published": "8000"}]},
            "loopback ports",
        ),
        ({"ports": [{"target": 8000, "published": "8000"}]}, "loopback ports"),
    ],
)
def test_each_broken_rule_fails_naming_environment_service_and_rule(
    changes: dict[str, Any], rule: str
) -> None:
    found = failures(hardened(**changes))
    assert len(found) == 1, found
    assert found[0].startswith(f"prod: app: {rule}: ")


def test_one_failure_per_service_and_rule() -> None:
    results = policy.check(
        model(app=hardened(read_only=None, init=None), worker=hardened(init=None)), env_name="prod"
    )
    assert [(r.ok, r.name) for r in results] == [
        (False, "policy: read_only"),
        (False, "policy: init"),
        (False, "policy: init"),
    ]
    assert [r.detail.split(":")[1].strip() for r in results] == ["app", "app", "worker"]


def test_equivalent_spellings_pass() -> None:
    service = hardened(
        tmpfs=None,
        volumes=[{"type": "tmpfs", "target": "/tmp"}],  # noqa: S108 (in the container)
        security_opt=["no-new-privileges=true"],
        deploy=None,
        mem_limit="512m",
        pids_limit=100,
        restart="on-failure:3",
    )
    assert failures(service) == []


def test_a_one_shot_job_is_exempt_from_restart_and_healthcheck_only() -> None:
    job = hardened(restart="no", healthcheck={"disable": True}, read_only=None)
    app = hardened(depends_on={"migrate": {"condition": "service_completed_successfully"}})
    results = policy.check(model(app=app, migrate=job), env_name="prod")
    assert [r.detail for r in results if not r.ok] == [
        "prod: migrate: read_only: set read_only: true"
    ]


def test_restart_no_without_a_waiting_service_is_not_a_one_shot() -> None:
    job = hardened(restart="no", healthcheck={"disable": True})
    found = [r.detail for r in policy.check(model(worker=job), env_name="prod") if not r.ok]
    assert found == [
        "prod: worker: restart policy: set restart: unless-stopped (or on-failure)",
        "prod: worker: healthcheck: add a healthcheck",
    ]


def _healthcheck_failures(service: dict[str, Any]) -> list[str]:
    results = policy.check(model(app=service), env_name="prod", own_image="slipway/notes")
    return [r.detail for r in results if not r.ok]


def test_our_own_image_without_a_compose_healthcheck_has_the_images_own() -> None:
    ours = hardened(healthcheck=None, image="slipway/notes:0123456789ab")
    assert _healthcheck_failures(ours) == []


def test_turning_our_images_healthcheck_off_in_compose_still_fails() -> None:
    ours = hardened(healthcheck={"disable": True}, image="slipway/notes:0123456789ab")
    assert _healthcheck_failures(ours) == ["prod: app: healthcheck: add a healthcheck"]


def test_a_foreign_image_without_a_healthcheck_fails() -> None:
    foreign = hardened(healthcheck=None, image="redis:7")
    assert _healthcheck_failures(foreign) == ["prod: app: healthcheck: add a healthcheck"]
