"""`slipway init --database postgres` on a project written from scratch here:
FastAPI and SQLAlchemy on psycopg, reading only DATABASE_URL (no `*_FILE`
variable), its table made by `scripts/prestart.sh` running Alembic. Deployed
once; every test works on that deploy, in any order, and one redeploys it
under load. The password (secrets/db_password, made by deploy) is in the app's
URL, and in no `docker inspect`, log or image layer."""

from __future__ import annotations

import subprocess
import tarfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from python_on_whales import docker
from python_on_whales.utils import run

from bench.traffic import Traffic
from tests.docker.conftest import free_port, git, http, same_note
from tests.docker.test_foreign_project import (
    ALEMBIC_ENV,
    ALEMBIC_ITEMS,
    FASTAPI_APP,
    Foreign,
    _pyproject,
    _write,
    take_down,
)

pytestmark = pytest.mark.docker


# The foreign FastAPI app (it reads only DATABASE_URL: no `*_FILE` variable),
# plus the routes the bounded load drives and the driver its URL names.
APP = (
    FASTAPI_APP  # noqa: S608 (the SQL binds its parameters)
    + """

from fastapi import HTTPException


@app.get("/driver")
def driver() -> dict[str, str]:
    return {"driver": engine.url.drivername}


@app.post("/notes", status_code=201)
def add_note(note: dict[str, str]) -> dict[str, object]:
    return {"id": add({"name": note["text"]})["id"], "text": note["text"]}


@app.get("/notes/{note_id}")
def read_note(note_id: int) -> dict[str, object]:
    with engine.connect() as db:
        found = db.execute(text("SELECT id, name FROM items WHERE id = :id"), {"id": note_id})
        row = found.one_or_none()
    if row is None:
        raise HTTPException(status_code=404)
    return {"id": row.id, "text": row.name}
"""
)
PRESTART = "#!/usr/bin/env bash\nset -euo pipefail\nalembic upgrade head\n"
DEPENDENCIES = [
    "fastapi>=0.110",
    "uvicorn>=0.30",
    "sqlalchemy>=2.0",
    "alembic>=1.13",
    "psycopg[binary]>=3.2",
]


@dataclass(frozen=True)
class PgProject(Foreign):
    """Driven as the foreign FastAPI project is; its releases are this module's app."""

    init_output: str = ""

    @property
    def password(self) -> str:
        return (self.root / "secrets/db_password").read_text().strip()

    def release(self, version: str) -> None:
        self.code.write_text(APP.replace("{version}", version))
        git(self.root, "add", "-A")
        git(self.root, "commit", "-qm", f"version {version}")


def _files(name: str) -> dict[str, str]:
    """The project: its table made by the Alembic migration its prestart.sh runs."""
    return {
        # Below 3.14, whose image this engine cannot have: init picks 3.13.
        "pyproject.toml": _pyproject(name, DEPENDENCIES, package=True, python=">=3.11,<3.14"),
        f"src/{name.replace('-', '_')}/__init__.py": "",
        "alembic.ini": "[alembic]\nscript_location = migrations\n",
        "migrations/env.py": ALEMBIC_ENV,
        "migrations/versions/0001_items.py": ALEMBIC_ITEMS,
        "scripts/prestart.sh": PRESTART,
    }


@pytest.fixture(scope="module")
def deployed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PgProject]:
    """The project, `slipway init --database postgres`, committed and deployed."""
    root = tmp_path_factory.mktemp("pg-project")
    name = f"pg-{uuid.uuid4().hex[:6]}"
    _write(root, _files(name))
    git(root, "init", "-q")
    subprocess.run(["uv", "lock", "-q"], cwd=root, check=True, timeout=300)
    project = PgProject(root, name, "fastapi", free_port())
    project.release("1")
    said = project.slipway("init", "--database", "postgres")
    project = PgProject(root, name, "fastapi", project.port, said)
    git(root, "add", "-A")
    git(root, "commit", "-qm", "slipway init --database postgres")
    try:
        deployed = project.slipway("deploy")
        assert f"prod is healthy at {project.url}" in deployed
        yield project
    finally:
        take_down(project)


