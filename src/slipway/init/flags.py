"""What `slipway init` was told, checked before anything is read.

The flags follow slipway.yaml's rules (a port, a health path); a command is
split as a shell would.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass

from slipway.config import HealthPath, Port, check_flag
from slipway.errors import UsageError


@dataclass(frozen=True)
class Flags:
    """What `slipway init` was told; an empty string means: infer it."""

    package: str = ""
    command: str = ""
    migrate: str = ""  # or "none"
    port: int = 8000
    health_path: str = "/health"
    database: str = ""  # or one of DATABASES
    worker: str = ""  # a worker role's command; "" for none


# What --database takes: the database init writes an environment for.
DATABASES = ("postgres",)


@dataclass(frozen=True)
class Checked:
    """The flags, checked: commands split, () where init is to infer."""

    port: int
    health_path: str
    command: tuple[str, ...]
    migrate: tuple[str, ...]  # () also for "none": see no_migrate
    no_migrate: bool
    database: str = ""
    worker: tuple[str, ...] = ()


def check(flags: Flags) -> Checked:
    """The flags by slipway.yaml's rules; UsageError names the one that fails."""
    port: int = check_flag("--port", Port, flags.port)
    health_path: str = check_flag("--health-path", HealthPath, flags.health_path)
    command = _argv("--command", flags.command) if flags.command else ()
    migrate = _argv("--migrate", flags.migrate) if flags.migrate not in ("", "none") else ()
    if flags.database not in ("", *DATABASES):
        raise UsageError(
            f"--database: expected {' or '.join(DATABASES)}, got {flags.database!r} "
            "(leave it out for none)"
        )
    return Checked(
        port,
        health_path,
        command,
        migrate,
        no_migrate=flags.migrate == "none",
        database=flags.database,
        worker=_argv("--worker", flags.worker) if flags.worker else (),
    )


def _argv(flag: str, value: str) -> tuple[str, ...]:
    """A command given as a flag, split as a shell would."""
    try:
        argv = tuple(shlex.split(value))
    except ValueError as exc:
        raise UsageError(
            f"{flag}: {str(exc).lower()} in {value!r}: quote it as you would in a shell"
        ) from None
    if not argv:
        raise UsageError(f"{flag}: expected a command, got {value!r}")
    return argv
