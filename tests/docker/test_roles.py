"""The release's roles beside the web one: the reference service's worker,
from the release image, with no port, probed by its heartbeat, and a
singleton held to one by its lease and fencing token."""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
import yaml
from python_on_whales import Container, DockerException, docker

from bench.traffic import Traffic
from tests.docker.conftest import (
    Project,
    app_containers,
    assert_no_request_failed,
    commit_change,
    counted,
    git,
    http,
    make_project,
    remove_project,
)

pytestmark = pytest.mark.docker

# The probe's age limit here: a frozen worker is replaced sooner than at 30 s.
MAX_AGE = 10
RUNS = (
    "import json, sqlite3; db = sqlite3.connect('/app/data/notes.db'); print(json.dumps("
    "db.execute('SELECT token, host, started_at, last_seen, ended_at FROM worker_runs "
    "ORDER BY started_at').fetchall()))"
)


@pytest.fixture(scope="module")
def staffed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Project]:
    """A project of its own, deployed with the reference worker (a singleton
    in slipway.yaml), its heartbeat allowed MAX_AGE seconds."""
    copy = make_project(tmp_path_factory.mktemp("roles"))
    settings = yaml.safe_load((copy.root / "slipway.yaml").read_text())
    assert settings["environments"]["prod"]["roles"] == {"worker": {"singleton": True}}
    settings["environments"]["prod"]["health_timeout"] = 60
    (copy.root / "slipway.yaml").write_text(yaml.safe_dump(settings, sort_keys=False))
    git(copy.root, "commit", "-qam", "a shorter health gate")
    set_env(copy, HEARTBEAT_MAX_AGE=str(MAX_AGE))
    copy.ok("deploy")
    yield copy
    remove_project(copy)


def set_env(project: Project, **values: str) -> None:
    """env/prod.env as its example has it, with ``values`` on top."""
    example = (project.root / "env/prod.env.example").read_text()
    lines = [example.rstrip("\n"), *(f"{k}={v}" for k, v in values.items())]
    (project.root / "env/prod.env").write_text("\n".join(lines) + "\n")


def workers(project: Project, *, everything: bool = False) -> list[Container]:
    return docker.container.list(
        all=everything,
        filters=[
            ("label", f"com.docker.compose.project={project.name}-prod"),
            ("label", "com.docker.compose.service=worker"),
        ],
    )


def healthy_worker(project: Project, limit: float = 60) -> Container:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        found = workers(project)
        if len(found) == 1:
            state = found[0].state
            if state.health is not None and state.health.status == "healthy":
                return found[0]
        time.sleep(0.5)
    seen = [
        (w.name, w.state.status, w.state.health and w.state.health.status, w.restart_count)
        for w in workers(project, everything=True)
    ]
    tails = [str(docker.container.logs(w, tail=15)) for w in workers(project, everything=True)]
    probes = [
        [entry.output for entry in (w.state.health.log or [])][-3:]
        for w in workers(project, everything=True)
        if w.state.health
    ]
    pytest.fail(f"no single healthy worker within {limit}s: {seen}\n{tails}\n{probes}")


def worker_runs(project: Project) -> list[list[Any]]:
    """The worker's own records, one per run: token, host, started, last seen, ended."""
    out = project.ok("exec", "--env", "prod", "--", "python", "-c", RUNS)
    runs: list[list[Any]] = json.loads(out)
    return runs


def assert_never_two_at_once(runs: list[list[Any]]) -> None:
    for before, after in itertools.pairwise(runs):
        # The one before had stopped (or last worked) before the next began,
        # and the next took a newer lease.
        assert after[2] >= (before[4] or before[3]), (before, after)
        assert after[0] > before[0], (before, after)


