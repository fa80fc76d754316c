"""notes_service.healthcheck: the container's health probe, and its watchdog."""

from __future__ import annotations

import signal
import socket
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

from notes_service import healthcheck


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    """The probe asks 127.0.0.1 directly; a developer's proxy settings stay out."""
    for name in ("http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)


def _serve(status: int) -> Iterator[int]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = b"{}"
            self.send_response(status if self.path == "/health" else 404)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture
def ok_port() -> Iterator[int]:
    yield from _serve(200)


@pytest.fixture
def unavailable_port() -> Iterator[int]:
    yield from _serve(503)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- healthy ------------------------------------------------------------------------


def test_healthy_when_health_answers_200(ok_port: int) -> None:
    assert healthcheck.healthy(ok_port) is True


def test_unhealthy_when_health_answers_503(unavailable_port: int) -> None:
    assert healthcheck.healthy(unavailable_port) is False


def test_unhealthy_when_nothing_listens() -> None:
    assert healthcheck.healthy(_closed_port()) is False


# --- main: the failure counter and the watchdog -------------------------------------


class _Probe:
    """healthy(), server_pids() and os.kill() stand-ins; records the kills."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, counter: Path) -> None:
        self.answers = True
        self.ports: list[int] = []
        self.killed: list[tuple[int, int]] = []
        monkeypatch.setattr(healthcheck, "COUNTER", counter)
        monkeypatch.setattr(healthcheck, "healthy", self._healthy)
        monkeypatch.setattr(healthcheck, "server_pids", lambda: [41, 42])
        monkeypatch.setattr(healthcheck.os, "kill", self._kill)
        monkeypatch.setenv("PORT", "8123")
        monkeypatch.delenv("HEALTH_WATCHDOG_FAILURES", raising=False)

    def _healthy(self, port: int, timeout: float = 2.0) -> bool:
        self.ports.append(port)
        return self.answers

    def _kill(self, pid: int, sig: int) -> None:
        self.killed.append((pid, sig))


@pytest.fixture
def probe(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> _Probe:
    return _Probe(monkeypatch, tmp_path / "failures")


def _run(times: int) -> list[int]:
    return [healthcheck.main() for _ in range(times)]


def test_healthy_probe_exits_0_and_resets_the_counter(probe: _Probe) -> None:
    healthcheck.COUNTER.write_text("2")

    assert healthcheck.main() == 0
    assert probe.ports == [8123]
    assert not healthcheck.COUNTER.exists()


def test_failures_are_counted_in_a_row(probe: _Probe, capsys: pytest.CaptureFixture[str]) -> None:
    probe.answers = False

    assert _run(2) == [1, 1]

    assert healthcheck.COUNTER.read_text() == "2"
    assert capsys.readouterr().out.splitlines() == [
        "/health did not answer 200 (1 in a row)",
        "/health did not answer 200 (2 in a row)",
    ]
    assert probe.killed == []


def test_a_success_between_failures_starts_the_count_again(probe: _Probe) -> None:
    probe.answers = False
    _run(2)
    probe.answers = True
    _run(1)
    probe.answers = False

    assert _run(2) == [1, 1]
    assert healthcheck.COUNTER.read_text() == "2"
    assert probe.killed == []


def test_watchdog_kills_the_server_at_the_limit(
    probe: _Probe, capsys: pytest.CaptureFixture[str]
) -> None:
    probe.answers = False

    assert _run(3) == [1, 1, 1]

    assert probe.killed == [(41, signal.SIGKILL), (42, signal.SIGKILL)]
    assert capsys.readouterr().out.splitlines()[-3:] == [
        "/health did not answer 200 (3 in a row)",
        "watchdog: killing hung server process 41",
        "watchdog: killing hung server process 42",
    ]
    assert not healthcheck.COUNTER.exists()  # the fresh container starts from zero


def test_watchdog_limit_comes_from_the_environment(
    probe: _Probe, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HEALTH_WATCHDOG_FAILURES", "5")
    probe.answers = False

    _run(4)
    assert probe.killed == []
    _run(1)
    assert [pid for pid, _sig in probe.killed] == [41, 42]


def test_watchdog_off_never_kills(probe: _Probe, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HEALTH_WATCHDOG_FAILURES", "0")
    probe.answers = False

    assert _run(10) == [1] * 10

    assert probe.killed == []
    assert healthcheck.COUNTER.read_text() == "10"


def test_unreadable_counter_starts_again_from_one(probe: _Probe) -> None:
    healthcheck.COUNTER.write_text("garbage")
    probe.answers = False

    healthcheck.main()

    assert healthcheck.COUNTER.read_text() == "1"


# --- server_pids, over a fake /proc -------------------------------------------------


@pytest.fixture
def fake_proc(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Callable[..., None]:
    proc = tmp_path / "proc"
    proc.mkdir()
    monkeypatch.setattr(healthcheck, "Path", lambda path: proc if path == "/proc" else Path(path))

    def add(name: str | int, cmdline: bytes | None) -> None:
        entry = proc / str(name)
        entry.mkdir()
        if cmdline is not None:
            (entry / "cmdline").write_bytes(cmdline)

    return add


def test_server_pids_are_the_servers_processes_only(
    fake_proc: Callable[..., None], monkeypatch: pytest.MonkeyPatch
) -> None:
    # In a container, pytest itself may be PID 1 or another low pid.
    monkeypatch.setattr(healthcheck.os, "getpid", lambda: 4242)
    server = b"/app/.venv/bin/python\x00/app/.venv/bin/notes-service\x00serve\x00"
    fake_proc(1, b"/sbin/docker-init\x00--\x00notes-service\x00serve\x00")  # the init
    fake_proc(4242, b"python\x00-m\x00notes_service.healthcheck\x00" + server)  # us
    fake_proc(7, server)
    fake_proc(8, b"python\x00-m\x00notes_service\x00serve\x00--port\x008000\x00")
    fake_proc(9, b"python\x00-m\x00notes_service.healthcheck\x00")
    fake_proc(10, None)  # gone before its cmdline was read
    fake_proc("self", server)

    assert sorted(healthcheck.server_pids()) == [7, 8]
