"""Release images that do not fill the disk: keep the newest few per environment.

Every deploy tags an immutable release image. An environment keeps its
``keep_releases`` newest releases that came up healthy (slipway.yaml,
default 5) and, always, the one it runs; everything else it ever deployed
(older releases, failed ones) is untagged, unless another environment keeps
it. Rollback only ever goes to a kept release.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from python_on_whales import DockerClient

from slipway import history, state
from slipway.build import images
from slipway.engine import docker_errors
from slipway.errors import InUse
from slipway.handle import Handle
from slipway.history import Release


@dataclass(frozen=True)
class Pruned:
    removed: tuple[str, ...]
    kept: tuple[str, ...]
    freed_bytes: int


def kept(entries: Sequence[Release], current: str | None, keep: int) -> set[str]:
    """The images an environment keeps: its ``keep`` newest good releases and
    the one it runs."""
    good: list[str] = []
    for entry in reversed(entries):
        if entry.outcome in history.GOOD and entry.image not in good:
            good.append(entry.image)
    return set(good[:keep]) | ({current} if current else set())


def to_remove(
    entries: Mapping[str, Sequence[Release]],
    current: Mapping[str, str | None],
    keep: Mapping[str, int],
    env_name: str,
) -> list[str]:
    """The images ``env_name`` deployed that no environment keeps."""
    keeping: set[str] = set()
    for name, rows in entries.items():
        keeping |= kept(rows, current.get(name), keep[name])
    return sorted({e.image for e in entries[env_name]} - keeping)


def _images_size(docker: DockerClient) -> int:
    with docker_errors("docker system df"):
        return int(docker.system.disk_free().images.size or 0)


def prune(handle: Handle) -> Pruned:
    """Untag the environment's release images beyond what it keeps."""
    config, env, docker = handle.config, handle.env, handle.docker
    envs = list(config.environments.values())
    entries = {e.name: history.releases(config, e) for e in envs}
    # Every environment's release, so that none loses the image it runs.
    current = {e.name: state.release(config, e) for e in envs}
    current[env.name] = handle.backend.release()
    keep = {e.name: e.keep_releases for e in envs}
    present = images.present(docker, config)
    removable = [ref for ref in to_remove(entries, current, keep, env.name) if ref in present]
    # (The engine's image sizes are asked only when there is something to free.)
    before = _images_size(docker) if removable else 0
    removed = []
    for ref in removable:
        try:
            with docker_errors(f"removing {ref}"):
                docker.image.remove(ref)
        except InUse:
            # A container (a stopped one, another project's) still uses it: keep it.
            continue
        removed.append(ref)
    still = kept(entries[env.name], current[env.name], env.keep_releases) & present
    freed = max(before - _images_size(docker), 0) if removable else 0
    return Pruned(tuple(removed), tuple(sorted(still)), freed)
