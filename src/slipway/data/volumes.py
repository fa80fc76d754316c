"""A sidecar's data, kept before compose replaces it.

Each data volume the sidecar mounts (not slipway's own read-only files) is
copied out of its container, once stopped, through the engine (`docker cp`, so it
works on a remote engine too) into one tar file on this host,
``<backups.dir>/sidecars/<env>-<service>-<UTC time>.tar``, its members under
the path the volume is mounted at (``data/dump.rdb`` for Redis's ``/data``).

It holds what the sidecar had written to its volumes when it stopped: what
a server writes out as it stops (Redis its dump, PostgreSQL a checkpoint),
so a copy that its own version reads back. The environment's PostgreSQL is
dumped first as well, for any later version. A sidecar with no data volume
has nothing to keep.
"""

from __future__ import annotations

import io
import tarfile
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

from python_on_whales import DockerClient

from slipway.config import Config, Environment
from slipway.data import backup
from slipway.data.files import Kind
from slipway.engine import gaps, mounts
from slipway.errors import SlipwayError
from slipway.handle import Handle

FOLDER = "sidecars"


def data_volumes(spec: Mapping[str, Any]) -> list[str]:
    """Where a service (as compose resolves it) mounts its data volumes."""
    return [
        str(volume.get("target"))
        for volume in spec.get("volumes") or []
        if volume.get("type") == "volume" and volume.get("source") != mounts.KEY
    ]


def file_name(env_name: str, service: str, when: datetime) -> str:
    """``prod-redis-20260102T030405.678Z.tar``: sorts by time, names its source."""
    utc = when.astimezone(UTC)
    return f"{env_name}-{service}-{utc:%Y%m%dT%H%M%S}.{utc.microsecond // 1000:03d}Z.tar"


def keep(
    docker: DockerClient,
    config: Config,
    env: Environment,
    service: str,
    spec: Mapping[str, Any],
    container: str,
) -> Path | None:
    """Copy the data volumes of ``service`` out of its (stopped) ``container``
    into one tar file; its path, None when it mounts no data volume."""
    targets = data_volumes(spec)
    if not targets:
        return None
    folder = config.backups.dir / FOLDER
    path = folder / file_name(env.name, service, datetime.now(UTC))
    partial = path.with_suffix(".partial")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tarfile.open(partial, "w") as out:
            for target in targets:
                _add(out, gaps.archive_out(docker, container, target), target)
        partial.replace(path)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise SlipwayError(
            f"could not keep {service}'s data in {config.show(path)} before replacing it: "
            f"{exc.strerror}: free space there or make it writable"
        ) from None
    return path


def _add(out: tarfile.TarFile, archive: bytes, target: str) -> None:
    """The members of `docker cp`'s archive of ``target`` (named from its
    last component), under the rest of ``target``'s path."""
    parent = PurePosixPath(target).parent.as_posix().strip("/")
    with tarfile.open(fileobj=io.BytesIO(archive)) as copied:
        for member in copied.getmembers():
            data = copied.extractfile(member) if member.isfile() else None
            member.name = f"{parent}/{member.name}" if parent else member.name
            out.addfile(member, data)


def keep_sidecars(handle: Handle, names: Sequence[str]) -> None:
    """Before a deploy replaces the running sidecars ``names`` (compose would
    stop each and start its new one): the environment's PostgreSQL backed up
    as `slipway backup` does, a dump any later version restores; then each
    sidecar with data volumes stopped (a server writes its data out as it
    stops: Redis its dump, PostgreSQL a checkpoint) and those volumes copied
    (:func:`keep`). Each said in a line."""
    config, env = handle.config, handle.env
    model = handle.backend.model()
    services: Mapping[str, Any] = model.get("services") or {}
    database = backup.database(model, config.service)
    if database.kind is Kind.POSTGRES and database.service in names:
        saved = backup.backup(handle)
        handle.report(
            f"backed up {env.name} to {config.show(saved.path)} ({saved.detail}) "
            f"before replacing {database.service}"
        )
    running = {r.service: r.container for r in handle.backend.status() if r.state == "running"}
    for name in names:
        spec = services.get(name) or {}
        if name not in running or not data_volumes(spec):
            continue
        handle.backend.stop(name)
        try:
            path = keep(handle.docker, config, env, name, spec, running[name])
        except SlipwayError:
            # Not replaced after all: the old one serves again, as it was.
            handle.backend.start(name, wait_seconds=env.health_timeout)
            raise
        if path is not None:
            handle.report(
                f"stopped {name} and kept its data ({', '.join(data_volumes(spec))}) in "
                f"{config.show(path)} ({path.stat().st_size / 1e3:.1f} kB) before replacing it"
            )
