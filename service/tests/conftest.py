from __future__ import annotations

import os
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


# What tests against a real PostgreSQL and Redis read, by test file: set
# inside the test environment (compose/test.yaml) that `nox -s docker_tests`
# runs them in.
POSTGRES_URL = "TEST_DATABASE_URL"
REDIS_URL = "TEST_REDIS_URL"
_NEEDS = {"test_on_postgres.py": POSTGRES_URL, "test_on_redis.py": REDIS_URL}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Without a PostgreSQL or Redis to test against (`nox -s tests`, on the
    host), their tests are deselected, said in the summary, not skipped one
    by one: they run in `nox -s docker_tests`, beside those services."""
    needs = [
        item
        for item in items
        if (variable := _NEEDS.get(item.path.name)) and not os.environ.get(variable)
    ]
    if needs:
        config.hook.pytest_deselected(items=needs)
        items[:] = [item for item in items if item not in needs]
