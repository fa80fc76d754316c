"""The worker's queue, with Redis away: nothing fails for it. (Against a real
Redis: test_on_redis.py, in the test environment.)"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import replace

import pytest
from fastapi.testclient import TestClient

from notes_service import worker
from notes_service.app import create_app
from notes_service.queue import Queue
from notes_service.settings import Settings

# Nothing listens on port 1: Redis refuses at once.
AWAY = "redis://127.0.0.1:1/0"


def test_redis_url_is_read_and_optional() -> None:
    assert Settings.from_env({}).redis_url is None
    assert Settings.from_env({"REDIS_URL": " "}).redis_url is None
    assert Settings.from_env({"REDIS_URL": "redis://redis:6379/0"}).redis_url == (
        "redis://redis:6379/0"
    )


@pytest.fixture
def away_client(migrated_settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(replace(migrated_settings, redis_url=AWAY))) as client:
        yield client


def test_a_note_is_saved_when_the_queue_is_away_and_the_miss_is_logged(
    away_client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="notes_service.queue"):
        answer = away_client.post("/notes", json={"text": "kept anyway"})

    assert answer.status_code == 201, answer.text
    note = answer.json()
    assert away_client.get(f"/notes/{note['id']}").json()["text"] == "kept anyway"
    assert f"note {note['id']} not announced" in caplog.text


def test_an_idle_worker_with_the_queue_away_waits_and_says_so(
    caplog: pytest.LogCaptureFixture,
) -> None:
    queue = Queue(AWAY)
    began = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="notes_service.worker"):
        worker.idle(queue, threading.Event())
    queue.close()

    assert time.monotonic() - began >= worker.POLL_SECONDS
    assert "the queue is away" in caplog.text
