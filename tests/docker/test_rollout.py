"""Deploys that never leave users broken: health-gated rollout, automatic
rollback, self-healing, graceful stop, durable writes."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml
from python_on_whales import Container, DockerException, docker

from bench.traffic import Traffic
from slipway.config import load as load_config
from slipway.engine import client
from slipway.history import releases
from slipway.proxy import container, reload
from tests.docker.conftest import (
    HEALTH,
    Project,
    app_containers,
    assert_no_request_failed,
    commit_change,
    free_port,
    git,
    http,
    make_project,
    remove_project,
    same_note,
    unhealthy_release,
)

pytestmark = pytest.mark.docker

VERSIONS = Path("service/src/notes_service/migrations/versions")


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Project]:
    """A project of its own (these tests break releases on purpose), deployed
    with two replicas behind the proxy."""
    copy = make_project(tmp_path_factory.mktemp("rollout"))
    settings = yaml.safe_load((copy.root / "slipway.yaml").read_text())
    # A short gate, so a broken release fails fast (a good one is healthy
    # in under 10 s here, under load too).
    settings["environments"]["prod"]["health_timeout"] = 25
    settings["environments"]["prod"]["replicas"] = 2
    (copy.root / "slipway.yaml").write_text(yaml.safe_dump(settings, sort_keys=False))
    git(copy.root, "commit", "-qam", "short health gate")
    copy.ok("deploy")
    yield copy
    remove_project(copy)


def app(project: Project) -> Container:
    """The first of the environment's app containers."""
    return app_containers(project)[0]


def test_unhealthy_release_never_takes_traffic_and_the_old_one_serves_throughout(
    live: Project,
) -> None:
    _, note = http("POST", f"{live.url}/notes", {"text": "before the bad release"})
    before = [(c.id, c.config.image) for c in app_containers(live)]
    # Every GET /health that reached the new release would answer 503
    # and count as failed: 0 failed means no request reached it.
    with unhealthy_release(live), Traffic(live.url) as load:
        result = live.invoke("deploy")

    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("slipway: app did not become healthy within 25s")
    good_image = before[0][1]
    assert last.endswith(f"{good_image} kept serving and no request reached the new release")
    assert "app health probe exit 1: /health did not answer 200" in result.stderr
    assert "Traceback" not in result.stderr
    assert_no_request_failed(load)
    # The old containers were never touched; the new ones are gone.
    assert [(c.id, c.config.image) for c in app_containers(live)] == before
    assert same_note(http("GET", f"{live.url}/notes/{note['id']}"), note)
    assert "failed" in live.ok("history")


def test_failing_migration_stops_the_deploy_and_the_old_release_serves_throughout(
    live: Project,
) -> None:
    _, note = http("POST", f"{live.url}/notes", {"text": "before the bad migration"})
    before = [(c.id, c.config.image) for c in app_containers(live)]
    migration = VERSIONS / "0099_broken.py"
    commit_change(
        live,
        migration,
        (
            '"""A migration that fails."""\n\n'
            'revision = "0099"\ndown_revision = "0002"\n'
            "branch_labels = None\ndepends_on = None\n\n\n"
            "def upgrade() -> None:\n"
            '    raise RuntimeError("boom: migration 0099 cannot run")\n\n\n'
            "def downgrade() -> None:\n    pass\n"
        ),
        "a release with a failing migration",
    )
    try:
        with Traffic(live.url) as load:
            result = live.invoke("deploy")
    finally:
        (live.root / migration).unlink()
        git(live.root, "commit", "-qam", "drop the failing migration")

    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("slipway: migrate exited with code 1")
    assert "boom: migration 0099 cannot run" in result.stderr
    assert last.endswith("kept serving and no request reached the new release")
    assert_no_request_failed(load)
    # No container of the new release was ever started.
    assert [(c.id, c.config.image) for c in app_containers(live)] == before
    assert same_note(http("GET", f"{live.url}/notes/{note['id']}"), note)


