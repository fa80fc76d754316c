"""Deploys that never leave users broken: health-gated rollout, automatic
rollback, self-healing, graceful stop, durable writes."""

from __future__ import annotations

import itertools
import json
import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml
from python_on_whales import Container, docker

from tests.docker.conftest import Project, git, http, make_project, remove_project

pytestmark = pytest.mark.docker

HEALTH = Path("service/src/notes_service/routes/health.py")
VERSIONS = Path("service/src/notes_service/migrations/versions")


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Project]:
    """A project of its own (these tests break releases on purpose), deployed."""
    copy = make_project(tmp_path_factory.mktemp("rollout"))
    settings = yaml.safe_load((copy.root / "slipway.yaml").read_text())
    # A short gate, so a broken release fails fast.
    settings["environments"]["prod"]["health_timeout"] = 40
    (copy.root / "slipway.yaml").write_text(yaml.safe_dump(settings, sort_keys=False))
    git(copy.root, "commit", "-qam", "short health gate")
    copy.ok("deploy")
    yield copy
    remove_project(copy)


def app(project: Project) -> Container:
    (container,) = docker.container.list(
        filters=[
            ("label", f"com.docker.compose.project={project.name}-prod"),
            ("label", "com.docker.compose.service=app"),
        ]
    )
    return container


def commit_change(project: Project, path: Path, text: str, message: str) -> None:
    (project.root / path).write_text(text)
    git(project.root, "add", "-A")
    git(project.root, "commit", "-qm", message)


def test_unhealthy_release_is_rolled_back_and_the_previous_one_serves(live: Project) -> None:
    _, note = http("POST", f"{live.url}/notes", {"text": "before the bad release"})
    good_image = app(live).config.image
    original = (live.root / HEALTH).read_text()
    broken = original.replace(
        'return JSONResponse({"status": "ok"})',
        'return JSONResponse({"status": "broken"}, status_code=503)',
    )
    commit_change(live, HEALTH, broken, "a release whose /health fails")
    try:
        result = live.invoke("deploy")
    finally:
        commit_change(live, HEALTH, original, "fix /health")

    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("slipway: app did not become healthy within 40s")
    assert last.endswith(f"rolled back to {good_image}, which is serving again")
    assert "app health probe exit 1: /health did not answer 200" in result.stderr
    assert "Traceback" not in result.stderr
    # The previous release answers on the same port, with its data.
    assert app(live).config.image == good_image
    assert http("GET", f"{live.url}/health") == (200, {"status": "ok"})
    assert http("GET", f"{live.url}/notes/{note['id']}") == (200, note)
    outcomes = live.ok("history")
    assert "failed" in outcomes
    assert "rolled back" in outcomes


def test_failing_migration_stops_the_deploy_and_the_previous_release_serves(
    live: Project,
) -> None:
    _, note = http("POST", f"{live.url}/notes", {"text": "before the bad migration"})
    good_image = app(live).config.image
    migration = VERSIONS / "0002_broken.py"
    commit_change(
        live,
        migration,
        (
            '"""A migration that fails."""\n\n'
            'revision = "0002"\ndown_revision = "0001"\n'
            "branch_labels = None\ndepends_on = None\n\n\n"
            "def upgrade() -> None:\n"
            '    raise RuntimeError("boom: migration 0002 cannot run")\n\n\n'
            "def downgrade() -> None:\n    pass\n"
        ),
        "a release with a failing migration",
    )
    try:
        result = live.invoke("deploy")
    finally:
        (live.root / migration).unlink()
        git(live.root, "commit", "-qam", "drop the failing migration")

    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("slipway: migrate exited with code 1")
    assert "boom: migration 0002 cannot run" in result.stderr
    assert last.endswith(f"rolled back to {good_image}, which is serving again")
    assert app(live).config.image == good_image
    assert http("GET", f"{live.url}/notes/{note['id']}") == (200, note)


def test_redeploy_under_loopback_load_and_rollback_on_demand(live: Project) -> None:
    first = app(live).config.image
    health = (live.root / HEALTH).read_text()
    commit_change(
        live, HEALTH, health.replace('{"status": "ok"}', '{"status": "ok", "v": 2}'), "version 2"
    )
    outcomes: list[tuple[float, bool]] = []
    stop = threading.Event()

    def load() -> None:
        while not stop.is_set() and len(outcomes) < 20_000:
            try:
                ok = http("GET", f"{live.url}/health")[0] == 200
            except OSError:
                ok = False
            outcomes.append((time.monotonic(), ok))
            time.sleep(0.01)

    worker = threading.Thread(target=load)
    worker.start()
    try:
        out = live.ok("deploy")
    finally:
        stop.set()
        worker.join()
    # A new release over a running stack: its data is backed up first.
    assert "backed up prod to backups/prod-" in out
    failed = [t for t, ok in outcomes if not ok]
    answered = [t for t, ok in outcomes if ok]
    # The longest time with no successful answer, between two that succeeded.
    gap = max((b - a for a, b in itertools.pairwise(answered)), default=0.0)
    print(  # noqa: T201 (the figures for the record)
        f"redeploy under load: {len(outcomes)} requests, {len(failed)} failed, "
        f"longest gap about {gap:.1f}s"
    )
    assert http("GET", f"{live.url}/health") == (200, {"status": "ok", "v": 2})

    out = live.ok("rollback")
    assert "on the previous release" in out
    assert app(live).config.image == first
    assert http("GET", f"{live.url}/health") == (200, {"status": "ok"})
    assert "rollback" in live.ok("history")


