"""`invoke deploy` and `invoke rollback`: health-gated rollouts that never
leave a broken service behind."""

from __future__ import annotations

from dataclasses import dataclass

from python_on_whales import DockerClient

from slipway import backup, engine, history, images, release, secretfiles, stack
from slipway.checks import CheckResult, image_checks
from slipway.config import Config, Environment
from slipway.errors import CheckFailed, DeployFailed, UsageError
from slipway.images import BuiltImage, Report


@dataclass(frozen=True)
class DeployResult:
    environment: str
    image: BuiltImage
    tag: str
    checks: tuple[CheckResult, ...]
    url: str


def _quiet(_line: str) -> None:
    """Build logs are shown only when a build fails (in the error's details)."""


def build_for(config: Config, env: Environment, *, report: Report) -> BuiltImage:
    """The preamble of every stack command: engine, env file, free port, the image."""
    docker = engine.client(config)
    engine.ensure_engine(docker, compose=True)
    if stack.ensure_env_file(env):
        report(f"created {config.show(env.env_file)} from its example")
    for path in secretfiles.ensure(config, env):
        report(f"created {config.show(path)} with a random value (git-ignored)")
    stack.ensure_port_free(engine.client(config, env), config.service)
    report(f"building {config.image_ref(env.target)} ...")
    src = release.source(config.root)
    image = images.build(
        docker, config, env.target, report=_quiet, labels=release.labels(src, config.project)
    )
    tag = release.tag_of(image, src, config.image)
    release.tag(docker, image, tag)
    report(f"built {tag} ({image.short_id}, {image.size / 1e6:.1f} MB)")
    return images.BuiltImage(tag, image.id, image.size, image.user, image.has_healthcheck)


def deploy(config: Config, env_name: str, *, report: Report) -> DeployResult:
    """Build the environment's target, check it, and roll the stack onto it.

    Nothing running is touched until the image is built and its checks pass.
    If the new release is not healthy within the environment's timeout, the
    previous one is put back (and is serving) before DeployFailed is raised.
    """
    env = config.environment(env_name)
    image = build_for(config, env, report=report)
    budget = config.targets[env.target].size_budget_mb if env.target in config.targets else None
    results = image_checks(image, budget)
    failed = [r for r in results if not r.ok]
    if failed:
        raise CheckFailed("; ".join(r.detail for r in failed) + " (the running stack is untouched)")

    previous = stack.deployed_image(config, env)
    if previous not in (None, image.ref):
        _backup_before_migrating(config, env, report=report)
    compose = _roll_to(config, env, image.ref, report=report)
    try:
        stack.up(compose, env)
    except DeployFailed as failure:
        history.record(config, env, image.ref, image.id, history.FAILED, str(failure))
        raise _rolled_back(config, env, previous, failure, report=report) from None
    history.record(config, env, image.ref, image.id, history.OK)
    return DeployResult(env.name, image, image.ref, results, stack.url(compose, config.service))


def _backup_before_migrating(config: Config, env: Environment, *, report: Report) -> None:
    """A new release runs its migrations first: keep a way back for the data.

    Only while the stack runs (a stopped one has nothing new to lose, and
    PostgreSQL's dump needs its server); a failed backup stops the deploy.
    """
    running = [r for r in stack.status(engine.client(config, env)) if r.state == "running"]
    if not any(r.service == config.service for r in running):
        return
    saved = backup.backup(config, env.name)
    report(f"backed up {env.name} to {config.show(saved.path)} ({saved.detail})")


def _roll_to(config: Config, env: Environment, ref: str, *, report: Report) -> DockerClient:
    stack.record_image(config, env, ref)
    project = engine.project_name(config, env)
    report(f"rolling {project} to {ref}, waiting up to {env.health_timeout}s for health ...")
    return engine.client(config, env)


def _rolled_back(
    config: Config,
    env: Environment,
    previous: str | None,
    failure: DeployFailed,
    *,
    report: Report,
) -> DeployFailed:
    """Put the previous release back; the error to raise says how that went."""
    if previous is None:
        stack.down(engine.client(config, env))
        stack.forget_image(config, env)
        return DeployFailed(
            f"{failure}; no earlier release to go back to, so the stack was taken down "
            "(data volumes kept)",
            details=failure.details,
        )
    report(f"the new release failed ({failure}); putting {previous} back ...")
    compose = _roll_to(config, env, previous, report=report)
    try:
        stack.up(compose, env)
    except DeployFailed as second:
        return DeployFailed(
            f"{failure}; rolling back to {previous} failed too: {second}",
            details=f"{failure.details}\n{second.details}",
        )
    history.record(config, env, previous, "", history.ROLLED_BACK, str(failure))
    return DeployFailed(
        f"{failure}; rolled back to {previous}, which is serving again",
        details=failure.details,
    )


def rollback(config: Config, env_name: str, *, report: Report) -> str:
    """Put back the newest healthy release other than the current one."""
    env = config.environment(env_name)
    current = stack.deployed_image(config, env)
    target = history.last_good(config, env, other_than=current)
    if target is None:
        raise UsageError(f"{env.name} has no earlier healthy release to roll back to")
    compose = _roll_to(config, env, target.image, report=report)
    stack.up(compose, env)
    history.record(config, env, target.image, target.image_id, history.ROLLBACK)
    return stack.url(compose, config.service)
