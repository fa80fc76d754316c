"""slipway.checks: non-root users, healthchecks, size budgets, compose overrides."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from types import SimpleNamespace
from typing import Any

import pytest

from slipway import checks
from slipway.build.images import Built, BuiltImage
from slipway.checks import CheckResult
from slipway.checks.sizes import Layer
from slipway.config import Config, Environment, Target
from slipway.errors import CheckFailed, NotChecked
from slipway.handle import Report

MakeImage = Callable[..., BuiltImage]


# --- configured_user_not_root ---------------------------------------------------------


@pytest.mark.parametrize("user", ["", "  ", "root", "0", "0:0", "root:root", "0:10001"])
def test_root_or_unset_user_fails(make_image: MakeImage, user: str) -> None:
    result = checks.configured_user_not_root(make_image(user=user))

    assert result.name == "non-root user"
    assert not result.ok


def test_unset_user_is_shown_as_root(make_image: MakeImage) -> None:
    result = checks.configured_user_not_root(make_image(user=""))

    assert result.detail == "slipway/notes:prod runs as unset (root): add a USER"


def test_root_user_is_named_in_the_failure(make_image: MakeImage) -> None:
    result = checks.configured_user_not_root(make_image(user="0:0"))

    assert result.detail == "slipway/notes:prod runs as 0:0: add a USER"


@pytest.mark.parametrize("user", ["10001:10001", "app", "app:app", "1000"])
def test_non_root_user_passes(make_image: MakeImage, user: str) -> None:
    result = checks.configured_user_not_root(make_image(user=user))

    assert result == CheckResult("non-root user", True, f"USER {user}")


# --- has_healthcheck -------------------------------------------------------------------


def test_image_with_healthcheck_passes(make_image: MakeImage) -> None:
    result = checks.has_healthcheck(make_image(has_healthcheck=True))

    assert result == CheckResult("healthcheck", True, "HEALTHCHECK set")


def test_image_without_healthcheck_fails_saying_what_to_add(make_image: MakeImage) -> None:
    result = checks.has_healthcheck(make_image(has_healthcheck=False))

    assert result == CheckResult(
        "healthcheck", False, "slipway/notes:prod has no HEALTHCHECK: add one"
    )


# --- within_budget -------------------------------------------------------------------


def test_image_over_budget_fails_showing_size_and_budget(make_image: MakeImage) -> None:
    result = checks.within_budget(make_image(size=262_400_000), 250)

    assert result == CheckResult(
        "size", False, "slipway/notes:prod is 262.4 MB, over its 250 MB budget"
    )


def test_image_under_budget_passes_showing_size_and_budget(make_image: MakeImage) -> None:
    result = checks.within_budget(make_image(size=187_650_000), 250)

    assert result == CheckResult("size", True, "slipway/notes:prod: 187.7 MB of 250 MB")


def test_image_exactly_at_budget_passes(make_image: MakeImage) -> None:
    assert checks.within_budget(make_image(size=250_000_000), 250).ok


def test_image_without_budget_passes(make_image: MakeImage) -> None:
    result = checks.within_budget(make_image(size=987_000_000), None)

    assert result == CheckResult("size", True, "slipway/notes:prod: 987.0 MB (no budget)")


def test_image_checks_run_user_healthcheck_and_size_in_order(make_image: MakeImage) -> None:
    results = checks.image_checks(make_image(user="root", size=300_000_000), 250)

    assert [(r.name, r.ok) for r in results] == [
        ("non-root user", False),
        ("healthcheck", True),
        ("size", False),
    ]


# --- compose_user_not_root -----------------------------------------------------------


def test_compose_service_overriding_user_to_root_fails_naming_it() -> None:
    services: dict[str, dict[str, object]] = {
        "app": {"user": "0:0"},
        "migrate": {"image": "slipway/notes:prod"},
    }

    result = checks.compose_user_not_root(services, "prod")

    assert result == CheckResult("compose user", False, "prod: app override user to root")


def test_every_compose_service_running_as_root_is_named() -> None:
    services: dict[str, dict[str, object]] = {
        "app": {"user": "root"},
        "migrate": {"user": 0},
        "worker": {"user": "10001"},
    }

    result = checks.compose_user_not_root(services, "dev")

    assert result.detail == "dev: app, migrate override user to root"


def test_compose_services_without_user_override_pass() -> None:
    services: dict[str, dict[str, object]] = {"app": {}, "migrate": {"user": "10001:10001"}}

    result = checks.compose_user_not_root(services, "prod")

    assert result == CheckResult("compose user", True, "prod: no service runs as root")


# --- checks that ask a (fake) docker -------------------------------------------------


def _runs_printing(uid: str) -> Any:
    def run(_image: str, _command: list[str], **_options: Any) -> str:
        return uid

    return SimpleNamespace(run=run)


def test_container_running_as_non_zero_uid_passes(make_image: MakeImage) -> None:
    result = checks.runs_as_non_root(_runs_printing("10001\n"), make_image())

    assert result == CheckResult("runs as non-root", True, "uid 10001")


def test_container_running_as_uid_0_fails(make_image: MakeImage) -> None:
    result = checks.runs_as_non_root(_runs_printing("0\n"), make_image())

    assert result == CheckResult("runs as non-root", False, "slipway/notes:prod runs as uid 0")


def _compose_config(model: dict[str, Any]) -> Any:
    def config(*, return_json: bool) -> dict[str, Any]:
        assert return_json
        return model

    return SimpleNamespace(compose=SimpleNamespace(config=config))


def test_compose_services_reads_the_resolved_services() -> None:
    docker = _compose_config({"name": "slipway-prod", "services": {"app": {"user": "0"}}})

    assert checks.compose_services(docker) == {"app": {"user": "0"}}


def test_compose_services_of_a_stack_without_services_is_empty() -> None:
    assert checks.compose_services(_compose_config({"services": None})) == {}


def test_non_root_checks_the_image_a_container_and_each_environment_of_the_target(
    monkeypatch: pytest.MonkeyPatch, config: Config, make_image: MakeImage
) -> None:
    def client(_config: Config, env: Environment) -> Any:
        return _compose_config({"services": {"app": {"user": f"{env.name}-user"}}})

    monkeypatch.setattr(checks.engine, "client", client)

    results = checks.non_root(
        _runs_printing("10001"), config, Target.PROD, make_image(ref="slipway/notes:prod")
    )

    assert [r.detail for r in results] == [
        "USER 10001:10001",
        "uid 10001",
        "prod: no service runs as root",
    ]


# --- verdict --------------------------------------------------------------------------


def test_verdict_of_passing_results_is_silent() -> None:
    checks.verdict([CheckResult("a", True, "fine"), CheckResult("b", True, "fine too")])


def test_verdict_names_every_failure_in_order() -> None:
    results = [
        CheckResult("env prod", False, "env/prod.env lacks LOG_LEVEL"),
        CheckResult("uv", True, "uv 0.13.9"),
        CheckResult("port prod", False, "prod: port 127.0.0.1:8000 is in use"),
    ]

    with pytest.raises(CheckFailed) as caught:
        checks.verdict(results)

    assert str(caught.value) == "env/prod.env lacks LOG_LEVEL; prod: port 127.0.0.1:8000 is in use"


def test_verdict_of_rows_not_checked_is_not_checked_naming_each() -> None:
    results = [
        CheckResult("a", True, "fine"),
        CheckResult("b", False, "not checked: the source cannot know b"),
        CheckResult("c", False, "not checked: the source cannot know c"),
    ]

    with pytest.raises(NotChecked) as caught:
        checks.verdict(results)

    assert str(caught.value) == (
        "not checked: the source cannot know b; not checked: the source cannot know c"
    )
    assert caught.value.exit_code == 3


def test_verdict_of_a_failure_beside_a_row_not_checked_is_a_failure_naming_it_alone() -> None:
    results = [
        CheckResult("a", False, "not checked: the source cannot know a"),
        CheckResult("b", False, "b is broken"),
    ]

    with pytest.raises(CheckFailed) as caught:
        checks.verdict(results)

    assert str(caught.value) == "b is broken"


# --- run: the check job ---------------------------------------------------------------


@pytest.fixture
def job(monkeypatch: pytest.MonkeyPatch, make_image: MakeImage) -> list[Any]:
    """A check job on a fake engine: what it built, and each non-root check's image."""
    done: list[Any] = []

    def build_for_checks(
        _docker: Any, _config: Config, targets: Collection[Target], *, report: Report | None
    ) -> Built:
        done.append(("built", sorted(t.value for t in targets), report))
        images = {t: make_image(ref=f"slipway/notes:{t.value}", size=300_000_000) for t in targets}
        return Built(make_image(ref="slipway/notes:base"), images)

    def non_root(_docker: Any, _config: Config, _target: Target, image: BuiltImage) -> Any:
        done.append(("non-root", image.ref))
        return [CheckResult("non-root user", True, f"{image.ref}: USER 10001")]

    monkeypatch.setattr(checks.images, "build_for_checks", build_for_checks)
    monkeypatch.setattr(checks.sizes, "layers", lambda _docker, _ref: [Layer(1, "RUN x")])
    monkeypatch.setattr(checks, "non_root", non_root)
    return done


