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

from python_on_whales import DockerClient

from slipway import lock, proxy
from slipway.build.images import Report
from slipway.config import Config, Environment
from slipway.data import backup, files, rowcounts, scripts
from slipway.data.backup import BackupResult, Database, Kind
from slipway.engine import docker_errors
from slipway.errors import CommandFailed, DeployFailed, EngineError, UsageError, command


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


def restore(config: Config, env_name: str, file: Path, *, report: Report) -> Restored:
    """Check ``file``, keep the data it replaces, stop the app, restore, bring
    the app back healthy. Nothing is touched until the file passed its checks."""
    env = config.environment(env_name)
    kind = files.kind_of(file)
    env, docker, db = backup.target(config, env.name)
    if kind is not db.kind:
        raise UsageError(
            f"{file.name} is not a .{db.kind.value} backup, which is what {env.name} "
            f"({db.kind.name.lower()}) restores: pick another file or --env"
        )
    with lock.held(config, env, command=f"restore {file.name} --env {env.name}", report=report):
        if db.kind is Kind.POSTGRES:
            with docker_errors(f"starting {db.service}"):
                docker.compose.up(
                    services=[db.service], detach=True, wait=True, pull="never", quiet=True
                )
        before = _keep_current(config, env, report=report)
        report(warning(env, db, file))
        tables = _replace(config, env, docker, db, file.read_bytes(), report=report)
    return Restored(tables, before)


def _keep_current(config: Config, env: Environment, *, report: Report) -> BackupResult:
    """Back up the data the restore will replace, beside the backups but never
    counted or pruned with them; CommandFailed (nothing restored) if it cannot."""
    folder = config.backups.dir / files.BEFORE_RESTORE
    report(f"backing up {env.name}'s current data first ...")
    try:
        kept = backup.backup(config, env.name, prune=False, folder=folder)
    except CommandFailed as exc:
        raise CommandFailed(
            f"could not back up the data the restore would replace ({exc}): nothing was "
            f"restored and {config.service} was not stopped"
        ) from None
    report(
        f"kept {env.name}'s current data in {config.show(kept.path)} "
        f"({backup.summary(kept.tables)}): restore that file to undo this restore"
    )
    return kept


def _replace(
    config: Config,
    env: Environment,
    docker: DockerClient,
    db: Database,
    data: bytes,
    *,
    report: Report,
) -> dict[str, int]:
    """Stop the app, load ``data`` into the database, start the app healthy."""
    report(f"stopping {config.service} ...")
    with docker_errors(f"stopping {config.service}"):
        docker.compose.stop(services=[config.service])
    try:
        if db.kind is Kind.SQLITE:
            argv = [*backup.script_command(docker, db, scripts.SQLITE_LOAD), db.name]
        else:
            argv = backup.script_command(docker, db, scripts.PG_RESTORE)
        out = backup.feed(argv, data, db, "the restore")
        _integrity, tables = rowcounts.loaded(out, sqlite=db.kind is Kind.SQLITE)
    finally:
        report(f"starting {config.service}, waiting up to {env.health_timeout}s for health ...")
        _start_app(docker, config, env)
    return tables


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
