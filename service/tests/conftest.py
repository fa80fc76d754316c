from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from notes_service.app import create_app
from notes_service.migrate import upgrade
from notes_service.settings import Settings


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    # A not-yet-existing subdirectory: the engine must create it.
    return tmp_path / "data" / "notes.db"


@pytest.fixture
def settings(db_path: Path) -> Settings:
    return Settings(database_url=f"sqlite:///{db_path}")


@pytest.fixture
def migrated_settings(settings: Settings) -> Settings:
    upgrade(settings.database_url)
    return settings


@pytest.fixture
def client(migrated_settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(migrated_settings)) as test_client:
        yield test_client


@pytest.fixture
def unmigrated_client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as test_client:
        yield test_client
