"""slipway's health probe as the watchdog, in a real container under an init:
a server that has never answered is left to start until its grace is over,
then killed (the one case the frozen-server test in test_rollout.py, of a
server that had served, does not cover)."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import pytest
from python_on_whales import Container, docker
from python_on_whales.exceptions import DockerException

pytestmark = pytest.mark.docker

PROBE = Path(__file__).resolve().parents[2] / "src/slipway/templates/docker/healthcheck.py"
IMAGE = "python:3.13-slim-trixie"
GRACE = 4


def probe(container: Container, into: str = "") -> str:
    """One run of the probe, as Docker's HEALTHCHECK runs it; its output and
    exit code (also written to the file ``into`` in the container, if given).
    When it kills the server the container ends with it, and so does this
    exec: its output is then the error's."""
    script = "python /probe.py; echo exit=$?"
    if into:
        script = f"(python /probe.py; echo exit=$?) > {into} 2>&1"
    try:
        return str(docker.execute(container, ["sh", "-c", script])).strip()
    except DockerException as exc:
        return str(exc.stdout or "").strip()


def test_a_server_that_never_answers_is_killed_only_after_the_start_grace(tmp_path: Path) -> None:
    # The "server" listens nowhere: PORT 1 refuses, as a server still starting does.
    container = docker.run(
        IMAGE,
        ["sleep", "300"],
        name=f"slipway-test-watchdog-{uuid.uuid4().hex[:6]}",
        detach=True,
        init=True,
        volumes=[(PROBE, "/probe.py", "ro"), (tmp_path, "/out")],
        envs={"PORT": "1", "HEALTH_WATCHDOG_FAILURES": "1", "HEALTH_START_GRACE": str(GRACE)},
        pull="never",
    )
    try:
        early = probe(container)
        assert early.splitlines() == ["/health did not answer 200 (1 in a row)", "exit=1"]
        assert docker.container.inspect(container.id).state.running

        time.sleep(GRACE + 1)
        # Into a file here: the exec's own stream can end with the container
        # before it delivers what the probe wrote.
        probe(container, "/out/late")
        deadline = time.monotonic() + 10
        while docker.container.inspect(container.id).state.running:
            assert time.monotonic() < deadline, "the container outlived its killed server"
            time.sleep(0.2)
        late = (tmp_path / "late").read_text()
        assert "watchdog: killing hung server process" in late, late
        # tini reports its child's SIGKILL: 128 + 9.
        assert docker.container.inspect(container.id).state.exit_code == 137
    finally:
        docker.container.remove(container, force=True)


REDIRECTING = """\
from http.server import BaseHTTPRequestHandler, HTTPServer


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        moved = self.path == "/health"
        self.send_response(302 if moved else 200)
        if moved:
            self.send_header("Location", "/login")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")


HTTPServer(("127.0.0.1", 8000), Handler).serve_forever()
"""


def test_a_health_path_that_redirects_is_unhealthy_as_the_proxy_sees_it() -> None:
    # /health answers 302 to a page that answers 200. HAProxy's check expects
    # 200 and follows nothing, so the probe (Docker's health, deploy's gate)
    # must call it unhealthy too.
    container = docker.run(
        IMAGE,
        ["python", "-c", REDIRECTING],
        name=f"slipway-test-redirect-{uuid.uuid4().hex[:6]}",
        detach=True,
        init=True,
        volumes=[(PROBE, "/probe.py", "ro")],
        envs={"PORT": "8000", "HEALTH_WATCHDOG_FAILURES": "0"},
        pull="never",
    )
    try:
        ask = "import urllib.request as u; print(u.urlopen('http://127.0.0.1:8000/login').status)"
        deadline = time.monotonic() + 20
        while True:
            try:
                answer = str(docker.execute(container, ["python", "-c", ask])).strip()
                break
            except DockerException:
                assert time.monotonic() < deadline, "the redirecting server never listened"
                time.sleep(0.2)
        assert answer == "200"
        verdict = probe(container).splitlines()
        # The redirect is an answer, and the probe says which (not followed).
        assert verdict == ["/health did not answer 200 (1 in a row): it answered 302", "exit=1"]
    finally:
        docker.container.remove(container, force=True)
