"""Engine and session factories (SQLAlchemy 2)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import Session, sessionmaker

log = logging.getLogger(__name__)

SQLITE_BUSY_TIMEOUT_MS = 5000


def sqlite_file(url: URL) -> Path | None:
    """The on-disk path of a SQLite URL; None for in-memory / URI databases
    and for other databases (a server's files are not ours)."""
    database = url.database
    if url.get_backend_name() != "sqlite" or not database:
        return None
    if database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)


def _ensure_parent_dir(path: Path) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        # Not fatal here: liveness must still work; connecting will fail and
        # /ready will report the database as unreachable.
        log.warning("cannot create database directory %s: %s", path.parent, exc)


def _set_sqlite_pragmas(dbapi_connection: Any, _connection_record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        # WAL lets readers proceed while a writer commits; the mode is persistent
        # in the file, but setting it on every connection is cheap and idempotent.
        cursor.execute("PRAGMA journal_mode=WAL")
        # FULL rather than NORMAL: in WAL mode NORMAL may lose the last commits
        # on power loss / OS crash. We answer 201 only after COMMIT, so the WAL
        # must be fsynced at every commit for an acknowledged note to survive.
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    finally:
        cursor.close()


def create_db_engine(database_url: str) -> Engine:
    """Create an engine; SQLite gets its directory created and safe pragmas."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True)

    path = sqlite_file(url)
    if path is not None:
        _ensure_parent_dir(path)
    engine = create_engine(
        url,
        # Sync endpoints run in a thread pool: connections move between threads.
        connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
    )
    event.listen(engine, "connect", _set_sqlite_pragmas)
    return engine


def create_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions whose objects stay readable after commit (for building responses)."""
    return sessionmaker(bind=engine, expire_on_commit=False)


def redact_url(database_url: str) -> str:
    """The URL with any password masked, safe to print or log."""
    return make_url(database_url).render_as_string(hide_password=True)
