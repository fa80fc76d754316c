"""Restore an environment's database from a backup, checking before acting.

In this order: the file is checked (it exists, can be read, is the kind of
backup this environment's database takes: :func:`slipway.data.files.kind_of`);
then, under the deploy lock, the data it will replace is backed up to
``backups.dir/before-restore/`` (its path is said, so the restore can be
undone); only then is the app stopped, the data replaced, and the app
brought back healthy. A restore replaces all the data; a pg_dump archive
runs the SQL it holds.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from slipway import lock
from slipway.config import Environment
from slipway.data import backup, files, rowcounts, scripts
from slipway.data.backup import BackupResult, Database, Kind
from slipway.errors import CommandFailed, DeployFailed, EngineError, UsageError, command
from slipway.handle import Handle


@dataclass(frozen=True)
class Restored:
    # Every table's rows after the restore, by name.
    tables: dict[str, int]
    # The backup of the data the restore replaced.
    before: BackupResult


def warning(env: Environment, db: Database, file: Path) -> str:
    """The line said before a restore acts: what it replaces, and what it runs."""
    runs = f" and runs the SQL the dump holds as {db.user}" if db.kind is Kind.POSTGRES else ""
    return (
        f"restoring {file.name} replaces all of {env.name}'s data ({db.name}){runs}: "
        "restore only backups you trust"
    )


def restore(handle: Handle, file: Path) -> Restored:
    """Check ``file``, keep the data it replaces, stop the app, restore, bring
    the app back healthy. Nothing is touched until the file passed its checks."""
    env, report = handle.env, handle.report
    kind = files.kind_of(file)
    db = backup.target(handle)
    if kind is not db.kind:
        raise UsageError(
            f"{file.name} is not a .{db.kind.value} backup, which is what {env.name} "
            f"({db.kind.name.lower()}) restores: pick another file or --env"
        )
    with lock.held(handle, command=f"restore {file.name} --env {env.name}"):
        if db.kind is Kind.POSTGRES:
            handle.backend.start(db.service)
        before = _keep_current(handle)
        report(warning(env, db, file))
        tables = _replace(handle, db, file.read_bytes())
    return Restored(tables, before)


def _keep_current(handle: Handle) -> BackupResult:
    """Back up the data the restore will replace, beside the backups but never
    counted or pruned with them; CommandFailed (nothing restored) if it cannot."""
    config, env = handle.config, handle.env
    folder = config.backups.dir / files.BEFORE_RESTORE
    handle.report(f"backing up {env.name}'s current data first ...")
    try:
        kept = backup.backup(handle, prune=False, folder=folder)
    except CommandFailed as exc:
        raise CommandFailed(
            f"could not back up the data the restore would replace ({exc}): nothing was "
            f"restored and {config.service} was not stopped"
        ) from None
    handle.report(
        f"kept {env.name}'s current data in {config.show(kept.path)} "
        f"({backup.summary(kept.tables)}): restore that file to undo this restore"
    )
    return kept


def _replace(handle: Handle, db: Database, data: bytes) -> dict[str, int]:
    """Stop the app and the other roles (a worker writes the data too), load
    ``data`` into the database, start them healthy."""
    service, backend, report = handle.config.service, handle.backend, handle.report
    roles = handle.roles()
    report(f"stopping {', '.join([service, *roles])} ...")
    for role in roles:
        backend.stop(role)
    backend.stop(service)
    try:
        if db.kind is Kind.SQLITE:
            argv = [*backup.script_command(backend, db, scripts.SQLITE_LOAD), db.name]
        else:
            argv = backup.script_command(backend, db, scripts.PG_RESTORE)
        out = backup.feed(argv, data, db, "the restore")
        _integrity, tables = rowcounts.loaded(out, sqlite=db.kind is Kind.SQLITE)
    finally:
        report(f"starting {service}, waiting up to {handle.env.health_timeout}s for health ...")
        _start_app(handle)
    return tables


def _start_app(handle: Handle) -> None:
    """The app back, healthy, behind the proxy; the other roles back, healthy."""
    env = handle.env
    for service in (handle.config.service, *handle.roles()):
        try:
            handle.backend.start(service, wait_seconds=env.health_timeout)
        except EngineError as exc:
            raise DeployFailed(
                f"{service} did not come back healthy: {exc.reason}; "
                f"see `{command(f'logs --env {env.name}')}`"
            ) from None