def test_the_check_job_builds_in_the_callers_progress_then_sizes_then_users(
    job: list[Any], config: Config
) -> None:
    def report(line: str) -> None:
        job.append(("reported", line))

    @contextmanager
    def building(targets: Collection[Target]) -> Iterator[Report]:
        job.append(("building", sorted(t.value for t in targets)))
        yield report

    rows, results = checks.run(SimpleNamespace(), config, building=building)  # type: ignore[arg-type]

    assert job == [
        ("building", ["dev", "prod", "test"]),
        ("built", ["dev", "prod", "test"], report),
        ("non-root", "slipway/notes:prod"),
        ("non-root", "slipway/notes:dev"),
    ]
    assert [row.image.ref for row in rows] == ["slipway/notes:test", "slipway/notes:prod"]
    assert [(r.name, r.ok) for r in results] == [
        ("size", True),
        ("size", False),
        ("non-root user", True),
        ("non-root user", True),
    ]


def test_the_check_job_of_sizes_alone_builds_and_checks_only_the_budgeted(
    job: list[Any], config: Config
) -> None:
    rows, results = checks.run(SimpleNamespace(), config, non_root_users=False)  # type: ignore[arg-type]

    assert job == [("built", ["prod", "test"], None)]
    assert results == [row.check for row in rows]


def test_the_check_job_of_users_alone_measures_no_size(job: list[Any], config: Config) -> None:
    rows, results = checks.run(SimpleNamespace(), config, size_budgets=False)  # type: ignore[arg-type]

    assert job[0] == ("built", ["dev", "prod"], None)
    assert rows == []
    assert [r.detail for r in results] == [
        "slipway/notes:prod: USER 10001",
        "slipway/notes:dev: USER 10001",
    ]
