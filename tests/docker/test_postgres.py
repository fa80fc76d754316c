"""`invoke deploy --env prod-pg`: PostgreSQL 17 on an internal network, data kept."""

from __future__ import annotations

import pytest
from python_on_whales import docker

from tests.docker.conftest import Project, http

pytestmark = pytest.mark.docker


def test_prod_pg_serves_notes_from_postgres_and_keeps_them_across_down_and_deploy(
    pg_project: Project,
) -> None:
    status, ready = http("GET", f"{pg_project.url}/ready")
    assert status == 200, ready
    status, note = http("POST", f"{pg_project.url}/notes", {"text": "kept in postgres"})
    assert status == 201

    assert "volumes are kept" in pg_project.ok("down", "--env", "prod-pg")
    assert docker.volume.exists(f"{pg_project.name}-prod-pg_pg-data")

    out = pg_project.ok("deploy", "--env", "prod-pg")
    assert f"prod-pg is healthy at {pg_project.url}" in out
    assert http("GET", f"{pg_project.url}/notes/{note['id']}") == (200, note)


def test_postgres_is_only_on_an_internal_network_and_publishes_no_port(
    pg_project: Project,
) -> None:
    stack = f"{pg_project.name}-prod-pg"
    (db,) = docker.container.list(
        filters=[
            ("label", f"com.docker.compose.project={stack}"),
            ("label", "com.docker.compose.service=db"),
        ]
    )
    assert db.config.image == "postgres:17"
    assert not any(db.network_settings.ports.values()) if db.network_settings.ports else True
    networks = list(db.network_settings.networks or {})
    assert networks == [f"{stack}_db"]
    assert docker.network.inspect(networks[0]).internal is True

    (app,) = docker.container.list(
        filters=[
            ("label", f"com.docker.compose.project={stack}"),
            ("label", "com.docker.compose.service=app"),
        ]
    )
    assert sorted(app.network_settings.networks or {}) == [f"{stack}_db", f"{stack}_default"]
