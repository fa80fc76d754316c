from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from fastapi.testclient import TestClient

from notes_service.app import create_app
from notes_service.migrate import head_revision, upgrade
from notes_service.settings import Settings


def test_health_is_ok(client: TestClient) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_health_is_503_when_forced_unhealthy(settings: Settings) -> None:
    with TestClient(create_app(replace(settings, force_unhealthy=True))) as client:
        response = client.get("/health")
        assert response.status_code == 503
        assert response.json() == {"status": "unhealthy"}
        assert client.get("/ready").status_code == 503


def test_ready_is_503_with_reason_before_migration(unmigrated_client: TestClient) -> None:
    response = unmigrated_client.get("/ready")
    assert response.status_code == 503
    assert response.json() == {"status": "not ready", "reason": "schema not migrated"}


def test_ready_is_200_after_migration(unmigrated_client: TestClient, settings: Settings) -> None:
    upgrade(settings.database_url)
    response = unmigrated_client.get("/ready")
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "revision": head_revision()}


def test_ready_is_503_when_database_unreachable(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("", encoding="utf-8")  # the database's "directory" is a file
    settings = Settings(database_url=f"sqlite:///{blocker}/notes.db")
    with TestClient(create_app(settings)) as client:
        response = client.get("/ready")
    assert response.status_code == 503
    assert response.json()["reason"].startswith("database unreachable: ")
