"""What a deploy or rollback that fails leaves behind, when the old release is
not simply serving on: a stopped stack, a first deploy, a previous release
that cannot start either. Real releases fail for real here: a committed
/health that answers 503, a DATABASE_URL no migration can open, or a secret
key the app refuses to start with.

The tests run in order on one project of their own, each on the state the
one before left (the releases in its history).
"""

from __future__ import annotations

import json
import sqlite3
import urllib.error
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from python_on_whales import docker

from tests.docker.conftest import (
    Project,
    app_containers,
    commit_change,
    git,
    http,
    make_project,
    remove_project,
    same_note,
    unhealthy_release,
)

pytestmark = pytest.mark.docker

# A short gate: a release that runs but never gets healthy (the 503 one)
# costs this long; one that crashes at every start fails after 3 restarts.
# A good release with one replica is healthy in seconds.
HEALTH_TIMEOUT = 20
# Too short for prod: the app exits 78 at every start; migrating needs no key.
SHORT_KEY = "too-short"
REFUSAL = "notes-service: refusing to start in prod: the secret key has 9 characters"
# A typo in env/prod.env: a folder that does not exist on the read-only root.
NO_DATABASE = "sqlite:////app/dat/notes.db"
MIGRATE_FAILED = "migrate exited with code 1: "
# What the migration said, among the details printed above the last line.
CANNOT_OPEN = "notes-service: migration failed: (sqlite3.OperationalError) unable to open"


@pytest.fixture(scope="module")
def failing(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Project]:
    """A project of its own, never deployed yet, one replica."""
    copy = make_project(tmp_path_factory.mktemp("deploy-failures"))
    settings = yaml.safe_load((copy.root / "slipway.yaml").read_text())
    settings["environments"]["prod"].update(health_timeout=HEALTH_TIMEOUT, replicas=1)
    (copy.root / "slipway.yaml").write_text(yaml.safe_dump(settings, sort_keys=False))
    git(copy.root, "commit", "-qam", "a short health gate, one replica")
    yield copy
    remove_project(copy)


def last_line(result: Any) -> str:
    """The message a failed command ends with, after its exit code 1."""
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    return str(result.stderr.strip().splitlines()[-1])


def outcomes(project: Project) -> list[tuple[str, str]]:
    """`invoke history`: (image, outcome) per release, oldest first."""
    return [(r["image"], r["outcome"]) for r in json.loads(project.ok("history", "--json"))]


def serving_image(project: Project) -> str:
    """The release answering on the port, and the one app container running it."""
    assert http("GET", f"{project.url}/health") == (200, {"status": "ok"})
    rows = json.loads(project.ok("status", "--json"))
    (app,) = [r for r in rows if r["service"] == "app"]
    assert (app["state"], app["health"]) == ("running", "healthy"), rows
    return str(app["image"])


def backups(project: Project) -> set[str]:
    folder = project.root / "backups"
    return {p.name for p in folder.iterdir()} if folder.is_dir() else set()


def new_release(project: Project) -> None:
    marker = Path("service/src/notes_service/_release.py")
    commit_change(project, marker, f"# {uuid.uuid4().hex}\n", "a new release")


@pytest.fixture
def short_secret_key(failing: Project) -> Iterator[None]:
    """The secret key holds a value the app refuses (as after a bad rotation),
    here and where the engine keeps it (the volume that every deploy's
    containers mount it from); running containers read theirs at start and
    keep serving."""
    path = failing.root / "secrets/secret_key"
    holder = f"{failing.name}-prod-state"
    good = path.read_text()
    path.write_text(SHORT_KEY)
    docker.container.copy(path, (holder, "/slipway/secrets/secret_key"))
    yield
    path.write_text(good)
    docker.container.copy(path, (holder, "/slipway/secrets/secret_key"))


@pytest.fixture
def database_out_of_reach(failing: Project) -> Iterator[None]:
    """env/prod.env sends the service to a database it cannot open: every
    release's migration fails at once."""
    path = failing.root / "env/prod.env"
    example = failing.root / "env/prod.env.example"
    original = path.read_text() if path.exists() else None
    path.write_text((original or example.read_text()) + f"DATABASE_URL={NO_DATABASE}\n")
    yield
    if original is None:
        path.unlink()
    else:
        path.write_text(original)


@pytest.mark.usefixtures("database_out_of_reach")
def test_a_failed_first_deploy_takes_the_stack_down_and_keeps_the_data_volume(
    failing: Project,
) -> None:
    result = failing.invoke("deploy")

    line = last_line(result)
    assert line.startswith(f"slipway: {MIGRATE_FAILED}")
    assert line.endswith(
        "; no earlier release to go back to, so the stack was taken down (data volumes kept)"
    )
    assert CANNOT_OPEN in result.stderr
    assert json.loads(failing.ok("status", "--json")) == []
    assert not docker.container.list(
        all=True, filters=[("label", f"com.docker.compose.project={failing.name}-prod")]
    )
    # Compose created the volume for the migration; it stays.
    assert docker.volume.exists(f"{failing.name}-prod_app-data")
    ((image, outcome),) = outcomes(failing)
    assert outcome == "failed"
    assert image.startswith(f"{failing.image}:")


