"""`invoke doctor`'s rows for an environment on another engine (``engine:``):
the engine answers over its transport, holds the images its build and stack
need, has room, and keeps the secrets this checkout has (or will send)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

from python_on_whales import DockerClient

from slipway import engine, secretfiles
from slipway.checks import CheckResult
from slipway.checks.doctor import (
    Model,
    call,
    compose_client,
    disk_row,
    image_rows,
    service_images,
    tool_rows,
)
from slipway.config import Config, Environment
from slipway.engine import mounts
from slipway.errors import SlipwayError
from slipway.kept import Kept


def remote_rows(
    config: Config,
    envs: Sequence[Environment],
    built_from: Sequence[str],
    models: Mapping[str, Model | SlipwayError],
) -> list[CheckResult]:
    """The rows of each environment with ``engine:``, given the images the
    Dockerfile builds from and each environment's compose model."""
    rows = []
    for env in (env for env in envs if env.remote):
        model = models.get(env.name)
        services = service_images(model, config.service) if isinstance(model, Mapping) else []
        rows += target_rows(config, env, list(dict.fromkeys([*built_from, *services])))
    return rows


def target_rows(config: Config, env: Environment, refs: Sequence[str]) -> list[CheckResult]:
    """An environment's own engine (``engine:``): it answers over its
    transport, holds the images its build and stack need, has room, and
    keeps the secrets this checkout has (or will send)."""
    docker = compose_client(config, env)
    engine_ok, _, tools = tool_rows(docker)
    where = engine.where(env)
    first = tools[0]
    rows = [
        CheckResult(
            f"engine {env.name}",
            first.ok,
            f"{first.detail} at {where}" if first.ok else first.detail,
        )
    ]
    present, images = image_rows(docker, refs, engine_ok=engine_ok)
    rows += [replace(row, name=f"{row.name} on {env.name}") for row in images]
    if not engine_ok:
        return rows
    rows.append(replace(disk_row(docker, present), name=f"disk {env.name}"))
    rows.append(_kept_secrets_row(docker, config, env))
    return rows


def _kept_secrets_row(docker: DockerClient, config: Config, env: Environment) -> CheckResult:
    name = f"secrets {env.name}"
    wanted = secretfiles.used(env)
    there = call(
        "reading the secrets the engine keeps",
        lambda: Kept.of(docker, config, env).read(mounts.SECRETS_FOLDER),
    )
    if isinstance(there, SlipwayError):
        return CheckResult(name, False, str(there))
    for secret, path in wanted.items():
        if secret in there and path.is_file() and path.read_bytes() != there[secret]:
            return CheckResult(name, False, secretfiles.mismatch(config, env, secret, path))
    kept = [secret for secret in wanted if secret in there]
    missing = [secret for secret in wanted if secret not in there]
    said = [f"the engine keeps {', '.join(kept)}"] if kept else []
    if missing:
        said.append(f"{', '.join(missing)}: sent by the next deploy")
    return CheckResult(name, True, "; ".join(said) or "no file secrets", note=bool(missing))
