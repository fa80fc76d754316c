"""Online backups of an environment's database, their verification and restore.

SQLite: a one-shot container of the app image, on the data volume, copies
the live database with the sqlite3 backup API (a consistent snapshot; the
app keeps serving) and streams it out. PostgreSQL: ``pg_dump -Fc`` in the
database's container, inside a REPEATABLE READ transaction whose snapshot
it shares, so the rows counted are exactly the rows dumped. Either way
every table's rows are counted at backup time, and a verification passes
only when a scratch restore is intact and holds those same counts. Both
stream to ``backups.dir`` on the host as ``<env>-<UTC time>.<sqlite3|pgdump>``;
the newest ``backups.keep`` of each environment are kept.
"""

from __future__ import annotations

import enum
import os
import re
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from python_on_whales import DockerClient

from slipway import _backup_scripts as scripts
from slipway import _rowcounts as rowcounts
from slipway import engine, lock, proxy
from slipway.config import Config, Environment
from slipway.engine import docker_errors
from slipway.errors import CommandFailed, DeployFailed, EngineError, UsageError, command
from slipway.images import Report

_NAME = re.compile(r"^(?P<env>.+)-(?P<stamp>\d{8}T\d{6}\.\d{3}Z)\.(?P<kind>sqlite3|pgdump)$")


class Kind(enum.StrEnum):
    """How an environment stores its data; the value is the backup's suffix."""

    SQLITE = "sqlite3"
    POSTGRES = "pgdump"


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


@dataclass(frozen=True)
class Verification:
    integrity: str
    # Every table's rows in the scratch restore, and as counted at backup.
    tables: Mapping[str, int]
    expected: Mapping[str, int]

    @property
    def ok(self) -> bool:
        """Intact, and the same tables holding the rows counted at backup."""
        return self.integrity == "ok" and dict(self.tables) == dict(self.expected)

    @property
    def detail(self) -> str:
        return rowcounts.verdict(self.integrity, self.tables, self.expected)


# --- pure: which database, file names, retention, messages ------------------


def summary(tables: Mapping[str, int]) -> str:
    """``2 tables, 1,001 rows``: a backup's or a restore's counts in one phrase."""
    return f"{rowcounts.tables(len(tables))}, {sum(tables.values()):,} rows"


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


def file_name(env_name: str, kind: Kind, when: datetime) -> str:
    """``prod-20260102T030405.678Z.sqlite3``: sorts by time, says where it came from."""
    utc = when.astimezone(UTC)
    return f"{env_name}-{utc:%Y%m%dT%H%M%S}.{utc.microsecond // 1000:03d}Z.{kind.value}"


def parse_name(name: str) -> tuple[str, str, Kind] | None:
    """(environment, time stamp, kind) of a backup's file name, or None."""
    match = _NAME.match(name)
    if match is None:
        return None
    return match["env"], match["stamp"], Kind(match["kind"])


def to_prune(names: Iterable[str], env_name: str, keep: int) -> list[str]:
    """The backups of ``env_name`` beyond the newest ``keep``; other files are never listed."""
    ours = sorted(
        (parsed[1], name)
        for name in names
        if (parsed := parse_name(name)) is not None and parsed[0] == env_name
    )
    return [name for _stamp, name in ours[: max(len(ours) - keep, 0)]]


# --- talking to the stack ----------------------------------------------------


def _target(config: Config, env_name: str) -> tuple[Environment, DockerClient, Database]:
    env = config.environment(env_name)
    docker = engine.client(config, env)
    return env, docker, database(engine.compose_model(docker), config.service)


def _command(docker: DockerClient, db: Database, script: str) -> list[str]:
    """The compose command running ``script`` next to the database, stdin open."""
    if db.kind is Kind.SQLITE:
        return engine.compose_run_argv(docker, db.service, ["python", "-c", script])
    names = {"PGUSER": db.user, "PGDATABASE": db.name}
    return engine.compose_exec_argv(docker, db.service, ["sh", "-c", script], envs=names)


def _failed(exc: EngineError, action: str, db: Database) -> CommandFailed:
    if "is not running" in f"{exc.stderr}{exc.stdout}":
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


def _feed(command: Sequence[str], data: bytes, db: Database, action: str) -> str:
    """Run the command with ``data`` on stdin; its stdout."""
    try:
        return engine.feed(command, data, action=action)
    except EngineError as exc:
        raise _failed(exc, action, db) from None


