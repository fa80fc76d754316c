"""`invoke deploy --env prod-pg`: PostgreSQL 17 on an internal network, data kept."""

from __future__ import annotations

import re
import tarfile

import pytest
from python_on_whales import Container, DockerException, docker

from bench.traffic import Traffic
from tests.docker.conftest import Project, app_containers, counted, git, http, same_note

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
    assert same_note(http("GET", f"{pg_project.url}/notes/{note['id']}"), note)


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

    apps = app_containers(pg_project, "prod-pg")
    assert apps
    for app in apps:
        assert sorted(app.network_settings.networks or {}) == [f"{stack}_db", f"{stack}_default"]


def test_redeploy_on_postgres_under_load_fails_no_request(pg_project: Project) -> None:
    # A new committed release: a source change that alters no behaviour.
    module = pg_project.root / "service/src/notes_service/__init__.py"
    module.write_text(module.read_text() + "\n# release for the PostgreSQL rollout test\n")
    git(pg_project.root, "commit", "-qam", "a new release")
    before = {c.id for c in app_containers(pg_project, "prod-pg")}

    with Traffic(pg_project.url) as load:
        out = pg_project.ok("deploy", "--env", "prod-pg")

    assert "switched the proxy to" in out
    print(f"prod-pg redeploy under load: {load.summary()}")  # noqa: T201
    assert len(load.outcomes) > 500
    assert not load.failed, load.summary()
    for note in load.acknowledged:
        assert same_note(http("GET", f"{pg_project.url}/notes/{note['id']}"), note)
    assert not before & {c.id for c in app_containers(pg_project, "prod-pg")}


def _connects(db: Container, password: str) -> bool:
    """Whether PostgreSQL lets notes in with ``password`` over the network, as
    the app connects (its own loopback is trusted without one)."""
    script = 'PGPASSWORD="$1" psql -X -q -h "$(hostname -i)" -U notes -d notes -c "SELECT 1"'
    try:
        docker.container.execute(db, ["sh", "-c", script, "sh", password])
    except DockerException:
        return False
    return True


def test_rotating_the_database_password_changes_it_in_postgres_and_rolls_the_app(
    pg_project: Project,
) -> None:
    secret = pg_project.root / "secrets/db_password"
    old = secret.read_text()
    _, note = http("POST", f"{pg_project.url}/notes", {"text": "written before the rotation"})
    before = {c.id for c in app_containers(pg_project, "prod-pg")}
    (tag,) = {c.config.image for c in app_containers(pg_project, "prod-pg")}

    out = pg_project.ok("secrets", "--env", "prod-pg", "--rotate", "db_password")

    new = secret.read_text()
    assert new != old
    assert len(new) == 64
    assert "PostgreSQL's role notes has the new db_password" in out
    assert "the local engine keeps the new db_password, and so does secrets/db_password" in out
    assert f"rotated db_password of prod-pg: {tag} runs with it" in out
    assert old not in out
    assert new not in out
    (db,) = docker.container.list(
        filters=[
            ("label", f"com.docker.compose.project={pg_project.name}-prod-pg"),
            ("label", "com.docker.compose.service=db"),
        ]
    )
    assert _connects(db, new)
    assert not _connects(db, old)
    # The app rolled onto it: new containers, which reach the database with it.
    after = app_containers(pg_project, "prod-pg")
    assert not before & {c.id for c in after}
    assert same_note(http("GET", f"{pg_project.url}/notes/{note['id']}"), note)
    assert http("GET", f"{pg_project.url}/ready")[0] == 200
    # Rolled already: the next deploy of the same release has nothing to do.
    assert "nothing to roll" in pg_project.ok("deploy", "--env", "prod-pg")
    refused = pg_project.invoke("secrets", "--env", "prod-pg", "--rotate", "nope")
    assert refused.returncode != 0
    assert refused.stderr.strip().splitlines() == [
        "slipway: prod-pg's services read no secret nope (theirs: db_password, secret_key): "
        "name one of them"
    ]


def test_a_changed_database_is_dumped_and_its_files_kept_before_it_is_replaced(
    pg_project: Project,
) -> None:
    status, note = http("POST", f"{pg_project.url}/notes", {"text": "there before the change"})
    assert status == 201
    # A server setting: compose replaces the database's container.
    compose = pg_project.root / "compose/postgres.yaml"
    text = compose.read_text()
    setting = (
        "    image: postgres:17\n    command: [postgres, -c, log_min_duration_statement=1000]\n"
    )
    compose.write_text(text.replace("    image: postgres:17\n", setting, 1))
    git(pg_project.root, "commit", "-qam", "log slow statements")

    out = pg_project.ok("deploy", "--env", "prod-pg")

    assert "tried the new configuration of db: healthy" in out
    # First a dump any later PostgreSQL restores, then, the server stopped
    # (a clean shutdown's checkpoint), its files as they were.
    dumped = re.search(r"backed up prod-pg to (\S+\.pgdump) \(.+\) before replacing db\n", out)
    assert dumped, out
    assert (pg_project.root / dumped.group(1)).read_bytes().startswith(b"PGDMP")
    kept = re.search(r"stopped db and kept its data \(/var/lib/postgresql/data\) in (\S+) \(", out)
    assert kept, out
    assert kept.start() > dumped.start()
    with tarfile.open(pg_project.root / kept.group(1)) as tar:
        version = tar.extractfile("var/lib/postgresql/data/PG_VERSION")
        assert version is not None
        assert version.read() == b"17\n"
    (db,) = docker.container.list(
        filters=[
            ("label", f"com.docker.compose.project={pg_project.name}-prod-pg"),
            ("label", "com.docker.compose.service=db"),
        ]
    )
    assert "log_min_duration_statement=1000" in db.config.cmd
    assert same_note(http("GET", f"{pg_project.url}/notes/{note['id']}"), note)


def test_the_worker_on_prod_pg_is_woken_by_its_redis_queue(pg_project: Project) -> None:
    status, note = http("POST", f"{pg_project.url}/notes", {"text": "four words for redis"})
    assert status == 201
    assert counted(pg_project, note["id"]) == 4
    logs = pg_project.ok("logs", "--env", "prod-pg", "--role", "worker", "--tail", "all")
    assert f"woken by the queue for note {note['id']}" in logs, logs
    # A sidecar of the release: listed, healthy, on the internal network only.
    table = pg_project.ok("status", "--env", "prod-pg").splitlines()
    (row,) = [r for r in table if r.startswith("redis ")]
    assert "running" in row
    assert "healthy" in row
    (redis,) = docker.container.list(
        filters=[
            ("label", f"com.docker.compose.project={pg_project.name}-prod-pg"),
            ("label", "com.docker.compose.service=redis"),
        ]
    )
    assert list(redis.network_settings.networks or {}) == [f"{pg_project.name}-prod-pg_db"]