def test_rollback_without_an_earlier_healthy_release_is_refused_in_one_line(
    failing: Project,
) -> None:
    result = failing.invoke("rollback")

    assert last_line(result) == "slipway: prod has no earlier healthy release to roll back to"
    assert result.stderr.strip() == last_line(result)
    assert json.loads(failing.ok("status", "--json")) == []


def test_an_unhealthy_release_over_a_stopped_stack_starts_the_previous_one_again(
    failing: Project,
) -> None:
    failing.ok("deploy")
    good = serving_image(failing)
    _, note = http("POST", f"{failing.url}/notes", {"text": "written by the good release"})
    failing.ok("down")

    with unhealthy_release(failing):
        result = failing.invoke("deploy")

    line = last_line(result)
    assert line.startswith(f"slipway: app did not become healthy within {HEALTH_TIMEOUT}s")
    assert line.endswith(f"; rolled back to {good}, which is serving again")
    assert f"starting {good} again" in result.stdout + result.stderr
    assert serving_image(failing) == good
    assert same_note(http("GET", f"{failing.url}/notes/{note['id']}"), note)
    (broken, failed), back = outcomes(failing)[-2:]
    assert (failed, back) == ("failed", (good, "rolled back"))
    assert broken != good
    # A stopped stack has nothing new to lose: no backup was taken.
    assert "backed up" not in result.stderr + result.stdout
    assert backups(failing) == set()


def test_a_new_release_over_a_running_stack_is_preceded_by_a_backup(failing: Project) -> None:
    _, note = http("POST", f"{failing.url}/notes", {"text": "in the backup"})
    before = serving_image(failing)
    new_release(failing)

    out = failing.ok("deploy")

    (name,) = backups(failing)
    assert f"backed up prod to backups/{name}" in out
    with sqlite3.connect(failing.root / "backups" / name) as db:
        texts = {text for (text,) in db.execute("SELECT text FROM notes")}
    db.close()
    assert note["text"] in texts
    assert serving_image(failing) != before


@pytest.mark.usefixtures("short_secret_key")
def test_a_failed_rollback_keeps_the_current_release_serving(failing: Project) -> None:
    # The earlier release was healthy once; with today's secret key it cannot start.
    current = serving_image(failing)
    containers = [c.id for c in app_containers(failing)]
    rows = outcomes(failing)

    result = failing.invoke("rollback")

    line = last_line(result)
    # It crashes at every start: found in seconds, not after the health timeout.
    assert line.startswith("slipway: app exited with code 78 before it was healthy (and again")
    assert line.endswith(f"; {current} kept serving")
    assert REFUSAL in result.stderr
    assert serving_image(failing) == current
    assert [c.id for c in app_containers(failing)] == containers
    assert outcomes(failing) == rows


@pytest.mark.usefixtures("database_out_of_reach")
def test_when_the_previous_release_cannot_start_either_both_failures_are_reported(
    failing: Project,
) -> None:
    previous = serving_image(failing)
    failing.ok("down")
    new_release(failing)

    result = failing.invoke("deploy")

    first, _, second = (
        last_line(result).removeprefix("slipway: ").partition(f"; starting {previous} failed too: ")
    )
    assert first.startswith(MIGRATE_FAILED), first
    assert second == first
    assert result.stderr.count(CANNOT_OPEN) == 2, result.stderr
    assert f"starting {previous} again" in result.stdout + result.stderr
    assert json.loads(failing.ok("status", "--json")) == []
    # Nothing listens on the port: the proxy never started.
    with pytest.raises(urllib.error.URLError, match="Connection refused"):
        http("GET", f"{failing.url}/health")
    (image, outcome), *_ = reversed(outcomes(failing))
    assert outcome == "failed"
    assert image != previous


def test_a_health_path_the_app_does_not_serve_is_named_before_the_timeout(
    failing: Project,
) -> None:
    settings = yaml.safe_load((failing.root / "slipway.yaml").read_text())
    settings["health_path"] = "/nope"
    variant = failing.root / "wrong-health-path.yaml"
    variant.write_text(yaml.safe_dump(settings, sort_keys=False))
    try:
        result = failing.invoke("deploy", SLIPWAY_CONFIG=str(variant))
    finally:
        variant.unlink()

    # Found from the probes' answers, not after the 20 s gate ran out.
    assert last_line(result).startswith(
        "slipway: GET /nope answered 404 on every new replica: set health_path in "
        "slipway.yaml to a route that answers 200"
    )
    assert "did not become healthy within" not in result.stderr
    assert "app health probe exit 1: /nope did not answer 200 (2 in a row): it answered 404" in (
        result.stderr
    )
