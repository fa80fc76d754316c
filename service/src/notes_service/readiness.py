"""Readiness: the database answers, its schema is at the packaged head, and
(for SQLite) its volume has room for writes."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from notes_service.migrate import head_revision, revision_of
from notes_service.storage import STORAGE_FULL, free_space_problem, full_disk_error


@dataclass(frozen=True, slots=True)
class Readiness:
    ready: bool
    revision: str | None = None
    reason: str | None = None


def _describe(exc: Exception) -> str:
    cause: BaseException = exc.orig if isinstance(exc, DBAPIError) and exc.orig else exc
    return " ".join(str(cause).split()) or type(cause).__name__


def check_readiness(engine: Engine, *, min_free_bytes: int = 0) -> Readiness:
    """Probe the database; never raises for database problems.

    A SQLite volume with less than ``min_free_bytes`` free is not ready
    (0: not checked); the check comes first, as the cause of what may follow.
    """
    full = free_space_problem(engine.url, min_free_bytes)
    if full is not None:
        return Readiness(ready=False, reason=full)
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
            current = revision_of(connection)
    except (SQLAlchemyError, OSError) as exc:
        if full_disk_error(exc) is not None:
            return Readiness(ready=False, reason=f"{STORAGE_FULL} ({_describe(exc)})")
        return Readiness(ready=False, reason=f"database unreachable: {_describe(exc)}")

    head = head_revision()
    if current is None:
        return Readiness(ready=False, reason="schema not migrated")
    if current != head:
        reason = f"schema at {current}, head is {head}"
        return Readiness(ready=False, revision=current, reason=reason)
    return Readiness(ready=True, revision=current)
