"""The background worker, ``notes-service worker``: it counts the words of
each new note, which ``GET /notes/{id}`` then shows.

It runs as the release's ``worker`` role, a singleton (slipway.yaml). Its
container's entrypoint holds slipway's lease before this starts and passes
the fencing token as SLIPWAY_FENCING_TOKEN. Every write goes with the token:
the fence row keeps the highest token seen, and a write with a lower one is
refused, so a worker whose lease has passed to a newer one stops instead of
writing. Without a token (no lease: several may run) no fence is kept; the
word count is the same whoever writes it.

Idle, it waits on the queue (notes_service.queue) when REDIS_URL names
one, so a new note is taken at once, and otherwise looks again every
POLL_SECONDS; the database stays the record of what is left to do.

It proves it is alive by touching HEARTBEAT_FILE (set by slipway) from a
thread apart from the work, every HEARTBEAT_SECONDS, so a long job does not
look hung and a frozen process does. Each run of it is a row of
``worker_runs``: when it started, when it last worked, when it stopped.
SIGTERM stops it after the note in hand (which is then left for the next).

WORKER_JOB_SECONDS (default 0) makes every note take that long on top, to
try the heartbeat with long jobs.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import time
from pathlib import Path

import redis
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import SQLAlchemyError

from notes_service.db import create_db_engine
from notes_service.queue import Queue
from notes_service.settings import Settings

log = logging.getLogger("notes_service.worker")

POLL_SECONDS = 0.5
HEARTBEAT_SECONDS = 2.0
BATCH = 20
FENCE = "worker"


class FencedOut(Exception):
    """A worker with a newer token has written: this one's lease is gone."""


def beat(path: Path, stop: threading.Event) -> threading.Thread:
    """Touch ``path`` now and every HEARTBEAT_SECONDS until ``stop``, from a thread."""

    def run() -> None:
        while True:
            try:
                path.touch()
            except OSError as exc:
                log.warning("cannot touch the heartbeat file %s: %s", path, exc)
            if stop.wait(HEARTBEAT_SECONDS):
                return

    thread = threading.Thread(target=run, name="heartbeat", daemon=True)
    thread.start()
    return thread


def fence(conn: Connection, token: int | None) -> None:
    """Hold ``token`` against the fence in this transaction: FencedOut when a
    newer one has written. Nothing without a token."""
    if token is None:
        return
    moved = conn.execute(
        text("UPDATE worker_fence SET token = :t WHERE name = :n AND token <= :t"),
        {"t": token, "n": FENCE},
    ).rowcount
    if moved:
        return
    exists = conn.execute(text("SELECT token FROM worker_fence WHERE name = :n"), {"n": FENCE})
    newer = exists.scalar()
    if newer is not None:
        raise FencedOut(f"fenced out: token {token}, but token {newer} has written")
    conn.execute(
        text("INSERT INTO worker_fence (name, token) VALUES (:n, :t)"), {"n": FENCE, "t": token}
    )


def words(note_text: str, delay: float, stop: threading.Event) -> int | None:
    """The job: the note's word count (None when stopped in the middle)."""
    if delay and stop.wait(delay):
        return None
    return len(note_text.split())


def work_once(engine: Engine, run_id: int, token: int | None, stop: threading.Event) -> int:
    """Process the pending notes, each written under the fence; how many."""
    delay = float(os.environ.get("WORKER_JOB_SECONDS") or 0)
    with engine.connect() as conn:
        pending = conn.execute(
            text("SELECT id, text FROM notes WHERE word_count IS NULL ORDER BY id LIMIT :b"),
            {"b": BATCH},
        ).all()
    done = 0
    for note_id, note_text in pending:
        count = words(note_text, delay, stop)
        if count is None:
            break
        with engine.begin() as conn:
            fence(conn, token)
            conn.execute(
                text("UPDATE notes SET word_count = :c WHERE id = :i"), {"c": count, "i": note_id}
            )
            seen(conn, run_id)
        done += 1
    return done


def seen(conn: Connection, run_id: int) -> None:
    """Note in the run's record that it worked just now."""
    conn.execute(
        text("UPDATE worker_runs SET last_seen = :now WHERE id = :r"),
        {"now": time.time(), "r": run_id},
    )


def _start_run(engine: Engine, token: int | None) -> int:
    with engine.begin() as conn:
        fence(conn, token)
        now = time.time()
        return int(
            conn.execute(
                text(
                    "INSERT INTO worker_runs (token, host, started_at, last_seen) "
                    "VALUES (:t, :h, :now, :now) RETURNING id"
                ),
                {"t": token or 0, "h": socket.gethostname(), "now": now},
            ).scalar_one()
        )


def run(settings: Settings) -> int:
    """Work until SIGTERM; 0, or 1 when fenced out."""
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(levelname)s %(name)s: %(message)s"
    )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    raw_token = os.environ.get("SLIPWAY_FENCING_TOKEN")
    token = int(raw_token) if raw_token else None
    if heartbeat := os.environ.get("HEARTBEAT_FILE"):
        beat(Path(heartbeat), stop)
    engine = create_db_engine(settings.database_url)
    queue = Queue(settings.redis_url) if settings.redis_url else None
    try:
        run_id = _start_run(engine, token)
        log.info("worker started (run %s, fencing token %s)", run_id, token)
        if queue is not None:
            log.info("worker: idle, it waits on the queue")
        _loop(engine, run_id, token, stop, queue)
        with engine.begin() as conn:
            conn.execute(
                text("UPDATE worker_runs SET ended_at = :now WHERE id = :r"),
                {"now": time.time(), "r": run_id},
            )
        log.info("worker stopped (run %s)", run_id)
        return 0
    except FencedOut as exc:
        log.error("worker: %s", exc)
        return 1
    finally:
        engine.dispose()
        if queue is not None:
            queue.close()


def idle(queue: Queue | None, stop: threading.Event) -> None:
    """Wait for work: until the queue announces a note (at most
    POLL_SECONDS), or POLL_SECONDS without one (or with Redis away)."""
    if queue is not None:
        try:
            note_id = queue.wait(POLL_SECONDS)
        except redis.RedisError as exc:
            log.warning("worker: the queue is away (%s); looking in the database", exc)
        else:
            if note_id is not None:
                log.info("worker: woken by the queue for note %s", note_id)
            return
    stop.wait(POLL_SECONDS)


def _loop(
    engine: Engine, run_id: int, token: int | None, stop: threading.Event, queue: Queue | None
) -> None:
    """Work until ``stop``; while idle, say so in the run's record (under the
    fence) every HEARTBEAT_SECONDS, and wait for the queue (:func:`idle`). A
    database error (full, unreachable) is said and waited out: the heartbeat
    goes on, the work resumes."""
    last = 0.0
    while not stop.is_set():
        try:
            if work_once(engine, run_id, token, stop):
                last = time.monotonic()
                continue
            if time.monotonic() - last >= HEARTBEAT_SECONDS:
                with engine.begin() as conn:
                    fence(conn, token)
                    seen(conn, run_id)
                last = time.monotonic()
        except SQLAlchemyError as exc:
            log.warning("worker: the database refused (%s); trying again", type(exc).__name__)
        idle(queue, stop)
