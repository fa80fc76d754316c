"""`invoke dev`: the dev target, running, with live code sync (compose watch)."""

from __future__ import annotations

import io
import tarfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from python_on_whales import DockerClient

from slipway import engine, rollout, stack
from slipway.build import images, release
from slipway.build.images import Report
from slipway.config import Config
from slipway.errors import ConfigError, EngineError, SlipwayError, command


def start(config: Config, env_name: str, *, report: Report) -> DockerClient:
    """Build the dev image as the host user, start the stack, wait for health.

    Returns the compose client of the running stack.
    """
    env = config.environment(env_name)
    stack.prepare(config, env, report=report)
    image = release.build(config, env, report=report)
    # compose's own rebuilds (develop.watch) need the same user ids: rollout.to records them.
    rollout.to(config, env, image.ref, report=report)
    compose = engine.client(config, env)
    uid, _gid = images.dev_ids()
    report(f"{env.name} is healthy at {stack.url(compose)} (uid {uid})")
    return compose


def watch(compose: DockerClient, config: Config, env_name: str, *, report: Report) -> None:
    """Sync source edits into the running stack until Ctrl-C.

    compose 2.26's watch does no initial sync: a file saved between the
    image build and the start of the watch would never reach the container.
    So once the watch reports it is enabled, every sync path is copied in
    once (:func:`sync_once`); any later edit is the watch's.
    """
    service = config.service
    report(f"watching {watched(engine.compose_model(compose), service, config)}; Ctrl-C stops")
    synced = False
    try:
        for line in _watch_lines(compose):
            report(line)
            if not synced and "Watch enabled" in line:
                synced = True
                count = sync_once(compose, service)
                report(f"synced {count} file(s) once, so edits saved before the watch are served")
    except KeyboardInterrupt:
        pass
    down = command(f"down --env {env_name}")
    report(f"watch stopped; the {env_name} stack keeps running ({down} removes it)")


def watched(model: Mapping[str, Any], service: str, config: Config) -> str:
    """What the service's develop.watch rules watch, by action, as the
    project's compose files say: ``src (sync) and pyproject.toml, uv.lock (rebuild)``."""
    develop = ((model.get("services") or {}).get(service) or {}).get("develop") or {}
    paths: dict[str, list[str]] = {}
    for rule in develop.get("watch") or []:
        if rule.get("path") and rule.get("action"):
            shown = config.show(Path(config.root, rule["path"]))
            paths.setdefault(str(rule["action"]), []).append(shown)
    if not paths:
        raise ConfigError(
            f"the compose files give service {service} no develop.watch rules: nothing to "
            f"sync into the running stack (compose watch needs them)"
        )
    return " and ".join(f"{', '.join(shown)} ({action})" for action, shown in paths.items())


def _watch_lines(compose: DockerClient) -> Iterator[str]:
    """compose watch's lines; a Ctrl-C that compose itself got (exit 130) ends them."""
    try:
        yield from engine.compose_watch(compose)
    except EngineError as exc:
        if exc.return_code != 130:
            raise SlipwayError(
                f"docker compose watch stopped with code {exc.return_code}"
            ) from None


def sync_paths(model: Mapping[str, Any], service: str) -> list[tuple[Path, str]]:
    """The (host path, container target) of each `sync` rule of the service."""
    develop = ((model.get("services") or {}).get(service) or {}).get("develop") or {}
    return [
        (Path(rule["path"]), str(rule["target"]))
        for rule in develop.get("watch") or []
        if rule.get("action") == "sync" and rule.get("path") and rule.get("target")
    ]


def _tar_of(folder: Path) -> tuple[bytes, int]:
    """The folder's files (no bytecode) as a tar archive, and how many."""
    buffer, count = io.BytesIO(), 0
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                archive.add(path, arcname=str(path.relative_to(folder)), recursive=False)
                count += 1
    return buffer.getvalue(), count


def sync_once(compose: DockerClient, service: str) -> int:
    """Copy every sync path into the running container, as its own user
    (what the watch does); the number of files copied."""
    model = engine.compose_model(compose)
    index = stack.first_index(compose, service)
    total = 0
    for folder, target in sync_paths(model, service):
        if not folder.is_dir():
            continue
        data, count = _tar_of(folder)
        command = engine.compose_exec_argv(
            compose, service, ["tar", "-x", "-C", target], index=index
        )
        engine.feed(command, data, action=f"syncing {folder} into {service}")
        total += count
    return total
