"""A bounded loopback load: concurrent clients mixing GETs and POSTs, no retries.

Used by the rollout benchmark and by the engine tests that prove a release
switch fails no request. Every request is recorded (when it started, how
long it took, whether it succeeded); POSTs answered 201 are remembered so
the caller can read each one back afterwards.
"""

from __future__ import annotations

import http.client
import itertools
import json
import ssl
import statistics
import threading
import time
from dataclasses import dataclass, field
from types import TracebackType
from urllib.parse import urlsplit

# Bounds: the load stops by itself after this long or this many requests.
MAX_SECONDS = 300.0
MAX_REQUESTS = 200_000


@dataclass(frozen=True)
class Outcome:
    started: float  # time.monotonic()
    seconds: float
    method: str
    ok: bool
    detail: str  # status code, or the exception's name


@dataclass
class Traffic:
    """``with Traffic(url, clients=4) as load: ...`` runs the load around the block.

    Each client loops: GET /health, POST /notes, GET /notes/{id} of a note
    it wrote. ``min_seconds`` keeps the load going after the block ends
    until that much time has passed since it began.
    """

    url: str
    clients: int = 4
    min_seconds: float = 20.0
    pause: float = 0.01
    # Given, each client loops GETs of these paths instead (any HTTP service).
    gets: tuple[str, ...] = ()
    # For an https:// url: what verifies the proxy's certificate.
    context: ssl.SSLContext | None = None
    outcomes: list[Outcome] = field(default_factory=list)
    acknowledged: list[dict[str, object]] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _threads: list[threading.Thread] = field(default_factory=list)
    _began: float = 0.0

    def __enter__(self) -> Traffic:
        self._began = time.monotonic()
        self._threads = [
            threading.Thread(target=self._client, args=(n,), daemon=True)
            for n in range(self.clients)
        ]
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if kind is None:
            remaining = self.min_seconds - (time.monotonic() - self._began)
            if remaining > 0:
                self._stop.wait(remaining)
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=30)

    def _request(self, method: str, path: str, body: dict[str, object] | None) -> object:
        parts = urlsplit(self.url)
        started = time.monotonic()
        payload = None if body is None else json.dumps(body).encode()
        answer: object = None
        try:
            conn = (
                http.client.HTTPSConnection(
                    parts.hostname or "localhost", parts.port, timeout=10, context=self.context
                )
                if parts.scheme == "https"
                else http.client.HTTPConnection(
                    parts.hostname or "127.0.0.1", parts.port, timeout=10
                )
            )
            try:
                conn.request(
                    method, path, body=payload, headers={"Content-Type": "application/json"}
                )
                response = conn.getresponse()
                data = response.read()
            finally:
                conn.close()
            ok = response.status in (200, 201)
            detail = str(response.status)
            if ok and data:
                answer = json.loads(data)
        except (OSError, http.client.HTTPException, ValueError) as exc:
            ok, detail = False, type(exc).__name__
        with self._lock:
            self.outcomes.append(Outcome(started, time.monotonic() - started, method, ok, detail))
        return answer if ok else None

    def _client(self, number: int) -> None:
        deadline = time.monotonic() + MAX_SECONDS
        mine: list[int] = []
        for i in itertools.count():
            if self._stop.is_set() or time.monotonic() > deadline:
                return
            if len(self.outcomes) >= MAX_REQUESTS:
                return
            if self.gets:
                for path in self.gets:
                    self._request("GET", path, None)
                time.sleep(self.pause)
                continue
            self._request("GET", "/health", None)
            note = self._request("POST", "/notes", {"text": f"client {number} note {i}"})
            if isinstance(note, dict):
                with self._lock:
                    self.acknowledged.append(note)
                mine.append(int(note["id"]))
            if mine:
                self._request("GET", f"/notes/{mine[i % len(mine)]}", None)
            time.sleep(self.pause)

    # --- figures -------------------------------------------------------------

    @property
    def failed(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.ok]

    def longest_gap(self) -> float:
        """The longest time between two successful answers (by completion)."""
        done = sorted(o.started + o.seconds for o in self.outcomes if o.ok)
        return max((b - a for a, b in itertools.pairwise(done)), default=0.0)

    def latency_ms(self, start: float, end: float) -> tuple[float, float]:
        """p50 and p99 latency, in ms, of the requests started in [start, end)."""
        samples = [o.seconds * 1000 for o in self.outcomes if start <= o.started < end and o.ok]
        if len(samples) < 2:
            return (samples[0], samples[0]) if samples else (0.0, 0.0)
        cuts = statistics.quantiles(samples, n=100, method="inclusive")
        return cuts[49], cuts[98]

    def summary(self) -> str:
        kinds: dict[str, int] = {}
        for o in self.failed:
            kinds[f"{o.method} {o.detail}"] = kinds.get(f"{o.method} {o.detail}", 0) + 1
        return (
            f"{len(self.outcomes)} requests, {len(self.failed)} failed {kinds or ''}, "
            f"{len(self.acknowledged)} notes acknowledged, longest gap {self.longest_gap():.2f}s"
        )