def test_the_worker_counts_a_note_and_every_command_covers_it(staffed: Project) -> None:
    status, note = http("POST", f"{staffed.url}/notes", {"text": "one two three"})
    assert status == 201
    assert note["word_count"] is None
    assert counted(staffed, note["id"]) == 3

    (worker,) = workers(staffed)
    assert worker.config.healthcheck.test == [
        "CMD",
        "python",
        "/usr/local/lib/slipway/heartbeat.py",
    ]
    assert worker.state.health.status == "healthy"
    # Nothing published (the image's EXPOSE 8000 is only said).
    assert not any((worker.network_settings.ports or {}).values())
    assert "worker" in staffed.ok("status", "--env", "prod")
    logs = staffed.ok("logs", "--env", "prod", "--role", "worker", "--tail", "all")
    assert "worker started (run 1, fencing token 1)" in logs
    assert "Uvicorn running" not in logs
    out = staffed.ok(
        "exec", "--env", "prod", "--role", "worker", "--", "printenv", "HEARTBEAT_FILE"
    )
    assert out.strip() == "/run/slipway/heartbeat"
    unknown = staffed.invoke("logs", "--env", "prod", "--role", "cron")
    assert unknown.returncode == 2
    assert unknown.stderr.strip() == (
        "slipway: prod has no role 'cron': its roles are app (web), worker"
    )


def test_releases_and_rollbacks_never_run_two_workers(staffed: Project) -> None:
    first = app_containers(staffed)[0].config.image
    commit_change(
        staffed,
        staffed.root / "service/src/notes_service/_release.py",
        "# another release\n",
        "another release",
    )
    with Traffic(staffed.url, min_seconds=5) as load:
        out = staffed.ok("deploy")
    assert_no_request_failed(load)
    assert "replaced worker (1 healthy)" in out
    second = app_containers(staffed)[0].config.image
    assert second != first
    assert {w.config.image for w in workers(staffed)} == {second}

    # With the first deploy and the release above: 20 releases and rollbacks.
    for i in range(18):
        if i % 5 == 2:
            # A crash: the restart policy starts it again, with a new lease.
            signal_worker(healthy_worker(staffed), "SIGKILL")
        staffed.ok("rollback", "--env", "prod", "--to", (first, second)[i % 2])
        assert len(workers(staffed, everything=True)) == 1
    healthy_worker(staffed)
    _, note = http("POST", f"{staffed.url}/notes", {"text": "after twenty releases"})
    assert counted(staffed, note["id"]) == 3
    runs = worker_runs(staffed)
    assert len(runs) >= 20, runs
    assert_never_two_at_once(runs)


def signal_worker(worker: Container, name: str) -> None:
    """Send the worker process (the init's child) a signal from inside its container."""
    kill = (
        "import os, runpy, signal; "
        "probe = runpy.run_path('/usr/local/lib/slipway/healthcheck.py'); "
        f"os.kill(probe['server_pids']()[0], signal.{name}); os._exit(0)"
    )
    try:
        docker.execute(worker, ["python", "-c", kill])
    except DockerException:
        # SIGKILL ends the container, which may end this exec before it exits 0.
        if name != "SIGKILL":
            raise


def test_a_frozen_worker_is_replaced(staffed: Project) -> None:
    worker = healthy_worker(staffed)
    started_at = worker.state.started_at
    signal_worker(worker, "SIGSTOP")
    deadline = time.monotonic() + 90
    while docker.container.inspect(worker.id).state.started_at == started_at:
        assert time.monotonic() < deadline, "the frozen worker was not replaced within 90s"
        time.sleep(1)
    healthy_worker(staffed)
    log = docker.container.inspect(worker.id).state.health.log or []
    assert any("watchdog: killing hung server process" in (entry.output or "") for entry in log)
    assert_never_two_at_once(worker_runs(staffed))


def test_a_worker_in_a_long_job_is_not_killed(staffed: Project) -> None:
    set_env(staffed, HEARTBEAT_MAX_AGE=str(MAX_AGE), WORKER_JOB_SECONDS="60")
    out = staffed.ok("deploy")
    assert "its configuration changed (worker's environment: WORKER_JOB_SECONDS)" in out
    worker = healthy_worker(staffed)
    # Read once: a Container's attributes re-inspect it.
    started_at = worker.state.started_at
    started = time.monotonic()
    _, note = http("POST", f"{staffed.url}/notes", {"text": "a long job"})
    assert counted(staffed, note["id"], limit=90) == 3
    assert time.monotonic() - started >= 55
    after = docker.container.inspect(worker.id)
    assert after.restart_count == 0
    assert after.state.started_at == started_at
    assert after.state.health.status == "healthy"
