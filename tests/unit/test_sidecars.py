"""Which services of a resolved compose model are sidecars (pure logic)."""

from __future__ import annotations

from slipway.backends.compose import sidecars
from slipway.config import Config

RELEASE = "notes/notes:prod-abc123"


def test_sidecars_are_the_long_running_services_that_are_not_the_release_or_a_job(
    config: Config,
) -> None:
    model = {
        "services": {
            "app": {"image": RELEASE, "depends_on": {"migrate": {"condition": COMPLETED}}},
            "migrate": {"image": RELEASE},
            "proxy": {"image": "haproxy:3.0"},
            "redis": {"image": "redis:8"},
            "db": {"image": "postgres:17"},
            # A role of the release (the same image): not a sidecar.
            "worker": {"image": RELEASE},
            # A job another waits for: not a sidecar either.
            "seed": {"image": "postgres:17"},
            "reporter": {"image": "busybox", "depends_on": {"seed": {"condition": COMPLETED}}},
        }
    }
    assert sidecars.of(model, config) == ["db", "redis", "reporter"]


def test_a_stack_of_the_app_and_its_proxy_has_none(config: Config) -> None:
    model = {"services": {"app": {"image": RELEASE}, "proxy": {"image": "haproxy:3.0"}}}
    assert sidecars.of(model, config) == []


COMPLETED = sidecars.COMPLETED


def test_only_services_whose_depends_on_says_restart_must_restart_for_a_replaced_sidecar() -> None:
    healthy = {"condition": "service_healthy"}
    model = {
        "services": {
            "app": {"depends_on": {"redis": {**healthy, "restart": True}, "db": healthy}},
            "worker": {"depends_on": {"redis": healthy}},
            # The short form says nothing of restarts.
            "cron": {"depends_on": ["redis"]},
        }
    }
    services = ["app", "worker", "cron"]
    assert sidecars.dependents(model, ["redis"], services) == ["app"]
    assert sidecars.dependents(model, ["db"], services) == []
    assert sidecars.dependents(model, [], services) == []
