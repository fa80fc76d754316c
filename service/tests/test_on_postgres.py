"""The service against a real PostgreSQL 17: the migrations, the API, and the
worker's fence under the database's own locking. Run by `nox -s docker_tests`
inside the test environment (compose/test.yaml), which gives TEST_DATABASE_URL;
deselected without it (conftest.py)."""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from notes_service import worker
from notes_service.app import create_app
from notes_service.db import create_db_engine
from notes_service.migrate import current_revision, upgrade
from notes_service.settings import Settings


@pytest.fixture(scope="module")
def database_url() -> str:
    url = os.environ["TEST_DATABASE_URL"]
    upgrade(url)
    return url


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    made = create_db_engine(database_url)
    yield made
    made.dispose()


@pytest.fixture
def client(database_url: str) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(database_url=database_url))) as test_client:
        yield test_client


def test_the_migrations_reach_head_on_postgresql(engine: Engine) -> None:
    assert engine.dialect.name == "postgresql"
    assert current_revision(engine) == "0002"


def test_a_note_is_stored_read_back_and_counted_on_postgresql(
    client: TestClient, engine: Engine
) -> None:
    text_ = f"four words on postgres {uuid.uuid4().hex}"
    created = client.post("/notes", json={"text": text_})
    assert created.status_code == 201
    note = created.json()
    assert client.get(f"/notes/{note['id']}").json() == note
    run = worker._start_run(engine, token=None)
    while worker.work_once(engine, run, None, threading.Event()):
        pass
    assert client.get(f"/notes/{note['id']}").json()["word_count"] == 5


def test_the_fence_refuses_an_older_token_on_postgresql(engine: Engine) -> None:
    with engine.begin() as conn:
        newest = conn.execute(text("SELECT max(token) FROM worker_fence")).scalar() or 0
    old = worker._start_run(engine, token=newest + 1)
    worker._start_run(engine, token=newest + 2)
    with pytest.raises(worker.FencedOut), engine.begin() as conn:
        worker.fence(conn, newest + 1)
    assert old > 0
