"""The worker's queue: Redis, when REDIS_URL names one (prod-pg).

A new note's id is pushed once the note is committed, and the worker,
idle, blocks on the queue instead of sleeping, so it starts on a note as
soon as it is written. The database stays the record of what is left to
do: the worker processes whatever has no word count yet, so a push lost
(Redis restarting, the app dying between its commit and the push) only
delays a note until the worker's next look. Neither side fails for Redis:
they say so in a log line and go on without it.
"""

from __future__ import annotations

import logging

import redis

log = logging.getLogger("notes_service.queue")

KEY = "notes:new"
# A Redis that does not answer in this long is treated as away.
TIMEOUT_SECONDS = 2.0


class Queue:
    """New notes' ids on a Redis list (pushed left, popped right)."""

    def __init__(self, url: str) -> None:
        self._redis = redis.Redis.from_url(
            url, socket_connect_timeout=TIMEOUT_SECONDS, socket_timeout=TIMEOUT_SECONDS + 5
        )

    def announce(self, note_id: int) -> bool:
        """Push a committed note's id; False (logged) when Redis is away."""
        try:
            self._redis.lpush(KEY, note_id)
        except redis.RedisError as exc:
            log.warning("queue: note %s not announced (%s); the worker finds it", note_id, exc)
            return False
        return True

    def wait(self, seconds: float) -> int | None:
        """The next announced note's id, waiting up to ``seconds``; None when
        none came. RedisError when Redis is away."""
        popped = self._redis.brpop([KEY], timeout=seconds)
        return None if popped is None else int(popped[1])

    def close(self) -> None:
        self._redis.close()