def test_redeploy_and_rollback_under_load_fail_no_request(live: Project) -> None:
    first = app(live).config.image
    old_ids = {c.id for c in app_containers(live)}
    health = (live.root / HEALTH).read_text()
    commit_change(
        live, HEALTH, health.replace('{"status": "ok"}', '{"status": "ok", "v": 2}'), "version 2"
    )
    with Traffic(live.url) as load:
        out = live.ok("deploy")
    # A new release over a running stack: its data is backed up first.
    assert "backed up prod to backups/prod-" in out
    assert "switched the proxy to" in out
    assert_no_request_failed(load)
    assert http("GET", f"{live.url}/health") == (200, {"status": "ok", "v": 2})
    # Two new containers serve; the old ones were drained and removed.
    new = app_containers(live)
    assert len(new) == 2
    assert not old_ids & {c.id for c in new}

    with Traffic(live.url) as load:
        out = live.ok("rollback")
    assert "on the previous release" in out
    assert_no_request_failed(load)
    assert {c.config.image for c in app_containers(live)} == {first}
    assert http("GET", f"{live.url}/health") == (200, {"status": "ok"})
    # A second rollback never goes forward again: nothing served before the first.
    again = live.invoke("rollback")
    assert again.returncode == 1, again.stdout + again.stderr
    assert f"prod has no release before {first} to roll back to: name one with" in again.stderr
    assert "--to TAG" in again.stderr
    assert {c.config.image for c in app_containers(live)} == {first}
    history = live.ok("history")
    assert "rollback" in history
    # History records how long each switch took.
    assert re.search(r" ok +\d+\.\d\ds\b", history), history


def test_proxy_reloads_drop_no_connection(live: Project) -> None:
    config = load_config(live.root / "slipway.yaml")
    env = config.environment("prod")
    compose = client(config, env)
    running = container(compose)
    assert running is not None
    with Traffic(live.url, min_seconds=20) as load:
        for _ in range(10):
            reload(compose, running)
            time.sleep(1)
    assert_no_request_failed(load)


def test_sigkill_of_one_replica_fails_only_what_it_was_answering(live: Project) -> None:
    victim = app(live)
    started_at = victim.state.started_at
    with Traffic(live.url) as load:
        time.sleep(3)
        signal_server(victim, started_at, "SIGKILL")
        wait_until_serving_again(live, victim.id, started_at, 60)
    print(f"SIGKILL of one replica under load: {load.summary()}")  # noqa: T201
    # An idempotent request the killed server had not begun to answer is
    # retried on the other replica. What it was answering cannot be saved: a
    # POST (it may have been stored) and a GET whose response had already
    # begun (cut short: IncompleteRead; seen once in about eight runs). At most
    # one request per client fails, and every acknowledged POST is readable.
    retriable = [o for o in load.failed if o.method != "POST" and o.detail != "IncompleteRead"]
    assert not retriable, load.summary()
    assert len(load.failed) <= load.clients, load.summary()
    for note in load.acknowledged:
        assert same_note(http("GET", f"{live.url}/notes/{note['id']}"), note)


def history_rows(project: Project) -> list[str]:
    return [line for line in project.ok("history").splitlines() if line[:4].isdigit()]


def test_two_deploys_started_together_never_both_fail(live: Project) -> None:
    marker = live.root / "service/src/notes_service/_release.py"
    commit_change(live, marker.relative_to(live.root), f"# {uuid.uuid4().hex}\n", "a release")
    before = {c.config.image for c in app_containers(live)}
    rows_before = len(history_rows(live))
    with Traffic(live.url) as load:
        first = live.popen("deploy")
        time.sleep(0.5)
        second = live.popen("deploy")
        outputs = [p.communicate(timeout=600)[0] for p in (first, second)]
    assert [first.returncode, second.returncode] == [0, 0], outputs
    # One rolled the release out; the other waited for the lock, then found
    # the release in place.
    assert sum("switched the proxy to" in out for out in outputs) == 1, outputs
    assert any("waiting for the deploy lock of prod: held by" in out for out in outputs)
    assert_no_request_failed(load)
    (now,) = {c.config.image for c in app_containers(live)}
    assert now not in before
    new_rows = history_rows(live)[rows_before:]
    assert len(new_rows) == 2, new_rows
    assert all(now in row and " ok " in row for row in new_rows), new_rows


def test_a_killed_deploys_lock_is_found_stale_and_released(live: Project) -> None:
    lock = f"{live.name}-prod-lock"
    killed = live.popen("deploy")
    deadline = time.monotonic() + 60
    while not docker.network.exists(lock):
        assert time.monotonic() < deadline, "the deploy never took its lock"
        time.sleep(0.05)
    killed.kill()
    killed.communicate(timeout=30)
    assert docker.network.exists(lock), "the killed deploy's lock is gone already"

    out = live.ok("deploy")
    assert "released a stale deploy lock of prod" in out
    assert not docker.network.exists(lock)
    assert http("GET", f"{live.url}/health")[0] == 200


