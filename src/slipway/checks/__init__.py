"""Checks on images and stacks. Each returns a CheckResult; one verdict judges them.

:func:`run` is the check job (`invoke check`, `nox -s image_size`, `nox -s
non_root`): build what the checks take, then measure each image against its
size budget and check that the images users run are not root.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass

from python_on_whales import DockerClient

from slipway import engine
from slipway.build import images
from slipway.build.images import Built, BuiltImage
from slipway.checks import sizes
from slipway.checks.sizes import SizeRow
from slipway.config import Config, Target
from slipway.errors import CheckFailed, NotChecked
from slipway.handle import Report

_ROOT_USERS = {"", "root", "0", "0:0", "root:root", "root:0", "0:root"}


@dataclass(frozen=True)
class CheckResult:
    name: str
    ok: bool
    # A failing row whose detail starts "not checked: " could not look (a
    # source that cannot know a package): never a pass, yet not a failure.
    detail: str
    # A passing row that still says something to do, which slipway will do
    # itself when it is needed (an env file or secret deploy creates).
    note: bool = False


NOT_CHECKED = "not checked: "


def verdict(results: Sequence[CheckResult]) -> None:
    """Return when every result passed; else raise CheckFailed naming each
    failure or, when the only ones are not checked, NotChecked (exit 3)."""
    failing = [r.detail for r in results if not r.ok]
    failed = [detail for detail in failing if not detail.startswith(NOT_CHECKED)]
    if failed:
        raise CheckFailed("; ".join(failed))
    if failing:
        raise NotChecked("; ".join(failing))


def configured_user_not_root(image: BuiltImage) -> CheckResult:
    """The image's USER is set, and is not root."""
    user = image.user.strip()
    if user in _ROOT_USERS or user.split(":")[0] in {"root", "0"}:
        shown = user or "unset (root)"
        return CheckResult("non-root user", False, f"{image.ref} runs as {shown}: add a USER")
    return CheckResult("non-root user", True, f"USER {user}")


def has_healthcheck(image: BuiltImage) -> CheckResult:
    if image.has_healthcheck:
        return CheckResult("healthcheck", True, "HEALTHCHECK set")
    return CheckResult("healthcheck", False, f"{image.ref} has no HEALTHCHECK: add one")


def within_budget(image: BuiltImage, budget_mb: int | None) -> CheckResult:
    size_mb = image.size / 1_000_000
    if budget_mb is None:
        return CheckResult("size", True, f"{image.ref}: {size_mb:.1f} MB (no budget)")
    if image.size > budget_mb * 1_000_000:
        if size_mb < budget_mb + 0.05:  # would print as "250.0 MB, over 250 MB"
            size_mb_text = f"{image.size:,} bytes"
            return CheckResult(
                "size", False, f"{image.ref} is {size_mb_text}, over its {budget_mb} MB budget"
            )
        return CheckResult(
            "size", False, f"{image.ref} is {size_mb:.1f} MB, over its {budget_mb} MB budget"
        )
    return CheckResult("size", True, f"{image.ref}: {size_mb:.1f} MB of {budget_mb} MB")


def runs_as_non_root(docker: DockerClient, image: BuiltImage) -> CheckResult:
    """A container started from the image reports a non-zero uid."""
    uid = engine.run_python(docker, image.id, "import os; print(os.getuid())").strip()
    if uid == "0":
        return CheckResult("runs as non-root", False, f"{image.ref} runs as uid 0")
    return CheckResult("runs as non-root", True, f"uid {uid}")


def image_checks(image: BuiltImage, budget_mb: int | None) -> tuple[CheckResult, ...]:
    """The checks deploy runs before it touches a running stack."""
    return (
        configured_user_not_root(image),
        has_healthcheck(image),
        within_budget(image, budget_mb),
    )


def compose_user_not_root(services: dict[str, dict[str, object]], env_name: str) -> CheckResult:
    """No service of an environment overrides ``user`` to root."""
    offenders = [
        name
        for name, service in services.items()
        if str(service.get("user", "")).split(":")[0] in {"root", "0"}
    ]
    if offenders:
        return CheckResult(
            "compose user", False, f"{env_name}: {', '.join(offenders)} override user to root"
        )
    return CheckResult("compose user", True, f"{env_name}: no service runs as root")


def compose_services(docker: DockerClient) -> dict[str, dict[str, object]]:
    """The stack's services as `docker compose config` resolves them."""
    services: dict[str, dict[str, object]] = engine.compose_model(docker).get("services") or {}
    return services


def non_root(
    docker: DockerClient, config: Config, target: Target, image: BuiltImage
) -> list[CheckResult]:
    """A built image's USER, a running container's uid, and every compose
    override of the environments that run its target."""
    results = [configured_user_not_root(image), runs_as_non_root(docker, image)]
    for env in config.environments.values():
        if env.target is target:
            services = compose_services(engine.client(config, env))
            results.append(compose_user_not_root(services, env.name))
    return results


# The images users run: both must never be root (test runs as the caller).
NON_ROOT_TARGETS = (Target.PROD, Target.DEV)


def non_root_images(docker: DockerClient, config: Config, built: Built) -> list[CheckResult]:
    """`non_root` for every image users run, built beforehand by the caller
    (`nox -s non_root`, `invoke check`)."""
    return [
        result
        for target in NON_ROOT_TARGETS
        for result in non_root(docker, config, target, built.targets[target])
    ]


def compose_files_valid(config: Config) -> list[CheckResult]:
    """`docker compose config` accepts every environment's files."""
    results = []
    for env in config.environments.values():
        services = compose_services(engine.client(config, env))
        results.append(CheckResult("compose config", True, f"{env.name}: {len(services)} services"))
    return results


def size_rows(docker: DockerClient, config: Config, built: Built) -> list[SizeRow]:
    """Measure each built image that has a budget against it and the base stage."""
    rows = []
    for target in sizes.budgeted(config):
        image = built.targets[target]
        budget = config.targets[target].size_budget_mb
        top = sorted(sizes.layers(docker, image.ref), key=lambda layer: layer.size, reverse=True)
        rows.append(
            SizeRow(image, budget, built.base.size, within_budget(image, budget), tuple(top[:5]))
        )
    return rows


# Where the check job builds: the caller's progress for the targets it
# builds, and the Report the build's lines go to (None: nowhere).
Building = Callable[[Collection[Target]], AbstractContextManager[Report | None]]


def run(
    docker: DockerClient,
    config: Config,
    *,
    size_budgets: bool = True,
    non_root_users: bool = True,
    building: Building = lambda _targets: nullcontext(),
) -> tuple[list[SizeRow], list[CheckResult]]:
    """The check job: build the base stage and the targets the checks take
    (inside ``building``), then the size rows of the budgeted targets and
    every check's result (each size row's, then the non-root checks)."""
    wanted = {
        *(sizes.budgeted(config) if size_budgets else ()),
        *(NON_ROOT_TARGETS if non_root_users else ()),
    }
    with building(wanted) as report:
        built = images.build_for_checks(docker, config, wanted, report=report)
    rows = size_rows(docker, config, built) if size_budgets else []
    users = non_root_images(docker, config, built) if non_root_users else []
    return rows, [*(row.check for row in rows), *users]
