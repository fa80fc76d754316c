"""Secret files: the compose `secrets:` an environment reads, created when missing.

Every secret reaches a container as a file under /run/secrets, mounted from
the git-ignored ``secrets/`` folder; never as an environment value, an image
layer or a build argument. (Named ``secretfiles`` so it does not shadow the
standard library's ``secrets``, which it uses.)
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterable
from pathlib import Path

import yaml

from slipway.config import Config, Environment
from slipway.errors import ConfigError

SECRETS_DIR = "secrets"
# 48 random bytes, 64 URL-safe characters: safe in a URL, a shell and a DSN.
TOKEN_BYTES = 48

# Host side, the folder is the lock: 0700, only its owner may even list it.
DIR_MODE = 0o700
# Compose ignores uid/gid/mode of file secrets and bind-mounts the host file
# as it is, so the file must be readable by the container users (the app's
# uid 10001, postgres's 999), which are not its owner on the host: 0644. The
# 0700 folder keeps other host users out; inside a container only that
# container's processes see the file.
FILE_MODE = 0o644


def generate() -> str:
    """A strong random value for a new secret."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def declared(compose_files: Iterable[Path]) -> list[Path]:
    """The files behind the file-based `secrets:` of a set of compose files.

    Relative paths are resolved as compose does: against the project
    directory, the folder of the first file.
    """
    files = list(compose_files)
    if not files:
        return []
    project_dir = files[0].parent
    found: list[Path] = []
    for file in files:
        try:
            model = yaml.safe_load(file.read_text()) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise ConfigError(f"{file.name}: cannot be read as YAML ({exc})") from None
        top = model.get("secrets") if isinstance(model, dict) else None
        for spec in (top if isinstance(top, dict) else {}).values():
            if not isinstance(spec, dict) or not isinstance(spec.get("file"), str):
                continue  # environment- or external-sourced: not a file we manage
            path = (project_dir / spec["file"]).resolve()
            if path not in found:
                found.append(path)
    return found


def managed(config: Config, env: Environment | None = None) -> list[Path]:
    """Secret files under secrets/ that an environment (or any) declares.

    Files elsewhere are the user's to provide; slipway never writes them.
    """
    envs = [env] if env is not None else list(config.environments.values())
    folder = (config.root / SECRETS_DIR).resolve()
    paths: list[Path] = []
    for each in envs:
        for path in declared(each.compose_files):
            if path.is_relative_to(folder) and path not in paths:
                paths.append(path)
    return paths


def create(path: Path, value: str) -> None:
    """Write a new secret file (never overwriting one), mode FILE_MODE."""
    path.parent.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    with os.fdopen(fd, "w") as out:
        # The umask may have narrowed the mode; the container users need it.
        os.fchmod(out.fileno(), FILE_MODE)
        out.write(value)


def ensure(config: Config, env: Environment | None = None) -> list[Path]:
    """Create every missing secret file of ``env`` (default: of all environments).

    Returns the files created; existing ones are never touched. The folder
    is (re)set to 0700 whenever this runs.
    """
    folder = config.root / SECRETS_DIR
    missing = [path for path in managed(config, env) if not path.exists()]
    if missing or folder.is_dir():
        folder.mkdir(mode=DIR_MODE, exist_ok=True)
        folder.chmod(DIR_MODE)
    for path in missing:
        create(path, generate())
    return missing
