"""Backup files on the host: their names, which ones are kept, and what a
file must be before a restore may touch anything.

A backup is ``<env>-<UTC time>.<sqlite3|pgdump>`` in ``backups.dir``; the
newest ``backups.keep`` of each environment are kept. Anything else there
is never counted or pruned: a backup that failed verification is renamed
``<name>.failed``, and the copy a restore takes of the data it replaces
goes to ``before-restore/``.
"""

from __future__ import annotations

import enum
import re
import sqlite3
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

from slipway.errors import UsageError

_NAME = re.compile(r"^(?P<env>.+)-(?P<stamp>\d{8}T\d{6}\.\d{3}Z)\.(?P<kind>sqlite3|pgdump)$")
# Where a restore keeps the data it replaces, under backups.dir.
BEFORE_RESTORE = "before-restore"
# What a backup that failed verification is renamed with.
FAILED = ".failed"


class Kind(enum.StrEnum):
    """How an environment stores its data; the value is the backup's suffix."""

    SQLITE = "sqlite3"
    POSTGRES = "pgdump"


# How each kind of file starts: SQLite's header string, pg_dump's custom
# archive magic (pg_backup_archiver.c).
_MAGIC = {Kind.SQLITE: b"SQLite format 3\x00", Kind.POSTGRES: b"PGDMP"}
_WHAT = {Kind.SQLITE: "a SQLite database", Kind.POSTGRES: "a pg_dump custom-format archive"}


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


def prune(folder: Path, env_name: str, keep: int) -> tuple[Path, ...]:
    """Remove the backups of ``env_name`` in ``folder`` beyond the newest ``keep``."""
    if not folder.is_dir():
        return ()
    pruned = tuple(
        folder / name for name in to_prune((p.name for p in folder.iterdir()), env_name, keep)
    )
    for old in pruned:
        old.unlink()
    return pruned


def set_aside(path: Path) -> Path:
    """Rename a backup that failed verification to ``<name>.failed``: kept for
    a look, never counted among the backups kept, never pruned, never restored."""
    aside = path.with_name(path.name + FAILED)
    path.rename(aside)
    return aside


def kind_of(path: Path) -> Kind:
    """The kind of backup ``path`` is, checked before anything is touched: a
    readable file named ``.sqlite3`` or ``.pgdump`` that starts as that kind
    of file does (and, for SQLite, passes its integrity check). UsageError
    saying what is wrong otherwise."""
    if not path.exists():
        raise UsageError(f"{path}: no such backup file")
    if not path.is_file():
        raise UsageError(f"{path} is not a file: give a backup file (backups/<env>-<time>.<kind>)")
    kind = next((k for k in Kind if path.name.endswith(f".{k.value}")), None)
    if kind is None:
        raise UsageError(
            f"{path.name} is not a backup: slipway's are named <env>-<time>.sqlite3 or "
            ".pgdump (see backups/); nothing was touched"
        )
    try:
        with path.open("rb") as file:
            head = file.read(len(_MAGIC[kind]))
    except OSError as exc:
        raise UsageError(f"{path} cannot be read ({exc.strerror}); nothing was touched") from None
    if head != _MAGIC[kind]:
        raise UsageError(
            f"{path.name} is named like a .{kind.value} backup but is not {_WHAT[kind]} "
            "(its first bytes say otherwise): nothing was touched"
        )
    if kind is Kind.SQLITE and (why := _sqlite_damage(path)):
        raise UsageError(
            f"{path.name} is not an intact SQLite database ({why}): nothing was touched"
        )
    return kind


def _sqlite_damage(path: Path) -> str:
    """What SQLite's integrity check finds wrong with the file ("" when it is
    intact), opened read-only and immutable: the file is never written."""
    try:
        db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro&immutable=1", uri=True)
        try:
            found = [str(row[0]) for row in db.execute("PRAGMA integrity_check")]
        finally:
            db.close()
    except sqlite3.DatabaseError as exc:
        return str(exc)
    return "" if found == ["ok"] else "; ".join(found)[:200]