def _start_app(docker: DockerClient, config: Config, env: Environment) -> None:
    try:
        with docker_errors(f"starting {config.service}"):
            docker.compose.up(
                services=[config.service],
                detach=True,
                wait=True,
                wait_timeout=env.health_timeout,
                pull="never",
                quiet=True,
            )
    except EngineError as exc:
        raise DeployFailed(
            f"{config.service} did not come back healthy: {exc.reason}; "
            f"see `{command(f'logs --env {env.name}')}`"
        ) from None
    # The proxy marked the stopped replicas down and would wait for two good
    # checks of its own; a reload starts them up at once (they are healthy).
    running = proxy.container(docker)
    if running is not None:
        proxy.reload(docker, running)


# --- what the tasks call -----------------------------------------------------


def backup(config: Config, env_name: str, *, now: datetime | None = None) -> BackupResult:
    """Write a consistent online backup of the environment; prune old ones."""
    env, docker, db = _target(config, env_name)
    folder = config.backups.dir
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = folder / file_name(env.name, db.kind, now or datetime.now(UTC))
    script = scripts.SQLITE_BACKUP if db.kind is Kind.SQLITE else scripts.PG_BACKUP
    command = _command(docker, db, script) + ([db.name] if db.kind is Kind.SQLITE else [])
    started = time.monotonic()
    errors = _stream_to(command, path, db)
    seconds = time.monotonic() - started
    try:
        tables = rowcounts.reported(errors)
    except CommandFailed:
        path.unlink()
        raise
    pruned = tuple(
        folder / name
        for name in to_prune((p.name for p in folder.iterdir()), env.name, config.backups.keep)
    )
    for old in pruned:
        old.unlink()
    return BackupResult(path, path.stat().st_size, seconds, tables, pruned)


def verify(config: Config, env_name: str, result: BackupResult) -> Verification:
    """Restore a backup into scratch (tmpfs file or database) and check it: intact,
    and every table holding the rows counted at backup."""
    _env, docker, db = _target(config, env_name)
    data = result.path.read_bytes()
    action = "verifying the backup"
    script = scripts.SQLITE_LOAD if db.kind is Kind.SQLITE else scripts.PG_VERIFY
    try:
        out = engine.feed(_command(docker, db, script), data, action=action)
    except EngineError as exc:
        return Verification(f"failed ({exc.reason})", {}, result.tables)
    return Verification(*rowcounts.loaded(out, sqlite=db.kind is Kind.SQLITE), result.tables)


def restore(config: Config, env_name: str, file: Path, *, report: Report) -> dict[str, int]:
    """Stop the app, replace the database with ``file``, bring the app back healthy.

    Returns the rows of every table restored, by name.
    """
    env = config.environment(env_name)
    with lock.held(config, env, command=f"restore {file.name} --env {env.name}", report=report):
        return _restore(config, env_name, file, report=report)


def _restore(config: Config, env_name: str, file: Path, *, report: Report) -> dict[str, int]:
    env, docker, db = _target(config, env_name)
    if not file.is_file():
        raise UsageError(f"{file}: no such backup file")
    if not file.name.endswith(f".{db.kind.value}"):
        raise UsageError(
            f"{file.name} is not a .{db.kind.value} backup, which is what {env.name} "
            f"({db.kind.name.lower()}) restores: pick another file or --env"
        )
    data = file.read_bytes()
    if db.kind is Kind.POSTGRES:
        with docker_errors(f"starting {db.service}"):
            docker.compose.up(
                services=[db.service], detach=True, wait=True, pull="never", quiet=True
            )
    report(f"stopping {config.service} ...")
    with docker_errors(f"stopping {config.service}"):
        docker.compose.stop(services=[config.service])
    try:
        if db.kind is Kind.SQLITE:
            command = [*_command(docker, db, scripts.SQLITE_LOAD), db.name]
        else:
            command = _command(docker, db, scripts.PG_RESTORE)
        out = _feed(command, data, db, "the restore")
        _integrity, tables = rowcounts.loaded(out, sqlite=db.kind is Kind.SQLITE)
    finally:
        report(f"starting {config.service}, waiting up to {env.health_timeout}s for health ...")
        _start_app(docker, config, env)
    return tables
