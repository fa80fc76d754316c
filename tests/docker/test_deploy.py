"""`invoke deploy` builds, checks and starts prod on SQLite, and keeps the data."""

from __future__ import annotations

import pytest
from python_on_whales import DockerClient, docker

from tests.docker.conftest import Project, http

pytestmark = pytest.mark.docker


def app_container_id(project: Project) -> str:
    compose = DockerClient(
        compose_files=[
            str(project.root / "compose/base.yaml"),
            str(project.root / "compose/prod.yaml"),
        ],
        compose_project_name=f"{project.name}-prod",
    )
    (container,) = compose.compose.ps(services=["app"])
    return container.id


def test_deploy_serves_healthy_and_says_where(project: Project) -> None:
    out = project.ok("deploy")
    assert f"prod is healthy at {project.url} running {project.image}:" in out
    assert http("GET", f"{project.url}/health") == (200, {"status": "ok"})
    status, body = http("GET", f"{project.url}/ready")
    assert status == 200, body

    table = project.ok("status")
    app_row = next(line for line in table.splitlines() if line.startswith("app "))
    assert "running" in app_row
    assert "healthy" in app_row
    assert f"{project.image}:" in app_row


def test_notes_survive_down_and_redeploy(project: Project) -> None:
    project.ok("deploy")
    status, note = http("POST", f"{project.url}/notes", {"text": "kept across deploys"})
    assert status == 201

    assert "volumes are kept" in project.ok("down")
    assert docker.volume.exists(f"{project.name}-prod_app-data")

    project.ok("deploy")
    assert http("GET", f"{project.url}/notes/{note['id']}") == (200, note)


def test_second_deploy_without_changes_rebuilds_nothing_and_keeps_the_container(
    project: Project,
) -> None:
    project.ok("deploy")
    image_before = docker.image.inspect(f"{project.image}:prod").id
    container_before = app_container_id(project)
    _, note = http("POST", f"{project.url}/notes", {"text": "still here"})

    project.ok("deploy")

    assert docker.image.inspect(f"{project.image}:prod").id == image_before
    assert app_container_id(project) == container_before
    assert http("GET", f"{project.url}/notes/{note['id']}") == (200, note)


def test_bad_note_gets_422_from_the_deployed_service(project: Project) -> None:
    project.ok("deploy")
    status, _ = http("POST", f"{project.url}/notes", {"txt": "wrong key"})
    assert status == 422
    status, body = http("GET", f"{project.url}/notes/999999")
    assert status == 404, body