def test_init_writes_postgres_and_offers_the_projects_migration_script(
    deployed: PgProject,
) -> None:
    out = deployed.init_output
    assert "wrote compose/postgres.yaml" in out
    assert "wrote docker/entrypoint.py" in out
    assert "migrates with: bash scripts/prestart.sh" in out
    assert "DATABASE_URL=postgresql+psycopg://app@db:5432/app" in out
    assert "suggestion:" not in out  # --database was given


def test_a_row_posted_is_read_back_and_the_backup_verifies(deployed: PgProject) -> None:
    assert http("GET", f"{deployed.url}/driver") == (200, {"driver": "postgresql+psycopg"})
    status, note = http("POST", f"{deployed.url}/notes", {"text": "kept in postgres"})
    assert status == 201, note
    assert same_note(http("GET", f"{deployed.url}/notes/{note['id']}"), note)

    verified = deployed.slipway("backup", "--verify")
    print(f"backup: {verified.strip()}")  # noqa: T201 (the figures)
    assert "verify ok" in verified
    assert ".pgdump" in verified


def test_a_redeploy_under_load_fails_no_request(deployed: PgProject) -> None:
    deployed.release(f"{uuid.uuid4().hex[:4]}")
    with Traffic(deployed.url, clients=4, min_seconds=20) as load:
        redeployed = deployed.slipway("deploy")
    print(f"redeploy under load: {load.summary()}")  # noqa: T201 (the figures)
    assert "backed up prod" in redeployed  # a release with a migrate step
    assert {o.method for o in load.outcomes} == {"GET", "POST"}
    assert len(load.outcomes) > 200
    assert load.failed == [], load.summary()
    for note in load.acknowledged:
        assert same_note(http("GET", f"{deployed.url}/notes/{note['id']}"), note)


def test_the_password_is_in_no_inspect_log_image_or_project_file(deployed: PgProject) -> None:
    password = deployed.password
    assert len(password) >= 32
    containers = docker.container.list(
        all=True, filters=[("label", f"com.docker.compose.project={deployed.name}-prod")]
    )
    assert {c.config.labels["com.docker.compose.service"] for c in containers} >= {
        "app",
        "db",
        "proxy",
    }
    ids = [c.id for c in containers]
    images = sorted({c.image for c in containers})
    inspected = str(run([*docker.docker_cmd, "inspect", *ids]))
    inspected += str(run([*docker.docker_cmd, "image", "inspect", *images]))
    assert "DATABASE_PASSWORD_FILE" in inspected  # what is there: the file's path
    assert password not in inspected
    for container in containers:
        assert password not in docker.container.logs(container), container.name
    assert password not in deployed.slipway("logs", "--tail", "1000")
    release = next(
        c.config.image for c in containers if c.config.labels["com.docker.compose.service"] == "app"
    )
    assert not _in_image(release, password, deployed.root.parent / f"{deployed.name}.tar")
    kept = {"secrets", "backups", ".git"}
    for path in deployed.root.rglob("*"):
        if path.is_file() and not kept & set(path.relative_to(deployed.root).parts):
            assert password not in path.read_text(errors="replace"), path


def _in_image(ref: str, needle: str, tar: Path) -> bool:
    """Whether any layer of the image (`docker save`: uncompressed layer tars,
    so every file's bytes are there as they are) holds ``needle``."""
    docker.image.save(ref, output=tar)
    wanted = needle.encode()
    try:
        with tarfile.open(tar) as archive:
            for member in archive:
                stream = archive.extractfile(member) if member.isfile() else None
                tail = b""
                while stream is not None and (chunk := stream.read(1 << 20)):
                    if wanted in tail + chunk:
                        return True
                    tail = chunk[-len(wanted) :]
    finally:
        tar.unlink(missing_ok=True)
    return False


# What a command run with `slipway exec` sees: DATABASE_URL with the password
# of the secret file (slipway's entrypoint runs it too), not the file's variable.
SEES = (
    "import os, urllib.parse; "
    "url = urllib.parse.urlsplit(os.environ['DATABASE_URL']); "
    "print(url.password == open('/run/secrets/db_password').read().strip(), "
    "'DATABASE_PASSWORD_FILE' in os.environ)"
)


def test_slipway_exec_sees_the_url_the_server_sees(deployed: PgProject) -> None:
    out = deployed.slipway("exec", "--env", "prod", "--", "python", "-c", SEES)
    assert out.split() == ["True", "False"]
