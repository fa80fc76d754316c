from __future__ import annotations

import sqlite3
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import text

from notes_service.db import create_db_engine
from notes_service.migrate import current_revision, head_revision
from notes_service.settings import Settings


def test_sqlite_file_is_in_wal_mode(client: TestClient, db_path: Path) -> None:
    client.post("/notes", json={"text": "durable"})
    with sqlite3.connect(db_path) as connection:
        (mode,) = connection.execute("PRAGMA journal_mode").fetchone()
    connection.close()
    assert mode == "wal"


def test_connections_get_durability_pragmas(migrated_settings: Settings, db_path: Path) -> None:
    engine = create_db_engine(f"sqlite:///{db_path}")
    try:
        with engine.connect() as connection:
            pragmas = {
                name: connection.execute(text(f"PRAGMA {name}")).scalar()
                for name in ("synchronous", "foreign_keys", "busy_timeout")
            }
        assert pragmas == {"synchronous": 2, "foreign_keys": 1, "busy_timeout": 5000}  # 2 = FULL
        assert current_revision(engine) == head_revision()
    finally:
        engine.dispose()
