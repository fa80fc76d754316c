"""`invoke deploy` and `invoke rollback`: health-gated rollouts that never
leave a broken service behind."""

from __future__ import annotations

from dataclasses import dataclass

from slipway import engine, history, lock, retention, rollout, stack, state
from slipway.build import images, release, sbom
from slipway.build.images import BuiltImage, Report
from slipway.checks import CheckResult, image_checks
from slipway.config import Config, Environment
from slipway.data import backup
from slipway.errors import CheckFailed, DeployFailed, SlipwayError


@dataclass(frozen=True)
class DeployResult:
    environment: str
    image: BuiltImage
    tag: str
    checks: tuple[CheckResult, ...]
    url: str
    # The release's CycloneDX SBOM, as shown to the user, and its sha256.
    sbom: str
    sbom_sha256: str


def deploy(config: Config, env_name: str, *, report: Report) -> DeployResult:
    """Build the environment's target, check it, and roll the stack onto it.

    Nothing running is touched until the image is built and its checks pass.
    The new release starts beside the old one and takes traffic only once it
    is healthy (rollout.roll); if it never gets there, the old release has
    kept serving throughout and DeployFailed is raised.
    """
    env = config.environment(env_name)
    with lock.held(config, env, command=f"deploy --env {env.name}", report=report):
        return _deploy(config, env, report=report)


def _deploy(config: Config, env: Environment, *, report: Report) -> DeployResult:
    stack.prepare(config, env, report=report)
    image = release.build(config, env, report=report)
    budget = config.targets[env.target].size_budget_mb if env.target in config.targets else None
    results = image_checks(image, budget)
    failed = [r for r in results if not r.ok]
    if failed:
        raise CheckFailed("; ".join(r.detail for r in failed) + " (the running stack is untouched)")
    bill = sbom.write(config, engine.client(config), image.ref, image.id)
    report(
        f"wrote the SBOM {config.show(bill.path)}: {bill.python_packages} Python and "
        f"{bill.os_packages} OS packages (sha256 {bill.sha256[:12]})"
    )

    previous = state.release(config, env)
    if previous not in (None, image.ref) and config.migrate:
        _backup_before_migrating(config, env, report=report)
    done = _roll_or_keep(
        config, env, image.ref, image.id, previous, sbom_sha256=bill.sha256, report=report
    )
    return DeployResult(
        env.name, image, image.ref, results, done, config.show(bill.path), bill.sha256
    )


def _backup_before_migrating(config: Config, env: Environment, *, report: Report) -> None:
    """A new release runs its migrations first: keep a way back for the data.
    (Without a migrate step in slipway.yaml there is none, and no backup.)

    Only while the stack runs (a stopped one has nothing new to lose, and
    PostgreSQL's dump needs its server); a failed backup stops the deploy.
    """
    running = [r for r in stack.status(engine.client(config, env)) if r.state == "running"]
    if not any(r.service == config.service for r in running):
        return
    saved = backup.backup(config, env.name)
    report(f"backed up {env.name} to {config.show(saved.path)} ({saved.detail})")


def _roll_or_keep(
    config: Config,
    env: Environment,
    ref: str,
    image_id: str,
    previous: str | None,
    *,
    sbom_sha256: str,
    report: Report,
) -> str:
    """Roll onto ``ref`` and record it; on failure leave ``previous`` serving.

    Returns the URL the stack serves on.
    """
    try:
        done = rollout.to(config, env, ref, report=report)
    except DeployFailed as failure:
        history.record(
            config, env, ref, image_id, history.FAILED, str(failure), sbom_sha256=sbom_sha256
        )
        raise _kept(config, env, previous, failure, report=report) from None
    history.record(
        config,
        env,
        ref,
        image_id,
        history.OK,
        switch_seconds=done.switch_seconds,
        sbom_sha256=sbom_sha256,
    )
    pruned = retention.prune(config, env.name)
    if pruned.removed:
        report(
            f"removed {len(pruned.removed)} old release image(s), keeping "
            f"{env.keep_releases} ({pruned.freed_bytes / 1e6:.1f} MB freed)"
        )
    return stack.url(engine.client(config, env))


def _kept(
    config: Config,
    env: Environment,
    previous: str | None,
    failure: DeployFailed,
    *,
    report: Report,
) -> DeployFailed:
    """After a failed rollout: the error to raise, saying what serves now."""
    if previous is None:
        stack.down(engine.client(config, env))
        state.forget_release(config, env)
        return DeployFailed(
            f"{failure}; no earlier release to go back to, so the stack was taken down "
            "(data volumes kept)",
            details=failure.details,
        )
    stack.record_image(config, env, previous, rollout.extra_settings(env))
    docker = engine.client(config, env)
    if rollout.in_place(docker, config, env, previous):
        return DeployFailed(
            f"{failure}; {previous} kept serving and no request reached the new release",
            details=failure.details,
        )
    # Nothing was serving before (the stack was down or broken): start the previous release.
    report(f"the new release failed ({failure}); starting {previous} again ...")
    try:
        rollout.to(config, env, previous, report=report)
    except DeployFailed as second:
        return DeployFailed(
            f"{failure}; starting {previous} failed too: {second}",
            details=f"{failure.details}\n{second.details}",
        )
    history.record(config, env, previous, "", history.ROLLED_BACK, str(failure))
    return DeployFailed(
        f"{failure}; rolled back to {previous}, which is serving again",
        details=failure.details,
    )


def rollback(config: Config, env_name: str, *, report: Report) -> str:
    """Put back the newest healthy release other than the current one, by
    the same zero-downtime path as a deploy."""
    env = config.environment(env_name)
    with lock.held(config, env, command=f"rollback --env {env.name}", report=report):
        return _rollback(config, env, report=report)


def _rollback(config: Config, env: Environment, *, report: Report) -> str:
    current = state.release(config, env)
    target = history.last_good(
        config, env, other_than=current, present=images.present(engine.client(config), config)
    )
    if target is None:
        # Not a usage error: the command is right, the history has nothing to go to.
        raise SlipwayError(f"{env.name} has no earlier healthy release to roll back to")
    try:
        done = rollout.to(config, env, target.image, report=report, migrations=False)
    except DeployFailed as failure:
        if current is not None:
            stack.record_image(config, env, current, rollout.extra_settings(env))
        raise DeployFailed(f"{failure}; {current} kept serving", details=failure.details) from None
    history.record(
        config,
        env,
        target.image,
        target.image_id,
        history.ROLLBACK,
        switch_seconds=done.switch_seconds,
        sbom_sha256=target.sbom_sha256,
    )
    return stack.url(engine.client(config, env))
