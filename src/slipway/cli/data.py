"""The data: online backups, their verification, and restores."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import TYPE_CHECKING

from invoke.context import Context
from invoke.tasks import task

from slipway.cli.edge import ENV, edge
from slipway.cli.start import load
from slipway.errors import CheckFailed, UsageError, command

if TYPE_CHECKING:
    from slipway.data.backup import BackupResult
    from slipway.handle import Handle

# What invoke hands a task as its positional FILE when the user asked for
# help: `restore --help` parses as FILE="--help" (a positional argument
# takes the next word, whatever it looks like).
_HELP = frozenset({"--help", "-h"})


def _verified(stack: Handle, done: BackupResult) -> tuple[Path, ...]:
    """Verify the new backup; only once it passed, prune the old ones. A
    backup that failed is set aside (``<name>.failed``), never counted."""
    from slipway.data import backup

    cfg = stack.config
    check = backup.verify(stack, done)
    print(f"verify {'ok' if check.ok else 'FAILED'}: {check.detail}")
    if not check.ok:
        aside = backup.set_aside(done.path)
        raise CheckFailed(
            f"{cfg.show(done.path)} failed verification: {check.detail}; set aside as "
            f"{cfg.show(aside)} (not counted among the {cfg.backups.keep} kept, nothing pruned)"
        )
    return backup.prune(cfg, stack.env.name)


@task(
    help={
        "env": ENV,
        "verify": "restore the new backup into scratch and check integrity and row counts; "
        "old backups are pruned only if it passes",
    }
)
@edge
def backup(c: Context, env: str = "prod", verify: bool = False) -> None:
    """Write a consistent online backup of an environment's database."""
    from slipway import handle
    from slipway.data import backup

    cfg = load()
    stack = handle.of(cfg, env)
    done = backup.backup(stack, prune=not verify)
    print(f"wrote {cfg.show(done.path)}: {done.detail}")
    pruned = _verified(stack, done) if verify else done.pruned
    for old in pruned:
        print(f"removed {cfg.show(old)} (keeping the newest {cfg.backups.keep})")


_RESTORE_HELP = {"file": "the backup file to restore (backups/<env>-<time>.<kind>)", "env": ENV}


def _print_restore_help() -> None:
    """What `--help restore` prints (invoke's parse used up the task's help
    texts: they are given back to a copy)."""
    from invoke.collection import Collection
    from invoke.program import Program

    again = copy.copy(restore)
    again.help = dict(_RESTORE_HELP)
    binary = command("").split()[0]
    Program(namespace=Collection(again), binary=binary).run(
        [binary, "--help", "restore"], exit=False
    )


def _help_asked(file: str) -> bool:
    """Whether FILE was the help flag (then the help is printed); a FILE that
    looks like any other flag is a usage error."""
    if file in _HELP:
        _print_restore_help()
        return True
    if file.startswith("-"):
        raise UsageError(
            f"{file} is not a backup file: give the file first, "
            f"`{command('restore FILE [--env NAME]')}`"
        )
    return False


@task(help=dict(_RESTORE_HELP))
@edge
def restore(c: Context, file: str, env: str = "prod") -> None:
    """Restore a backup: stop the app, replace its data, start it healthy.

    First the file is checked (it exists, is readable, and is the kind of
    backup this environment's database takes), and the data it replaces is
    backed up to backups/before-restore/. Restoring replaces all the data;
    a PostgreSQL dump runs the SQL it holds.
    """
    if _help_asked(file):
        return
    from slipway import handle
    from slipway.data import backup, restore

    done = restore.restore(handle.of(load(), env, report=print), Path(file))
    print(f"{env} is restored from {file} ({backup.summary(done.tables)}) and healthy")
