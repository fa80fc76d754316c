"""The data: online backups, their verification, and restores."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from invoke.context import Context
from invoke.tasks import task

from slipway.cli.edge import ENV, edge
from slipway.errors import CheckFailed

if TYPE_CHECKING:
    from slipway.backup import BackupResult
    from slipway.config import Config


def _verify(cfg: Config, env: str, done: BackupResult) -> None:
    from slipway import backup

    check = backup.verify(cfg, env, done)
    print(f"verify {'ok' if check.ok else 'FAILED'}: {check.detail}")
    if not check.ok:
        raise CheckFailed(f"{cfg.show(done.path)} failed verification: {check.detail}")


@task(
    help={
        "env": ENV,
        "verify": "restore the new backup into scratch and check integrity and row counts",
    }
)
@edge
def backup(c: Context, env: str = "prod", verify: bool = False) -> None:
    """Write a consistent online backup of an environment's database."""
    from slipway import backup, config

    cfg = config.load()
    done = backup.backup(cfg, env)
    print(f"wrote {cfg.show(done.path)}: {done.detail}")
    for old in done.pruned:
        print(f"removed {cfg.show(old)} (keeping the newest {cfg.backups.keep})")
    if verify:
        _verify(cfg, env, done)


@task(help={"file": "the backup file to restore", "env": ENV})
@edge
def restore(c: Context, file: str, env: str = "prod") -> None:
    """Restore a backup: stop the app, replace its data, start it healthy."""
    from slipway import backup, config

    tables = backup.restore(config.load(), env, Path(file), report=print)
    print(f"{env} is restored from {file} ({backup.summary(tables)}) and healthy")
