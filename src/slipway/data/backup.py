"""Online backups of an environment's database, their verification and restore.

SQLite: a one-shot container of the app image, on the data volume, copies
the live database with the sqlite3 backup API (a consistent snapshot; the
app keeps serving) and streams it out. PostgreSQL: ``pg_dump -Fc`` in the
database's container, inside a REPEATABLE READ transaction whose snapshot
it shares, so the rows counted are exactly the rows dumped. Either way
every table's rows are counted at backup time, and a verification passes
only when a scratch restore is intact and holds those same counts. Both
stream to ``backups.dir`` on the host as ``<env>-<UTC time>.<sqlite3|pgdump>``;
the newest ``backups.keep`` of each environment are kept, counting only
backups that passed verification when it was asked for
(:mod:`slipway.data.files`). Restores are :mod:`slipway.data.restore`; the
scripts that run in the containers are files in ``data/scripts/``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from slipway import engine
from slipway.backends.protocol import Backend
from slipway.checks import CheckResult
from slipway.config import Config
from slipway.data import files, rowcounts, scripts
from slipway.data.files import Kind, file_name, parse_name, set_aside, to_prune
from slipway.errors import CommandFailed, EngineError, NotRunning, UsageError
from slipway.handle import Handle

__all__ = [
    "BackupResult",
    "Database",
    "Kind",
    "backup",
    "database",
    "feed",
    "file_name",
    "parse_name",
    "prune",
    "script_command",
    "set_aside",
    "summary",
    "target",
    "to_prune",
    "verification",
    "verify",
]


@dataclass(frozen=True)
class Database:
    kind: Kind
    # Where commands run: a one-shot of the app (SQLite) or the db service.
    service: str
    # SQLite: the file's path in the container; PostgreSQL: the database name.
    name: str
    user: str = ""


@dataclass(frozen=True)
class BackupResult:
    path: Path
    size: int
    seconds: float
    # Every table's rows in the snapshot the backup holds, by name.
    tables: Mapping[str, int]
    pruned: tuple[Path, ...]

    @property
    def detail(self) -> str:
        return f"{self.size:,} bytes, {summary(self.tables)}, in {self.seconds:.2f}s"


# --- pure: which database, file names, retention, messages ------------------


def summary(tables: Mapping[str, int]) -> str:
    """``2 tables, 1,001 rows``: a backup's or a restore's counts in one phrase."""
    return f"{rowcounts.tables(len(tables))}, {sum(tables.values()):,} rows"


def verification(
    integrity: str, tables: Mapping[str, int], expected: Mapping[str, int]
) -> CheckResult:
    """A scratch restore's check: intact (``integrity`` is "ok"), and the same
    ``tables`` holding the rows ``expected`` (as counted at backup)."""
    ok = integrity == "ok" and dict(tables) == dict(expected)
    return CheckResult("backup verification", ok, rowcounts.verdict(integrity, tables, expected))


def database(model: Mapping[str, Any], app_service: str) -> Database:
    """The database of a `docker compose config` model: a postgres service, or the
    SQLite file the app's DATABASE_URL names (UsageError saying what to set if none)."""
    services: Mapping[str, Any] = model.get("services") or {}
    for name in sorted(services):
        image = str(services[name].get("image") or "")
        if image.rsplit("/", 1)[-1].split(":", 1)[0] == "postgres":
            env = services[name].get("environment") or {}
            user = str(env.get("POSTGRES_USER") or "postgres")
            return Database(Kind.POSTGRES, name, str(env.get("POSTGRES_DB") or user), user)
    app_env = (services.get(app_service) or {}).get("environment") or {}
    url = str(app_env.get("DATABASE_URL") or "")
    if not url:
        raise UsageError(
            f"the stack has no postgres service and {app_service} no DATABASE_URL: set "
            f"DATABASE_URL=sqlite:////<absolute path in the container> in {app_service}'s "
            "environment in the compose files"
        )
    if not url.startswith("sqlite:////"):
        raise UsageError(
            f"{app_service}'s DATABASE_URL is not a SQLite file and the stack has no "
            "postgres service: back that database up with its own tools"
        )
    return Database(Kind.SQLITE, app_service, url.removeprefix("sqlite:///"))


