"""Secret files: the compose `secrets:` an environment reads, created when missing.

Every secret reaches a container as a file under /run/secrets, never as an
environment value, an image layer or a build argument. Its value is the one
the environment's engine keeps (:mod:`slipway.kept`): on the first deploy to
an engine, the file in the git-ignored ``secrets/`` folder (made with a
random value when missing) is sent there, and every later deploy, from this
checkout or another, uses what the engine keeps. (Named ``secretfiles`` so
it does not shadow the standard library's ``secrets``, which it uses.)
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from slipway import engine
from slipway.config import Config, Environment
from slipway.engine import mounts
from slipway.errors import ConfigError

if TYPE_CHECKING:
    from slipway.handle import Report
    from slipway.kept import Kept

SECRETS_DIR = "secrets"
# 48 random bytes, 64 URL-safe characters: safe in a URL, a shell and a DSN.
TOKEN_BYTES = 48

# Host side, the folder is the lock: 0700, only its owner may even list it.
DIR_MODE = 0o700
# The 0700 folder keeps other host users out. The file itself is 0644, as
# what compose mounts from it was (before slipway sent secrets through the
# engine), so that an older stack still running reads it.
FILE_MODE = 0o644
# On the engine: owned by root, readable by the container users (the app's
# uid 10001, postgres's 999); each container sees only the secrets its
# service declares, mounted one file at a time.
KEPT_MODE = 0o444


def generate() -> str:
    """A strong random value for a new secret."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def declared(compose_files: Iterable[Path]) -> list[Path]:
    """The files behind the file-based `secrets:` of a set of compose files,
    resolved as compose does (against the folder of the first file)."""
    return list(dict.fromkeys(mounts.declared(compose_files).files.values()))


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


def replace(path: Path, value: bytes) -> None:
    """Give an existing secret file a new value, whole (renamed over it), mode FILE_MODE."""
    scratch = path.with_name(f".{path.name}.new")
    fd = os.open(scratch, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    with os.fdopen(fd, "wb") as out:
        os.fchmod(out.fileno(), FILE_MODE)
        out.write(value)
    scratch.replace(path)


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


def used(env: Environment) -> dict[str, Path]:
    """The file secrets the environment's services mount: name and file here."""
    found = mounts.declared(env.compose_files)
    names = sorted({name for names in found.mounted.values() for name in names})
    return {name: found.files[name] for name in names}


def mismatch(config: Config, env: Environment, name: str, path: Path) -> str:
    """What a differing secret file is told, in one line."""
    return (
        f"{config.show(path)} differs from the secret {name} that {env.name}'s engine "
        f"({engine.where(env)}) keeps: delete {config.show(path)} to deploy with the engine's"
    )


def deliver(kept: Kept, config: Config, env: Environment, *, report: Report) -> None:
    """Make sure the engine keeps every file secret the environment's
    services mount, before anything is built or touched.

    A secret the engine keeps is used as it is; a file of this checkout that
    differs from it is refused (ConfigError), never silently used. One it
    lacks is sent from the file here, which is made with a random value
    first when it is missing and under ``secrets/``.
    """
    wanted = used(env)
    if not wanted:
        return
    there = kept.read(mounts.SECRETS_FOLDER)
    ours = (config.root / SECRETS_DIR).resolve()
    send: dict[str, bytes] = {}
    for name, path in wanted.items():
        here = path.read_bytes() if path.is_file() else None
        if name in there:
            if here is not None and here != there[name]:
                raise ConfigError(mismatch(config, env, name, path))
            continue
        if here is None:
            if not path.is_relative_to(ours):
                raise ConfigError(
                    f"secret {name}: {config.show(path)} is missing: create it "
                    f"(slipway makes only files under {SECRETS_DIR}/)"
                )
            create(path, generate())
            report(f"created {config.show(path)} with a random value (git-ignored)")
            here = path.read_bytes()
        send[f"{mounts.SECRETS_FOLDER}/{name}"] = here
    if send:
        kept.write(send, mode=KEPT_MODE)
        shown = ", ".join(p.rpartition("/")[2] for p in send)
        report(f"{env.name}'s engine ({engine.where(env)}) now keeps the secret(s) {shown}")
