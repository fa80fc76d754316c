"""What never enters an image, whatever the project's ``.dockerignore`` says.

A project's own ``.dockerignore`` may exclude nothing of what slipway keeps
beside the code: env files, the secret files, database backups, ``.slipway/``
and ``.git`` (whose config can hold a remote's token). So slipway never builds
from the project's Dockerfile with the project's ignore file alone: it builds
from ``.slipway/build/<Dockerfile>``, a copy of it, beside a Dockerfile-specific
ignore file (``<Dockerfile>.dockerignore``, which BuildKit reads instead of the
context's ``.dockerignore``) holding the project's own lines and then slipway's.
Lines read later win, so no ``!pattern`` of the project's lets these back in.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path

from slipway import secretfiles, state
from slipway.config import Config

# Always out of the build context: git's database and config, slipway's own
# state, dotenv files anywhere in the tree (.env, .env.local, .env.production)
# and the credential files of pip, twine and netrc.
ALWAYS = (
    ".git",
    "**/.git",
    state.DIR,
    ".env",
    "**/.env",
    ".env.*",
    "**/.env.*",
    "**/.netrc",
    "**/.pypirc",
)
HEADER = "# slipway: never in an image, whatever the lines above say"


def dockerfile(config: Config) -> Path:
    """The Dockerfile to build: the project's, copied beside the ignore file
    that keeps :func:`never` out of the context."""
    folder = state.build_folder(config)
    folder.mkdir(parents=True, exist_ok=True)
    sealed = folder / config.dockerfile.name
    _write(sealed, config.dockerfile.read_text())
    _write(folder / f"{sealed.name}.dockerignore", ignore_text(config))
    return sealed


def ignore_text(config: Config) -> str:
    """The project's own ignore lines, then every one of :func:`never`."""
    own = _own(config)
    lines = [own.rstrip("\n"), ""] if own.strip() else []
    return "\n".join([*lines, HEADER, *never(config)]) + "\n"


def never(config: Config) -> list[str]:
    """Patterns, relative to the build context, of everything that holds a
    secret or slipway's state: env files, secrets, backups, .slipway, .git."""
    found = list(ALWAYS)
    for path in _secret_paths(config):
        try:
            relative = path.resolve().relative_to(config.context.resolve())
        except ValueError:
            continue  # outside the context: it cannot be sent anyway
        pattern = _escape(relative.as_posix())
        if pattern and pattern not in found:
            found.append(pattern)
    return found


def _secret_paths(config: Config) -> Iterator[Path]:
    yield config.root / secretfiles.SECRETS_DIR
    yield config.backups.dir
    for env in config.environments.values():
        yield env.env_file
        # Its siblings: the env files of environments added later.
        yield env.env_file.parent / "*.env"
        yield from secretfiles.declared(env.compose_files)


_SPECIAL = re.compile(r"([*?\\[])")


def _escape(pattern: str) -> str:
    """A path as a literal dockerignore pattern, but for a trailing ``*.env``."""
    head, _, tail = pattern.rpartition("/")
    if tail == "*.env":
        return f"{_literal(head)}/*.env" if head else "*.env"
    return _literal(pattern)


def _literal(path: str) -> str:
    return _SPECIAL.sub(r"\\\1", path)


def _own(config: Config) -> str:
    """The ignore file BuildKit would read for the project's Dockerfile."""
    specific = config.dockerfile.with_name(f"{config.dockerfile.name}.dockerignore")
    for candidate in (specific, config.context / ".dockerignore"):
        if candidate.is_file():
            return candidate.read_text()
    return ""


def _write(path: Path, text: str) -> None:
    """Replace ``path`` whole (two builds at once never read half a file)."""
    if path.is_file() and path.read_text() == text:
        return
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w") as out:
        out.write(text)
    Path(tmp).replace(path)
