"""`invoke dev`: the dev target, running, with live code sync (compose watch)."""

from __future__ import annotations

import io
import tarfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from slipway import engine
from slipway.build import images, release
from slipway.config import Config
from slipway.errors import ConfigError, EngineError, SlipwayError, command
from slipway.handle import Handle


def start(handle: Handle) -> None:
    """Build the dev image as the host user, start the stack, wait for health."""
    handle.backend.prepare(handle.report)
    image = release.build(handle)
    handle.backend.roll(image.ref, migrations=True, report=handle.report)
    uid, _gid = images.dev_ids()
    handle.report(f"{handle.env.name} is healthy at {handle.backend.url()} (uid {uid})")


def watch(handle: Handle) -> None:
    """Sync source edits into the running stack until Ctrl-C.

    compose 2.26's watch does no initial sync: a file saved between the
    image build and the start of the watch would never reach the container.
    So once the watch reports it is enabled, every sync path is copied in
    once (:func:`sync_once`); any later edit is the watch's.
    """
    config, backend, report = handle.config, handle.backend, handle.report
    service = config.service
    report(f"watching {watched(backend.model(), service, config)}; Ctrl-C stops")
    synced = False
    try:
        for line in _watch_lines(handle):
            report(line)
            if not synced and "Watch enabled" in line:
                synced = True
                count = sync_once(handle, service)
                report(f"synced {count} file(s) once, so edits saved before the watch are served")
    except KeyboardInterrupt:
        pass
    down = command(f"down --env {handle.env.name}")
    report(f"watch stopped; the {handle.env.name} stack keeps running ({down} removes it)")


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


def _watch_lines(handle: Handle) -> Iterator[str]:
    """compose watch's lines; a Ctrl-C that compose itself got (exit 130) ends them."""
    try:
        yield from handle.backend.watch()
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


def sync_once(handle: Handle, service: str) -> int:
    """Copy every sync path into the running container, as its own user
    (what the watch does); the number of files copied."""
    backend, total = handle.backend, 0
    for folder, target in sync_paths(backend.model(), service):
        if not folder.is_dir():
            continue
        data, count = _tar_of(folder)
        argv = backend.exec_argv(service, ["tar", "-x", "-C", target])
        engine.feed(argv, data, action=f"syncing {folder} into {service}")
        total += count
    return total
