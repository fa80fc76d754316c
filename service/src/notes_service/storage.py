"""A full data volume: recognising it in errors, and measuring free space."""

from __future__ import annotations

import errno
import shutil
import sqlite3

from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError

from notes_service.db import sqlite_file

# What a client is told when a write failed for want of space (HTTP 507).
STORAGE_FULL = "storage full: the database could not be written; free space on the data volume"
# PostgreSQL's SQLSTATE disk_full (class 53, insufficient resources).
PG_DISK_FULL = "53100"
# Errors that mean "no room": the device is full, or the user's quota is.
_NO_SPACE = frozenset({errno.ENOSPC, errno.EDQUOT})
# How deep to follow wrapped errors (DBAPIError.orig, __cause__) before giving up.
_MAX_DEPTH = 5


class StorageFull(Exception):
    """A write failed because the disk behind the database is full.

    The message is the underlying error's, fit for one log line.
    """


def _says_full(exc: BaseException) -> bool:
    if isinstance(exc, sqlite3.Error):
        # Set by SQLite itself (absent on errors raised by hand); the low
        # byte of an extended result code is its primary code.
        code = getattr(exc, "sqlite_errorcode", None)
        return isinstance(code, int) and code & 0xFF == sqlite3.SQLITE_FULL
    if isinstance(exc, OSError):
        return exc.errno in _NO_SPACE
    # psycopg's errors carry their SQLSTATE; no import needed to read it.
    return getattr(exc, "sqlstate", None) == PG_DISK_FULL


def full_disk_error(exc: BaseException) -> BaseException | None:
    """The error in ``exc``'s chain that says the disk is full, or None.

    Follows SQLAlchemy's wrapping (``.orig``) and explicit ``raise ... from``.
    """
    current: BaseException | None = exc
    for _ in range(_MAX_DEPTH):
        if current is None:
            return None
        if _says_full(current):
            return current
        wrapped = current.orig if isinstance(current, DBAPIError) else None
        current = wrapped if isinstance(wrapped, BaseException) else current.__cause__
    return None


def free_space_problem(url: URL, min_free_bytes: int) -> str | None:
    """Why the SQLite database's volume is too full for writes, or None.

    Only a SQLite file's directory is measured: a database server's disk
    (PostgreSQL) is not ours to see; its disk_full errors answer 507 instead.
    A missing directory is no answer either way: the database probe says why.
    """
    path = sqlite_file(url)
    if path is None or min_free_bytes <= 0:
        return None
    try:
        free = shutil.disk_usage(path.parent).free
    except OSError:
        return None
    if free >= min_free_bytes:
        return None
    return (
        f"storage full: {free} bytes free in {path.parent}, fewer than {min_free_bytes}; "
        "free space on the data volume"
    )
