"""The background worker: it counts the words of new notes, under the fence."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from notes_service import worker
from notes_service.db import create_db_engine
from notes_service.settings import Settings


def test_a_posted_note_is_counted_and_shown_once_processed(
    client: TestClient, migrated_settings: Settings
) -> None:
    note = client.post("/notes", json={"text": "three little words"}).json()
    assert note["word_count"] is None
    engine = create_db_engine(migrated_settings.database_url)
    try:
        run = worker._start_run(engine, token=1)
        assert worker.work_once(engine, run, 1, threading.Event()) == 1
    finally:
        engine.dispose()
    assert client.get(f"/notes/{note['id']}").json()["word_count"] == 3


def test_a_worker_with_an_older_token_is_fenced_out(
    client: TestClient, migrated_settings: Settings
) -> None:
    engine = create_db_engine(migrated_settings.database_url)
    try:
        old = worker._start_run(engine, token=4)
        worker._start_run(engine, token=5)  # the lease passed on
        note = client.post("/notes", json={"text": "not for the old one"}).json()
        with pytest.raises(worker.FencedOut, match="token 4, but token 5 has written"):
            worker.work_once(engine, old, 4, threading.Event())
        with engine.connect() as conn:
            count = conn.execute(
                text("SELECT word_count FROM notes WHERE id = :i"), {"i": note["id"]}
            ).scalar()
        assert count is None
    finally:
        engine.dispose()


def test_the_heartbeat_is_touched_from_its_own_thread(tmp_path: Path) -> None:
    stop = threading.Event()
    beat = tmp_path / "heartbeat"
    thread = worker.beat(beat, stop)
    try:
        for _ in range(50):
            if beat.exists():
                break
            threading.Event().wait(0.02)
        assert beat.exists()
    finally:
        stop.set()
        thread.join(5)
    assert not thread.is_alive()
