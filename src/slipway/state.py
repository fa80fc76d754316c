"""Every path under ``.slipway/``, slipway's git-ignored local state: the one
module that builds them (pip's ``_internal/locations`` is the model), and the
release pointer, which it alone reads and writes.

| path | what |
| --- | --- |
| ``<env>.env`` | the release pointer: what the environment runs (SLIPWAY_IMAGE...) |
| ``<env>.next.env`` | the release a rollout is moving to, while it does |
| ``<env>.applied.json`` | each service's configuration hash the release was rolled out with |
| ``<env>.settings.env`` | what slipway.yaml tells the environment's compose files |
| ``<env>.mounts.yaml`` | the compose file that mounts what slipway keeps on the engine |
| ``<env>-proxy/`` | the proxy's configuration, as last sent to the engine |
| ``tests.env`` | the test image a test environment's run names (SLIPWAY_IMAGE) |
| ``history.jsonl`` | every deploy and rollback |
| ``sbom/<tag>.cdx.json`` | each release's SBOM |
| ``build/`` | the Dockerfile slipway builds, beside its ignore file |
| ``slipway.schema.json`` | the installed slipway.yaml schema, for editors |
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from slipway.config import Config, Environment

DIR = ".slipway"
# The key of the release pointer that names the image.
IMAGE_KEY = "SLIPWAY_IMAGE"


def folder(config: Config) -> Path:
    return config.root / DIR


def release_file(config: Config, env: Environment) -> Path:
    """Where a deploy records what the environment runs (read by compose last)."""
    return folder(config) / f"{env.name}.env"


def staged_release_file(config: Config, env: Environment) -> Path:
    """The release a rollout is moving to: read by compose after the pointer,
    and made the pointer once the release serves (:func:`commit_release`)."""
    return folder(config) / f"{env.name}.next.env"


def applied_file(config: Config, env: Environment) -> Path:
    return folder(config) / f"{env.name}.applied.json"


def settings_file(config: Config, env: Environment) -> Path:
    return folder(config) / f"{env.name}.settings.env"


def mounts_file(config: Config, env: Environment) -> Path:
    return folder(config) / f"{env.name}.mounts.yaml"


def proxy_folder(config: Config, env: Environment) -> Path:
    return folder(config) / f"{env.name}-proxy"


def tests_file(config: Config) -> Path:
    """What the test environment's compose files read: the test image."""
    return folder(config) / "tests.env"


def history_file(config: Config) -> Path:
    return folder(config) / "history.jsonl"


def sbom_file(config: Config, ref: str) -> Path:
    """A release's SBOM, named by its tag (``<image>:<tag>``)."""
    return folder(config) / "sbom" / f"{ref.rpartition(':')[2]}.cdx.json"


def build_folder(config: Config) -> Path:
    return folder(config) / "build"


def schema_copy(root: Path) -> Path:
    """The schema copy slipway.yaml's first line names, under a project root."""
    return root / DIR / "slipway.schema.json"


# --- the release pointer -----------------------------------------------------------------


def release(config: Config, env: Environment) -> str | None:
    """The image a deploy last recorded for the environment, if any."""
    path = release_file(config, env)
    if not path.is_file():
        return None
    for line in path.read_text().splitlines():
        key, _, value = line.partition("=")
        if key == IMAGE_KEY:
            return value
    return None


def _write(path: Path, values: Mapping[str, str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{key}={value}\n" for key, value in values.items()))


def stage_release(config: Config, env: Environment, values: Mapping[str, str]) -> None:
    """Name the release a rollout moves to (compose reads it after the
    pointer), leaving the pointer on the release that serves until then."""
    _write(staged_release_file(config, env), values)


def commit_release(config: Config, env: Environment) -> None:
    """The staged release serves: it becomes the pointer (one rename)."""
    staged_release_file(config, env).replace(release_file(config, env))


def drop_staged(config: Config, env: Environment) -> None:
    """The rollout failed: the pointer still names the release that serves."""
    staged_release_file(config, env).unlink(missing_ok=True)


@contextmanager
def staging(config: Config, env: Environment, values: Mapping[str, str]) -> Iterator[None]:
    """The release a rollout moves to, staged for the rollout's length: the
    pointer once the rollout returned, dropped when it raised."""
    stage_release(config, env, values)
    try:
        yield
    except BaseException:
        drop_staged(config, env)
        raise
    commit_release(config, env)


def forget_release(config: Config, env: Environment) -> None:
    """The environment runs no release any more (its stack was taken down)."""
    release_file(config, env).unlink(missing_ok=True)
    applied_file(config, env).unlink(missing_ok=True)


def applied(config: Config, env: Environment) -> dict[str, str] | None:
    """Each service's configuration hash as the release was rolled out with it
    (None when none was recorded, or the record cannot be read)."""
    try:
        data = json.loads(applied_file(config, env).read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict):
        return None
    return {str(k): str(v) for k, v in data.items()}


def record_applied(config: Config, env: Environment, hashes: Mapping[str, str]) -> None:
    """Record the configuration a release now serves with."""
    path = applied_file(config, env)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(dict(hashes), indent=2, sort_keys=True) + "\n")


# The key of ``<env>.applied.json`` naming the secrets rotated since the
# release was rolled out (comma-separated): the running containers read the
# old values, so the next rollout of the same release is not "nothing to roll".
ROTATED = "rotated secrets"


def mark_rotated(config: Config, env: Environment, name: str) -> None:
    """The secret ``name`` was rotated since the running release rolled out
    (nothing to mark when no rollout was recorded: the next one rolls anyway)."""
    hashes = applied(config, env)
    if hashes is None:
        return
    names = {n for n in hashes.get(ROTATED, "").split(", ") if n} | {name}
    record_applied(config, env, {**hashes, ROTATED: ", ".join(sorted(names))})
