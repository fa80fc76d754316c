"""The health probe and watchdog slipway ships (templates/docker/healthcheck.py)."""

from __future__ import annotations

import signal
import socket
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

from tests.unit.conftest import load_template

healthcheck = load_template("healthcheck")


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    """The probe asks 127.0.0.1 directly; a developer's proxy settings stay out."""
    for name in ("http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)


def _serve(status: int) -> Iterator[int]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = b"{}"
            # A redirect points at a page that answers 200.
            self.send_response(status if self.path == "/health" else 200)
            if self.path == "/health" and 300 <= status < 400:
                self.send_header("Location", "/elsewhere")
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
    assert healthcheck.answer(unavailable_port) == 503


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_a_redirect_is_not_healthy_even_to_a_page_that_answers_200(status: int) -> None:
    # The proxy's check expects 200 from the health path itself and follows
    # nothing: the probe must agree, or deploy passes a release the proxy marks down.
    for port in _serve(status):
        assert healthcheck.healthy(port) is False


def test_unhealthy_when_nothing_listens() -> None:
    assert healthcheck.healthy(_closed_port()) is False
    assert healthcheck.answer(_closed_port()) is None


# --- main: the failure counter and the watchdog -------------------------------------


class _Probe:
    """answer(), server_pids() and os.kill() stand-ins; records the kills."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, counter: Path) -> None:
        self.answers = True
        self.ports: list[int] = []
        self.paths: list[str] = []
        self.killed: list[tuple[int, int]] = []
        monkeypatch.setattr(healthcheck, "COUNTER", counter)
        monkeypatch.setattr(healthcheck, "SERVED", counter.with_name("served"))
        self.start = "1001"  # when the container's PID 1 started
        monkeypatch.setattr(healthcheck, "container_start", lambda: self.start)
        self.age: float | None = 5.0  # seconds since the container started
        monkeypatch.setattr(healthcheck, "container_age", lambda: self.age)
        monkeypatch.delenv("HEALTH_START_GRACE", raising=False)
        monkeypatch.setattr(healthcheck, "answer", self._answer)
        monkeypatch.setattr(healthcheck, "server_pids", lambda: [41, 42])
        monkeypatch.setattr(healthcheck.os, "kill", self._kill)
        monkeypatch.setenv("PORT", "8123")
        monkeypatch.delenv("HEALTH_WATCHDOG_FAILURES", raising=False)

    def _answer(self, port: int, path: str = "/health", _timeout: float = 2.0) -> int | None:
        """200 when it answers, else no answer at all (a hung or refusing server)."""
        self.ports.append(port)
        self.paths.append(path)
        return 200 if self.answers else None

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
    assert probe.paths == ["/health"]
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


def _served_then_hangs(probe: _Probe) -> None:
    probe.answers = True
    _run(1)
    probe.answers = False


def test_watchdog_kills_the_server_at_the_limit(
    probe: _Probe, capsys: pytest.CaptureFixture[str]
) -> None:
    _served_then_hangs(probe)

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
    _served_then_hangs(probe)

    _run(4)
    assert probe.killed == []
    _run(1)
    assert [pid for pid, _sig in probe.killed] == [41, 42]


def test_a_server_that_never_answered_is_never_killed(
    probe: _Probe, capsys: pytest.CaptureFixture[str]
) -> None:
    # Still starting (slowly), or a release that never gets healthy.
    probe.answers = False

    assert _run(10) == [1] * 10

    assert probe.killed == []
    assert capsys.readouterr().out.splitlines()[-1] == "/health did not answer 200 (10 in a row)"


def test_a_server_that_never_answered_within_the_start_grace_is_killed(
    probe: _Probe, monkeypatch: pytest.MonkeyPatch
) -> None:
    probe.answers = False
    probe.age = 299.0
    _run(5)
    assert probe.killed == []

    probe.age = 301.0  # hung while starting: past the default grace of 300 s
    _run(3)
    assert [pid for pid, _sig in probe.killed] == [41, 42]

    monkeypatch.setenv("HEALTH_START_GRACE", "600")
    probe.killed.clear()
    _run(3)
    assert probe.killed == []


def test_after_a_restart_the_server_must_answer_again_before_the_watchdog_acts(
    probe: _Probe,
) -> None:
    _served_then_hangs(probe)
    _run(3)
    assert len(probe.killed) == 2
    probe.start = "2002"  # the restart policy started the container again

    _run(5)  # its /tmp kept the note of the last start: not this one's

    assert len(probe.killed) == 2


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

    def add(name: str | int, comm: str, parent: int | None) -> None:
        entry = proc / str(name)
        entry.mkdir()
        if parent is not None:
            (entry / "stat").write_text(f"{name} ({comm}) S {parent} {name} {name} 0 -1\n")

    return add


def test_the_server_is_what_the_init_started_and_never_the_probe(
    fake_proc: Callable[..., None], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(healthcheck.os, "getpid", lambda: 4242)
    fake_proc(1, "docker-init", 0)  # the init
    fake_proc(4242, "python", 0)  # us: the runtime started the probe
    fake_proc(7, "gunicorn: master", 1)  # a command name with spaces and a colon
    fake_proc(8, "uvicorn (worker)", 1)  # and with a parenthesis
    fake_proc(9, "gunicorn: worker", 7)  # the server's own children die with it
    fake_proc(10, "python", None)  # gone before its stat was read
    fake_proc("self", "python", 0)

    assert sorted(healthcheck.server_pids()) == [7, 8]


def test_port_and_path_come_from_the_environment(
    probe: _Probe, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HEALTH_PORT", "9000")
    monkeypatch.setenv("HEALTH_PATH", "/healthz/")
    assert healthcheck.main() == 0
    assert (probe.ports, probe.paths) == ([9000], ["/healthz/"])


@pytest.mark.usefixtures("probe")
def test_the_status_of_a_wrong_answer_is_said(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(healthcheck, "answer", lambda _port, _path: 404)

    assert healthcheck.main() == 1

    assert capsys.readouterr().out == "/health did not answer 200 (1 in a row): it answered 404\n"
