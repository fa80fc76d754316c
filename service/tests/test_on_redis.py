"""The worker's queue against a real Redis 8: a committed note is announced,
and an idle worker wakes for it at once. Run by `nox -s docker_tests` inside
the test environment (compose/test.yaml), which gives TEST_REDIS_URL;
deselected without it (conftest.py)."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import replace

import pytest
from fastapi.testclient import TestClient

from notes_service import worker
from notes_service.app import create_app
from notes_service.queue import KEY, Queue
from notes_service.settings import Settings


@pytest.fixture
def queue() -> Iterator[Queue]:
    made = Queue(os.environ["TEST_REDIS_URL"])
    made._redis.delete(KEY)
    yield made
    made._redis.delete(KEY)
    made.close()


def test_a_committed_note_is_announced_and_an_idle_worker_wakes_for_it(
    migrated_settings: Settings, queue: Queue, caplog: pytest.LogCaptureFixture
) -> None:
    settings = replace(migrated_settings, redis_url=os.environ["TEST_REDIS_URL"])
    with TestClient(create_app(settings)) as client:
        note = client.post("/notes", json={"text": "announced"}).json()

    began = time.monotonic()
    with caplog.at_level(logging.INFO, logger="notes_service.worker"):
        worker.idle(queue, threading.Event())
    # It returned for the note, not after waiting its whole POLL_SECONDS.
    assert time.monotonic() - began < worker.POLL_SECONDS
    assert f"woken by the queue for note {note['id']}" in caplog.text
    assert queue.wait(0.1) is None  # taken: the list is empty again


def test_wait_returns_none_when_nothing_is_announced(queue: Queue) -> None:
    began = time.monotonic()
    assert queue.wait(0.2) is None
    assert time.monotonic() - began >= 0.2