def server_pid(container: Container) -> int:
    """The uvicorn process (PID 1 is tini)."""
    out = docker.execute(
        container,
        [
            "python",
            "-c",
            (
                "import runpy; probe = runpy.run_path('/usr/local/lib/slipway/healthcheck.py'); "
                "print(probe['server_pids']()[0])"
            ),
        ],
    )
    return int(str(out).strip())


def wait_until_serving_again(
    project: Project, container_id: str, started_at: object, limit: float
) -> float:
    """Seconds until the container has started anew, its own probe finds it
    healthy, and /health answers 200 (the proxy may pick either replica)."""
    start = time.monotonic()
    while time.monotonic() - start < limit:
        try:
            state = docker.container.inspect(container_id).state
            healthy = state.health is not None and state.health.status == "healthy"
            restarted = state.started_at != started_at
            if restarted and healthy and http("GET", f"{project.url}/health")[0] == 200:
                return time.monotonic() - start
        except OSError:
            pass
        time.sleep(0.5)
    pytest.fail(f"not restarted and serving within {limit}s")


def signal_server(container: Container, started_at: object, signal_name: str) -> None:
    """Send the container's server process a signal from inside it."""
    pid = server_pid(container)
    kill = f"import os, signal; os.kill({pid}, signal.{signal_name}); os._exit(0)"
    try:
        docker.execute(container, ["python", "-c", kill])
    except DockerException:
        # The server's end is the container's: the engine may end this exec
        # with it before it exits 0 (CI saw it once). Any other failure
        # leaves the same run of the container running.
        state = docker.container.inspect(container.id).state
        if state.running and state.started_at == started_at and not state.restarting:
            raise


