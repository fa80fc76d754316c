"""Readiness: the database answers and its schema is at the packaged head."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from notes_service.migrate import head_revision, revision_of


@dataclass(frozen=True, slots=True)
class Readiness:
    ready: bool
    revision: str | None = None
    reason: str | None = None


def _describe(exc: Exception) -> str:
    cause: BaseException = exc.orig if isinstance(exc, DBAPIError) and exc.orig else exc
    return " ".join(str(cause).split()) or type(cause).__name__


def check_readiness(engine: Engine) -> Readiness:
    """Probe the database; never raises for database problems."""
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
            current = revision_of(connection)
    except (SQLAlchemyError, OSError) as exc:
        return Readiness(ready=False, reason=f"database unreachable: {_describe(exc)}")

    head = head_revision()
    if current is None:
        return Readiness(ready=False, reason="schema not migrated")
    if current != head:
        reason = f"schema at {current}, head is {head}"
        return Readiness(ready=False, revision=current, reason=reason)
    return Readiness(ready=True, revision=current)