def server_pid(container: Container) -> int:
    """The uvicorn process (PID 1 is tini)."""
    out = docker.execute(
        container,
        [
            "python",
            "-c",
            ("from notes_service.healthcheck import server_pids; print(server_pids()[0])"),
        ],
    )
    return int(str(out).strip())


def wait_until_serving_again(
    project: Project, container_id: str, started_at: object, limit: float
) -> float:
    """Seconds until the container has started anew and /health answers 200."""
    start = time.monotonic()
    while time.monotonic() - start < limit:
        try:
            restarted = docker.container.inspect(container_id).state.started_at != started_at
            if restarted and http("GET", f"{project.url}/health")[0] == 200:
                return time.monotonic() - start
        except OSError:
            pass
        time.sleep(0.5)
    pytest.fail(f"not restarted and serving within {limit}s")


def signal_server_and_wait(project: Project, signal_name: str) -> tuple[Container, float]:
    """Send the server process a signal; seconds until a new start serves."""
    container = app(project)
    # Attribute access re-inspects: read the start time once, before the signal.
    started_at = container.state.started_at
    pid = server_pid(container)
    docker.execute(
        container, ["python", "-c", f"import os, signal; os.kill({pid}, signal.{signal_name})"]
    )
    return container, wait_until_serving_again(project, container.id, started_at, 60)


def test_crashed_server_is_restarted_by_the_restart_policy(live: Project) -> None:
    _, seconds = signal_server_and_wait(live, "SIGKILL")
    print(f"crash to serving again: {seconds:.1f}s")  # noqa: T201


def test_frozen_server_is_replaced_within_a_minute(live: Project) -> None:
    container, seconds = signal_server_and_wait(live, "SIGSTOP")
    print(f"freeze to serving again: {seconds:.1f}s")  # noqa: T201
    assert docker.container.inspect(container.id).restart_count >= 1


def test_acknowledged_writes_survive_kill_9(live: Project) -> None:
    acknowledged: list[int] = []
    killed = False
    for i in range(200):
        if i == 100:
            docker.container.kill(app(live), signal="KILL")
            killed = True
        try:
            status, body = http("POST", f"{live.url}/notes", {"text": f"write {i}"})
        except OSError:
            continue
        if status == 201:
            acknowledged.append(body["id"])
    assert killed
    assert len(acknowledged) >= 100
    live.ok("deploy")  # brings the killed container back, nothing rebuilt
    for note_id in acknowledged:
        assert http("GET", f"{live.url}/notes/{note_id}")[0] == 200, note_id
    check = live.ok(
        "exec",
        "--env",
        "prod",
        "--",
        "python",
        "-c",
        (
            "import sqlite3, os; db = sqlite3.connect('/app/data/notes.db');"
            "print(db.execute('PRAGMA integrity_check').fetchone()[0]);"
            "print(db.execute('PRAGMA journal_mode').fetchone()[0]);"
            "print(sorted(os.listdir('/app/data')))"
        ),
    )
    integrity, mode, files = check.strip().splitlines()
    assert integrity == "ok"
    assert mode == "wal"
    assert "notes.db-wal" in files
    assert "notes.db-shm" in files


def test_down_stops_the_app_with_sigterm_and_finishes_in_flight_requests(live: Project) -> None:
    container = app(live)
    # An in-flight request: headers and half the body sent before `down`,
    # the rest after the app got SIGTERM. Draining means it still gets its 201.
    body = json.dumps({"text": "in flight during shutdown"}).encode()
    client = socket.create_connection(("127.0.0.1", live.port), timeout=15)
    client.sendall(
        b"POST /notes HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
        + f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
        + body[:10]
    )
    time.sleep(0.5)
    since = datetime.now(UTC)
    stopping = threading.Thread(target=live.ok, args=("down",))
    stopping.start()
    time.sleep(1.0)  # compose has sent SIGTERM by now; the app is draining
    client.sendall(body[10:])
    answer = client.makefile("rb").read().decode()
    client.close()
    stopping.join()

    assert answer.startswith("HTTP/1.1 201"), answer
    events = list(
        docker.system.events(
            since=since,
            until=datetime.now(UTC),
            filters={"container": container.id, "event": "die"},
        )
    )
    assert events, "no die event"
    exit_code = events[-1].actor.attributes["exitCode"]
    # uvicorn drains, then re-raises the SIGTERM it caught: 143, never 137 (SIGKILL).
    assert exit_code in ("0", "143"), f"the app was killed (exit {exit_code}), not stopped"
    stopped_in = (events[-1].time - since).total_seconds()
    print(f"down: the app stopped {stopped_in:.1f}s after the command started")  # noqa: T201
    assert stopped_in < 10, "the stop grace period (10s) ran out: SIGKILL"

    live.ok("deploy")
    note = json.loads(answer.split("\r\n\r\n", 1)[1])
    assert http("GET", f"{live.url}/notes/{note['id']}")[0] == 200
