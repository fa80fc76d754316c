"""`invoke deploy` builds, checks and starts prod on SQLite, and keeps the data."""

from __future__ import annotations

import json
import re
import subprocess
import time

import pytest
from python_on_whales import docker

from tests.docker.conftest import Project, app_containers, http, same_note

pytestmark = pytest.mark.docker


def test_deploy_serves_healthy_and_says_where(project: Project) -> None:
    out = project.ok("deploy")
    assert f"prod is healthy at {project.url} running {project.image}:" in out
    assert http("GET", f"{project.url}/health") == (200, {"status": "ok"})

    # The release image says what it was built from: the checkout's commit.
    release = re.search(r"running (\S+) \(", out)
    assert release, out
    labels = docker.image.inspect(release.group(1)).config.labels or {}
    head = _git_out(project, "rev-parse", "HEAD")
    assert labels["org.opencontainers.image.revision"] == head
    assert labels["org.opencontainers.image.created"] == _git_out(
        project, "log", "-1", "--format=%cI"
    )
    status, body = http("GET", f"{project.url}/ready")
    assert status == 200, body

    # The proxy alone publishes the port; each replica shows its release.
    table = project.ok("status")
    app_rows = [line for line in table.splitlines() if line.startswith("app ")]
    assert len(app_rows) == 2
    for row in app_rows:
        assert "running" in row
        assert "healthy" in row
        assert f"{project.image}:" in row
        assert row.rstrip().endswith(" -"), "an app container publishes a port"
    proxy_row = next(line for line in table.splitlines() if line.startswith("proxy "))
    assert "healthy" in proxy_row
    assert f"127.0.0.1:{project.port}->8080" in proxy_row

    # Piped, the logs carry no escape codes (compose writes ESC[2K before each line).
    logs = project.invoke("logs", "--tail", "2")
    assert logs.returncode == 0, logs.stderr
    assert " | " in logs.stdout, logs.stdout
    assert "\x1b" not in logs.stdout


def test_notes_survive_down_and_redeploy(project: Project) -> None:
    project.ok("deploy")
    status, note = http("POST", f"{project.url}/notes", {"text": "kept across deploys"})
    assert status == 201

    assert "volumes are kept" in project.ok("down")
    assert docker.volume.exists(f"{project.name}-prod_app-data")

    began = time.monotonic()
    again = project.invoke("deploy", "--json")
    wall = time.monotonic() - began
    assert again.returncode == 0, again.stderr
    assert same_note(http("GET", f"{project.url}/notes/{note['id']}"), note)

    # That deploy started the stack again: where its seconds went, phase by
    # phase, adding up to its wall time (the process's start-up included).
    timeline = json.loads(again.stdout)["timeline"]
    # (The SBOM is written beside the rollout: "sbom" is the wait for it
    # before the switch, none when it was written before the health gate ended.)
    rolled = [
        *("startup", "lock", "prepare", "build", "checks"),
        *("compare", "migrate", "start", "health", "sbom", "switch", "drain"),
    ]
    assert [phase for phase, _ in timeline] == [*rolled, "record", "prune", "url", "unlock"]
    total = sum(seconds for _, seconds in timeline)
    print(f"redeploy: {wall:.2f}s wall, phases {total:.2f}s: {timeline}")  # noqa: T201
    # (/proc counts the process's start in ticks of 10 ms: a little slack above.)
    assert 0.95 * wall <= total <= wall + 0.05
    # history keeps the phases up to its record; --timeline shows them.
    shown = project.ok("history", "--timeline").splitlines()[-1]
    phases = shown[shown.index("startup ") :].split(", ")
    assert [p.rsplit(" ", 1)[0] for p in phases] == rolled, shown


def test_second_deploy_without_changes_rebuilds_nothing_and_keeps_the_container(
    project: Project,
) -> None:
    project.ok("deploy")
    image_before = docker.image.inspect(f"{project.image}:prod").id
    containers_before = [c.id for c in app_containers(project)]
    _, note = http("POST", f"{project.url}/notes", {"text": "still here"})

    backups = project.root / "backups"
    backups_before = set(backups.iterdir()) if backups.is_dir() else set()

    out = project.ok("deploy")

    assert "already serves on 2 healthy replica(s): nothing to roll" in out
    # The running release again: no new release, so no backup first.
    assert "backed up" not in out
    assert (set(backups.iterdir()) if backups.is_dir() else set()) == backups_before
    assert docker.image.inspect(f"{project.image}:prod").id == image_before
    assert [c.id for c in app_containers(project)] == containers_before
    assert same_note(http("GET", f"{project.url}/notes/{note['id']}"), note)


def test_bad_note_gets_422_from_the_deployed_service(project: Project) -> None:
    project.ok("deploy")
    status, _ = http("POST", f"{project.url}/notes", {"txt": "wrong key"})
    assert status == 422
    status, body = http("GET", f"{project.url}/notes/999999")
    assert status == 404, body


def test_json_output_parses_and_matches_the_tables(project: Project) -> None:
    result = project.invoke("deploy", "--json")
    assert result.returncode == 0, result.stderr
    deployed = json.loads(result.stdout)
    # Nothing to roll (the tests before deployed this release): no rollout steps.
    assert [phase for phase, _ in deployed["timeline"]] == [
        *("startup", "lock", "prepare", "build", "checks"),
        *("compare", "sbom", "record", "prune", "url", "unlock"),
    ]
    assert deployed["url"] == project.url
    assert deployed["image"]["ref"].startswith(f"{project.image}:")
    assert "building " in result.stderr  # progress goes to stderr

    rows = json.loads(project.ok("status", "--json"))
    table = project.ok("status")
    assert sorted(r["service"] for r in rows) == ["app", "app", "proxy", "worker"]
    lines = [line.split() for line in table.splitlines()[2:]]
    assert sorted(line[:4] for line in lines) == sorted(
        [r["service"], r["state"], r["health"], r["image"]] for r in rows
    )
    ours = {r["image"] for r in rows if r["service"] in ("app", "worker")}
    assert ours == {deployed["image"]["ref"]}

    releases = json.loads(project.ok("history", "--json"))
    assert releases[-1]["image"] == deployed["image"]["ref"]
    assert releases[-1]["outcome"] == "ok"
    assert len(releases) == project.ok("history").count("\n") - 2


def _git_out(project: Project, *args: str) -> str:
    done = subprocess.run(
        ["git", *args], cwd=project.root, capture_output=True, text=True, check=True
    )
    return done.stdout.strip()