def all_replicas_healthy(project: Project, limit: float = 60) -> None:
    """Wait until every replica runs healthy (a test before may have left
    one restarting)."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        states = [c.state for c in app_containers(project)]
        if len(states) == 2 and all(s.health and s.health.status == "healthy" for s in states):
            return
        time.sleep(0.5)
    pytest.fail(f"the replicas were not both healthy within {limit}s")


def signal_server_and_wait(project: Project, signal_name: str) -> tuple[Container, float]:
    """Send the server process a signal; seconds until a new start serves."""
    all_replicas_healthy(project)
    container = app(project)
    # Attribute access re-inspects: read the start time once, before the signal.
    started_at = container.state.started_at
    signal_server(container, started_at, signal_name)
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
            # Every replica at once: nothing is left to route around to.
            docker.container.kill(app_containers(live), signal="KILL")
            killed = True
        try:
            status, body = http("POST", f"{live.url}/notes", {"text": f"write {i}"})
        except OSError:
            continue
        if status == 201:
            acknowledged.append(body["id"])
    assert killed
    assert len(acknowledged) >= 100
    live.ok("deploy")  # new containers replace the killed ones, nothing rebuilt
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


def test_prune_keeps_the_running_and_the_newest_good_releases_and_rollback_still_works(
    live: Project,
) -> None:
    # Three good releases at least, so that keeping two leaves one to prune.
    marker = Path("service/src/notes_service/_release.py")
    for n in range(2):
        commit_change(live, marker, f"# release {n} {uuid.uuid4().hex}\n", f"release {n}")
        live.ok("deploy")
    settings = yaml.safe_load((live.root / "slipway.yaml").read_text())
    settings["environments"]["prod"]["keep_releases"] = 2
    variant = live.root / "keep-two.yaml"
    variant.write_text(yaml.safe_dump(settings, sort_keys=False))
    config = load_config(variant)
    env = config.environment("prod")
    good: list[str] = []
    for row in reversed(releases(config, env)):
        if row.outcome in ("ok", "rollback") and row.image not in good:
            good.append(row.image)
    deployed = {row.image for row in releases(config, env)}
    current = app(live).config.image
    expected = {current, *good[:2]}

    def present() -> set[str]:
        return {tag for image in docker.image.list(live.image) for tag in image.repo_tags}

    removable = (deployed - expected) & present()
    assert removable, "the module should have left old releases to prune"

    try:
        out = live.ok("prune", SLIPWAY_CONFIG=str(variant))
        back = live.ok("rollback", SLIPWAY_CONFIG=str(variant))
    finally:
        variant.unlink()  # the tree is clean again for the tests after

    assert present() & deployed == expected
    for ref in sorted(removable):
        assert f"removed {ref}" in out
    assert "MB freed; kept " in out
    # Rollback goes to the newest good release still there, and it serves.
    assert "on the previous release" in back
    assert app(live).config.image in expected - {current}
    assert http("GET", f"{live.url}/health")[0] == 200


def test_an_env_file_compose_file_or_port_change_rolls_and_is_said(live: Project) -> None:
    """A deploy compares the configuration too: with the same image, an edited
    env file or compose file rolls by the same zero-downtime path, and the
    new value is what the new containers have; a new published port is said
    and served once the proxy is recreated (the one change with a gap)."""
    env_file, compose_file = live.root / "env/prod.env", live.root / "compose/prod.yaml"
    env_text, compose_text = env_file.read_text(), compose_file.read_text()
    live.ok("deploy")  # HEAD's release serves (the test before rolled back)
    try:
        env_file.write_text(env_text.replace("LOG_LEVEL=info", "LOG_LEVEL=debug"))
        with Traffic(live.url) as load:
            out = live.ok("deploy")
        # The worker reads the same environment: it rolls too, and is said.
        assert (
            "its configuration changed (app's environment: LOG_LEVEL; "
            "worker's environment: LOG_LEVEL)"
        ) in out
        assert_no_request_failed(load)
        assert all("LOG_LEVEL=debug" in (c.config.env or []) for c in app_containers(live))

        edited = compose_text.replace(
            "      APP_ENV: prod\n", '      APP_ENV: prod\n      NOTES_MIN_FREE_BYTES: "2097152"\n'
        )
        assert edited != compose_text
        compose_file.write_text(edited)
        # The same rollout as the env file's, proven under load just above.
        out = live.ok("deploy")
        assert "switched the proxy to" in out
        envs = [c.config.env or [] for c in app_containers(live)]
        assert all("NOTES_MIN_FREE_BYTES=2097152" in env for env in envs), envs

        assert "nothing to roll" in live.ok("deploy")

        # Another port, the same release: said as it happens, served after.
        # The next test's deploy (a new release, on the fixture's port) puts it back.
        other = free_port()
        out = live.ok("deploy", APP_PORT=str(other))
        assert "its configuration changed (" in out, out
        assert f"the proxy's published port: 127.0.0.1:{live.port} -> 127.0.0.1:{other}" in out
        assert "the proxy is recreated to apply its change" in out
        assert f"prod is healthy at http://127.0.0.1:{other}" in out
        assert http("GET", f"http://127.0.0.1:{other}/health")[0] == 200
    finally:
        env_file.write_text(env_text)
        compose_file.write_text(compose_text)


def test_another_build_of_the_same_commit_never_moves_its_tag(live: Project) -> None:
    """A changed remote changes the source label, so the same commit builds to
    another image: it gets a tag of its own, and the old tag keeps its image.
    (HEAD's tag was built by the test before; a dirty tree's release runs.)"""
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=live.root, capture_output=True, text=True, check=True
    )
    tag = f"{live.image}:{head.stdout.strip()[:12]}"
    before = docker.image.inspect(tag).id
    git(live.root, "config", "remote.origin.url", f"https://example.com/{uuid.uuid4().hex}.git")

    out = live.ok("deploy")

    assert f"{tag} already names another build of this commit ({before[7:19]})" in out
    assert docker.image.inspect(tag).id == before
    now = app(live)
    assert now.config.image.startswith(f"{tag}-"), now.config.image
    assert now.image == docker.image.inspect(now.config.image).id != before
    # What status and history say runs is the image id that runs.
    rows = json.loads(live.ok("status", "--json"))
    assert {r["image_id"] for r in rows if r["service"] == "app"} == {now.image[7:19]}
    assert now.image[7:19] in live.ok("history").splitlines()[-1]
    # A new release that also moves the proxy back to the fixture's port says
    # the gap, as a configuration change alone does, and serves there.
    assert "the proxy is recreated to apply its change (the proxy's published port: " in out
    assert f"prod is healthy at {live.url}" in out
    assert http("GET", f"{live.url}/health")[0] == 200
