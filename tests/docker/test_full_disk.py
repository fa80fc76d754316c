"""A full data volume: POST /notes answers 507 with a JSON reason, /ready 503
naming the cause until space is back, and no acknowledged note is lost."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
import yaml
from python_on_whales import Container, docker

from tests.docker.conftest import (
    Project,
    app_containers,
    git,
    http,
    make_project,
    remove_project,
    same_note,
)

pytestmark = pytest.mark.docker

STORAGE_FULL = "storage full: the database could not be written; free space on the data volume"
# The prod image's user (docker/Dockerfile); it owns the tmpfs's root.
APP_USER = "10001:10001"
# Room for the schema, a few notes and SQLite's WAL, and little else.
OVERRIDE = """\
# Written by tests/docker/test_full_disk.py: the app's data on a tiny tmpfs.
services:
  # A tmpfs volume lives only while some container has it mounted: without
  # this one, the schema the one-off migration wrote would vanish with it
  # before the app started. `compose run migrate` starts it first.
  volume-keeper:
    image: ${SLIPWAY_IMAGE:-slipway/notes:prod}
    pull_policy: never
    command: ["python", "-c", "import signal; signal.pause()"]
    volumes:
      - app-data:/app/data
    init: true
    healthcheck:
      disable: true
  migrate:
    depends_on: [volume-keeper]

volumes:
  app-data:
    driver_opts:
      type: tmpfs
      device: tmpfs
      o: "size=8m,uid=10001,gid=10001"
"""
FILLER = "/app/data/filler"
# Writes until ENOSPC in ever smaller blocks, so no page is left free.
FILL = f"""
import errno, os
fd = os.open({FILLER!r}, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
for size in (1 << 20, 4096, 1):
    block = bytes(size)
    try:
        while True:
            os.write(fd, block)
    except OSError as exc:
        if exc.errno != errno.ENOSPC:
            raise
os.close(fd)
print(os.path.getsize({FILLER!r}), os.statvfs("/app/data").f_bavail)
"""
NOTES_BEFORE = 5
REFUSED_POSTS = 3


@pytest.fixture(scope="module")
def small_volume(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Project]:
    """A project of its own whose prod data volume is an 8 MiB tmpfs, deployed
    with one replica."""
    copy = make_project(tmp_path_factory.mktemp("full-disk"))
    try:
        (copy.root / "compose" / "full-disk.yaml").write_text(OVERRIDE)
        settings = yaml.safe_load((copy.root / "slipway.yaml").read_text())
        prod = settings["environments"]["prod"]
        prod["compose_files"] = [*prod["compose_files"], "compose/full-disk.yaml"]
        prod["replicas"] = 1
        prod["health_timeout"] = 60
        (copy.root / "slipway.yaml").write_text(yaml.safe_dump(settings, sort_keys=False))
        git(copy.root, "add", "-A")
        git(copy.root, "commit", "-qm", "prod data on a small tmpfs")
        copy.ok("deploy")
        yield copy
    finally:
        remove_project(copy)


def in_app(container: Container, *command: str) -> str:
    return str(docker.container.execute(container, list(command), user=APP_USER, tty=False))


def wait_for(project: Project, path: str, status: int, timeout: float = 20) -> tuple[int, Any]:
    """GET ``path`` until it answers ``status`` (or time runs out); the last answer."""
    deadline = time.monotonic() + timeout
    while True:
        answer = http("GET", f"{project.url}{path}")
        if answer[0] == status or time.monotonic() > deadline:
            return answer
        time.sleep(0.5)


def test_a_full_volume_answers_507_and_not_ready_and_loses_no_acknowledged_note(
    small_volume: Project,
) -> None:
    url = small_volume.url
    (app,) = app_containers(small_volume)
    assert http("GET", f"{url}/ready")[0] == 200
    acknowledged = []
    for i in range(NOTES_BEFORE):
        status, note = http("POST", f"{url}/notes", {"text": f"acknowledged before the fill {i}"})
        assert status == 201, note
        acknowledged.append(note)

    filled = in_app(app, "python", "-c", FILL)
    print(f"filler bytes, blocks left: {filled.strip()}")  # noqa: T201 (the figures)
    try:
        refused = [
            http("POST", f"{url}/notes", {"text": f"written on a full volume {i}"})
            for i in range(REFUSED_POSTS)
        ]
        print(f"POST on the full volume: {refused[0]}")  # noqa: T201
        assert refused == [(507, {"detail": STORAGE_FULL})] * REFUSED_POSTS

        status, ready = http("GET", f"{url}/ready")
        print(f"/ready on the full volume: {status} {ready}")  # noqa: T201
        assert status == 503
        assert ready["status"] == "not ready"
        assert ready["reason"].startswith("storage full: ")
        assert "/app/data" in ready["reason"]

        for note in acknowledged:
            assert same_note(http("GET", f"{url}/notes/{note['id']}"), note)
    finally:
        in_app(app, "rm", "-f", FILLER)

    status, ready = wait_for(small_volume, "/ready", 200)
    assert status == 200, ready
    status, after = http("POST", f"{url}/notes", {"text": "space is back"})
    assert status == 201, after
    # The refused notes were never stored, not even later.
    # (The worker fills word_count in meanwhile: the notes as they were posted.)
    _, listed = http("GET", f"{url}/notes?limit=1000")
    assert [n["id"] for n in listed] == [n["id"] for n in [*acknowledged, after]]
    posted = [*acknowledged, after]
    assert all(same_note((200, n), p) for n, p in zip(listed, posted, strict=True))

    logs = str(docker.container.logs(app))
    warnings = [line for line in logs.splitlines() if "answered 507" in line]
    print(f"app log: {warnings[:1]}")  # noqa: T201
    assert warnings == ["POST /notes answered 507: database or disk is full"] * REFUSED_POSTS
    assert "Traceback" not in logs
    # The app served throughout: never restarted, still healthy.
    state = docker.container.inspect(app.id).state
    assert (state.running, state.restarting) == (True, False)
    assert docker.container.inspect(app.id).restart_count == 0
