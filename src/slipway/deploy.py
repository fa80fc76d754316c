"""`invoke deploy`: build, check, bring the stack up healthy, say where it is."""

from __future__ import annotations

from dataclasses import dataclass

from slipway import engine, images, secretfiles, stack
from slipway.checks import CheckResult, image_checks
from slipway.config import Config, Environment
from slipway.errors import CheckFailed
from slipway.images import BuiltImage, Report


@dataclass(frozen=True)
class DeployResult:
    environment: str
    image: BuiltImage
    checks: tuple[CheckResult, ...]
    url: str


def _quiet(_line: str) -> None:
    """Build logs are shown only when a build fails (in the error's details)."""


def build_for(config: Config, env: Environment, *, report: Report) -> BuiltImage:
    """The preamble of every stack command: engine, env file, the image built."""
    docker = engine.client(config)
    engine.ensure_engine(docker, compose=True)
    if stack.ensure_env_file(env):
        report(f"created {config.show(env.env_file)} from its example")
    for path in secretfiles.ensure(config, env):
        report(f"created {config.show(path)} with a random value (git-ignored)")
    report(f"building {config.image_ref(env.target)} ...")
    image = images.build(docker, config, env.target, report=_quiet)
    report(f"built {image.ref} ({image.short_id}, {image.size / 1e6:.1f} MB)")
    return image


def deploy(config: Config, env_name: str, *, report: Report) -> DeployResult:
    """Build the environment's target, check it, and roll the stack onto it.

    Nothing running is touched until the image is built and its checks pass.
    """
    env = config.environment(env_name)
    image = build_for(config, env, report=report)

    budget = config.targets[env.target].size_budget_mb if env.target in config.targets else None
    results = image_checks(image, budget)
    failed = [r for r in results if not r.ok]
    if failed:
        raise CheckFailed("; ".join(r.detail for r in failed) + " (the running stack is untouched)")

    stack.record_image(config, env, image.ref)
    compose = engine.client(config, env)
    project = engine.project_name(config, env)
    report(f"starting {project}, waiting up to {env.health_timeout}s for health ...")
    stack.up(compose, config, env)
    return DeployResult(env.name, image, results, stack.url(compose, config.service))