# --- talking to the stack ----------------------------------------------------


def target(handle: Handle) -> Database:
    """The environment's database, as its stack's model says."""
    return database(handle.backend.model(), handle.config.service)


def script_command(backend: Backend, db: Database, script: str) -> list[str]:
    """The command running ``script`` next to the database, stdin open."""
    if db.kind is Kind.SQLITE:
        return backend.run_argv(db.service, ["python", "-c", script])
    names = {"PGUSER": db.user, "PGDATABASE": db.name}
    return backend.exec_argv(db.service, ["sh", "-c", script], envs=names)


def _failed(exc: EngineError, action: str, db: Database) -> CommandFailed:
    if isinstance(exc, NotRunning):
        return CommandFailed(f"{action} failed: {db.service} is not running; deploy it first")
    return CommandFailed(f"{action} failed: {exc.reason}")


def _stream_to(command: Sequence[str], path: Path, db: Database) -> list[str]:
    """Write the command's stdout to ``path`` (0600, all or nothing); its stderr lines."""
    partial = path.with_name(f".{path.name}.partial")
    errors: list[str] = []
    try:
        with os.fdopen(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as out:
            for source, chunk in engine.stream(command, action="the backup"):
                if source == "stdout":
                    out.write(chunk)
                else:
                    errors.append(chunk.decode(errors="replace").strip())
        partial.rename(path)
    except EngineError as exc:
        raise _failed(exc, "the backup", db) from None
    finally:
        partial.unlink(missing_ok=True)
    return errors


def feed(command: Sequence[str], data: bytes, db: Database, action: str) -> str:
    """Run the command with ``data`` on stdin; its stdout."""
    try:
        return engine.feed(command, data, action=action)
    except EngineError as exc:
        raise _failed(exc, action, db) from None


# --- what the tasks call -----------------------------------------------------


def backup(
    handle: Handle,
    *,
    now: datetime | None = None,
    prune: bool = True,
    folder: Path | None = None,
) -> BackupResult:
    """Write a consistent online backup of the environment to ``folder``
    (``backups.dir``); with ``prune``, remove the environment's old ones.

    ``backup --verify`` prunes only after the new backup passed (:func:`prune`).
    """
    config, env, db = handle.config, handle.env, target(handle)
    folder = folder or config.backups.dir
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = folder / file_name(env.name, db.kind, now or datetime.now(UTC))
    script = scripts.SQLITE_BACKUP if db.kind is Kind.SQLITE else scripts.PG_BACKUP
    command = script_command(handle.backend, db, script)
    command += [db.name] if db.kind is Kind.SQLITE else []
    started = time.monotonic()
    errors = _stream_to(command, path, db)
    seconds = time.monotonic() - started
    try:
        tables = rowcounts.reported(errors)
    except CommandFailed:
        path.unlink()
        raise
    pruned = files.prune(folder, env.name, config.backups.keep) if prune else ()
    return BackupResult(path, path.stat().st_size, seconds, tables, pruned)


def prune(config: Config, env_name: str) -> tuple[Path, ...]:
    """Remove the environment's backups beyond the newest ``backups.keep``
    (files set aside, or kept before a restore, are never counted)."""
    env = config.environment(env_name)
    return files.prune(config.backups.dir, env.name, config.backups.keep)


def verify(handle: Handle, result: BackupResult) -> CheckResult:
    """Restore a backup into scratch (tmpfs file or database) and check it: intact,
    and every table holding the rows counted at backup."""
    db = target(handle)
    data = result.path.read_bytes()
    action = "verifying the backup"
    script = scripts.SQLITE_LOAD if db.kind is Kind.SQLITE else scripts.PG_VERIFY
    try:
        out = engine.feed(script_command(handle.backend, db, script), data, action=action)
    except EngineError as exc:
        return verification(f"failed ({exc.reason})", {}, result.tables)
    return verification(*rowcounts.loaded(out, sqlite=db.kind is Kind.SQLITE), result.tables)
