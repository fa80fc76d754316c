"""A full data volume: POST /notes answers 507, /ready 503, nothing acknowledged is lost."""

from __future__ import annotations

import errno
import logging
import shutil
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import psycopg.errors
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError, OperationalError

from notes_service.app import create_app
from notes_service.settings import Settings
from notes_service.storage import STORAGE_FULL, free_space_problem, full_disk_error

# Long enough to need pages of its own (overflow pages): the file must grow.
BIG_NOTE = {"text": "x" * 10_000}


@dataclass(eq=False)  # SQLAlchemy's event registry hashes its listeners
class PageLimit:
    """SQLite's own limit on the database's size (PRAGMA max_page_count), set
    on every connection the app checks out: at the current size, any write
    that needs a new page fails with a real SQLITE_FULL."""

    pages: int | None = None

    def __call__(self, dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        if self.pages is not None:
            dbapi_connection.execute(f"PRAGMA max_page_count = {self.pages}")
        else:
            dbapi_connection.execute("PRAGMA max_page_count = 4294967294")


@pytest.fixture
def page_limit(client: TestClient) -> Iterator[PageLimit]:
    engine: Engine = client.app.state.engine  # type: ignore[attr-defined]
    limit = PageLimit()
    event.listen(engine, "checkout", limit)
    yield limit
    event.remove(engine, "checkout", limit)


def fill(db_path: Path, limit: PageLimit) -> None:
    with sqlite3.connect(db_path) as connection:
        (limit.pages,) = connection.execute("PRAGMA page_count").fetchone()
    connection.close()


def test_post_on_a_full_database_is_507_with_a_json_reason(
    client: TestClient,
    page_limit: PageLimit,
    db_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    fill(db_path, page_limit)
    with caplog.at_level(logging.WARNING):
        response = client.post("/notes", json=BIG_NOTE)
    assert response.status_code == 507
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"detail": STORAGE_FULL}
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1
    assert warnings[0].getMessage() == "POST /notes answered 507: database or disk is full"
    assert warnings[0].exc_info is None  # no traceback


def test_nothing_acknowledged_is_lost_and_nothing_refused_is_stored(
    client: TestClient, page_limit: PageLimit, db_path: Path
) -> None:
    acknowledged = [client.post("/notes", json=BIG_NOTE).json() for _ in range(3)]
    fill(db_path, page_limit)
    assert [client.post("/notes", json=BIG_NOTE).status_code for _ in range(3)] == [507] * 3
    for note in acknowledged:
        assert client.get(f"/notes/{note['id']}").json() == note

    page_limit.pages = None  # space is back
    created = client.post("/notes", json=BIG_NOTE)
    assert created.status_code == 201
    listed = client.get("/notes").json()
    assert listed == [*acknowledged, created.json()]


def test_other_database_errors_stay_500(settings: Settings) -> None:
    app = create_app(settings)  # never migrated: "no such table: notes"
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.post("/notes", json={"text": "no table"})
    assert response.status_code == 500


@pytest.fixture
def free_bytes(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """What the data volume reports as free: set ``free_bytes[0]``; None is the truth."""
    real = shutil.disk_usage
    free: list[int] = []

    def disk_usage(path: str | Path) -> Any:
        usage = real(path)
        return usage._replace(free=free[0]) if free else usage

    monkeypatch.setattr(shutil, "disk_usage", disk_usage)
    return free


def test_ready_is_503_naming_the_cause_until_space_is_back(
    client: TestClient, free_bytes: list[int], db_path: Path
) -> None:
    assert client.get("/ready").status_code == 200
    free_bytes.append(4096)
    response = client.get("/ready")
    assert response.status_code == 503
    assert response.json() == {
        "status": "not ready",
        "reason": f"storage full: 4096 bytes free in {db_path.parent}, fewer than 1048576; "
        "free space on the data volume",
    }
    free_bytes[0] = 2 * 1024 * 1024
    assert client.get("/ready").status_code == 200


def test_the_free_space_threshold_is_a_setting(
    migrated_settings: Settings, free_bytes: list[int]
) -> None:
    free_bytes.append(4096)
    for threshold, expected in ((4096, 200), (4097, 503), (0, 200)):
        settings = replace(migrated_settings, min_free_bytes=threshold)
        with TestClient(create_app(settings)) as client:
            assert client.get("/ready").status_code == expected, threshold


def test_a_database_servers_disk_is_not_measured(free_bytes: list[int]) -> None:
    free_bytes.append(0)
    url = make_url("postgresql+psycopg://notes:pw@db:5432/notes")
    assert free_space_problem(url, 1024 * 1024) is None
    assert free_space_problem(make_url("sqlite://"), 1024 * 1024) is None  # in memory


def wrapped(orig: BaseException) -> OperationalError:
    return OperationalError("INSERT INTO notes ...", {}, orig)


def sqlite_full() -> sqlite3.Error:
    """A real SQLITE_FULL, from a database allowed one page."""
    connection = sqlite3.connect(":memory:")
    try:
        connection.execute("PRAGMA max_page_count = 1")
        connection.execute("CREATE TABLE t (x)")
    except sqlite3.Error as exc:
        return exc
    finally:
        connection.close()
    raise AssertionError("SQLite wrote past max_page_count")


@pytest.mark.parametrize(
    "error",
    [
        wrapped(sqlite_full()),
        OSError(errno.ENOSPC, "No space left on device"),
        wrapped(psycopg.errors.DiskFull("could not extend file")),
    ],
    ids=["sqlite-full", "enospc", "postgres-53100"],
)
def test_disk_full_errors_are_recognised(error: BaseException) -> None:
    assert full_disk_error(error) is not None


@pytest.mark.parametrize(
    "error",
    [
        wrapped(sqlite3.OperationalError("database is locked")),
        IntegrityError("INSERT", {}, sqlite3.IntegrityError("UNIQUE constraint failed")),
        OSError(errno.EACCES, "Permission denied"),
        wrapped(psycopg.errors.UndefinedTable("relation does not exist")),
    ],
    ids=["sqlite-locked", "integrity", "eacces", "postgres-other"],
)
def test_other_errors_are_not_taken_for_a_full_disk(error: BaseException) -> None:
    assert full_disk_error(error) is None
