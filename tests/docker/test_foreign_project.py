"""slipway on projects that are not this repository's: a FastAPI app (SQLAlchemy
and Alembic on SQLite) and a Django app (its own migrations, gunicorn), each
written from scratch here with its own uv lock, then `slipway init` and the
same guarantees as the reference service."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tarfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from python_on_whales import Container, docker

from bench.traffic import Traffic
from tests.docker.conftest import free_port, git, http

pytestmark = pytest.mark.docker

SLIPWAY = str(Path(sys.executable).parent / "slipway")
ROOT = Path(__file__).resolve().parents[2]
# `uv tool install` as the README's "The slipway command" section writes it.
README_TOOL_FLAGS = ("--with-executables-from", "invoke,nox")

# The project's own .dockerignore, there before `slipway init` (which then
# skips it): it keeps nothing secret out of the build context.
OWN_DOCKERIGNORE = ".venv\n__pycache__\n"
# A git token in the remote URL: it must reach no label, history or SBOM.
TOKEN = "ghp_LEAKED0TOKEN0SHOULD0NEVER0SHIP"  # noqa: S105 (a decoy)
REMOTE = f"https://bot:{TOKEN}@example.test/org/leak.git"
# Secret-bearing files beside the code that no image may hold.
DECOYS = {
    ".env": f"API_TOKEN={TOKEN}\n",
    "backups/prod-20260101T000000Z.sqlite3": "a database dump\n",
    "secrets/extra_key": f"{TOKEN}\n",
}

# --- a FastAPI service: SQLAlchemy, Alembic, SQLite ----------------------------------

# A counter in Redis, spoken to in its own protocol (no client library):
# the app depends on a sidecar that slipway must start (issue 23).
INCR = """

def _incr(key: str) -> int:
    command = b"*2\\r\\n$4\\r\\nINCR\\r\\n$%d\\r\\n%s\\r\\n" % (len(key), key.encode())
    with socket.create_connection(("redis", 6379), timeout=2) as conn:
        conn.sendall(command)
        return int(conn.recv(64)[1:].split(b"\\r\\n")[0])
"""
FASTAPI_APP = """\
import os
import socket

from fastapi import FastAPI
from sqlalchemy import create_engine, text

VERSION = "{version}"
engine = create_engine(os.environ.get("DATABASE_URL", "sqlite:///./dev.db"))
app = FastAPI()


@app.get("/health")
def health() -> dict[str, str]:
    return {"status": "ok"}


@app.get("/")
def hello() -> dict[str, str]:
    return {"hello": "world", "version": VERSION}


@app.post("/items", status_code=201)
def add(item: dict[str, str]) -> dict[str, int]:
    with engine.begin() as db:
        row = db.execute(
            text("INSERT INTO items (name) VALUES (:name) RETURNING id"),
            {"name": item["name"]},
        )
        return {"id": int(row.scalar_one())}


@app.get("/visits")
def visits() -> dict[str, int]:
    return {"visits": _incr("visits")}
"""
ALEMBIC_ENV = """\
import os

from alembic import context
from sqlalchemy import create_engine

engine = create_engine(os.environ.get("DATABASE_URL", "sqlite:///./dev.db"))
with engine.connect() as connection:
    context.configure(connection=connection, target_metadata=None)
    with context.begin_transaction():
        context.run_migrations()
"""
ALEMBIC_ITEMS = """\
import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None


def upgrade() -> None:
    op.create_table(
        "items",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
    )
"""
# The FastAPI app's worker (`slipway init --worker`): it only proves it lives.
FASTAPI_WORKER = """\
import os
import pathlib
import signal
import threading

stop = threading.Event()
signal.signal(signal.SIGTERM, lambda *_: stop.set())
beat = pathlib.Path(os.environ["HEARTBEAT_FILE"])
print("worker up, fencing token", os.environ.get("SLIPWAY_FENCING_TOKEN"), flush=True)
while not stop.is_set():
    beat.touch()
    stop.wait(2)
"""
FASTAPI_TEST = """\
from fastapi.testclient import TestClient

from {module}.main import app


def test_hello() -> None:
    assert TestClient(app).get("/").json()["hello"] == "world"
"""

# --- a Django site: its own migrations, gunicorn ---------------------------------------

DJANGO_SETTINGS = """\
import os

SECRET_KEY = os.environ.get("SECRET_KEY", "a-test-only-key-that-is-not-secret")
DEBUG = False
ALLOWED_HOSTS = ["*"]
INSTALLED_APPS = ["items"]
MIDDLEWARE: list[str] = []
ROOT_URLCONF = "mysite.urls"
WSGI_APPLICATION = "mysite.wsgi.application"
URL = os.environ.get("DATABASE_URL", "sqlite:///dev.db")
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": URL.removeprefix("sqlite:///"),
    }
}
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
"""
DJANGO_URLS = """\
import json
import socket

from django.http import HttpRequest, JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from items.models import Item

VERSION = "{version}"


def health(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


def hello(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"hello": "world", "version": VERSION})


@csrf_exempt
def add(request: HttpRequest) -> JsonResponse:
    item = Item.objects.create(name=json.loads(request.body)["name"])
    return JsonResponse({"id": item.id}, status=201)


def visits(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"visits": _incr("visits")})


urlpatterns = [
    path("health", health),
    path("", hello),
    path("items", add),
    path("visits", visits),
]
"""
DJANGO_MODELS = """\
from django.db import models


class Item(models.Model):
    name = models.CharField(max_length=200)
"""
DJANGO_MIGRATION = """\
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True
    dependencies = ()
    operations = (
        migrations.CreateModel(
            name="Item",
            fields=[
                ("id", models.BigAutoField(primary_key=True, serialize=False)),
                ("name", models.CharField(max_length=200)),
            ],
        ),
    )
"""
MANAGE = """\
import os
import sys

from django.core.management import execute_from_command_line

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mysite.settings")
execute_from_command_line(sys.argv)
"""
WSGI = """\
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mysite.settings")
application = get_wsgi_application()
"""


PRINT_VERSION = "import sys; print('%d.%d' % sys.version_info[:2])"
# The Python each project requires, and the image init builds it on.
PYTHON = {
    "fastapi": ("3.13", "python:3.13-slim-trixie"),
    "django": ("3.11", "python:3.11-slim-bookworm"),
}


def _pyproject(name: str, dependencies: list[str], *, package: bool, python: str) -> str:
    build = (
        '\n[build-system]\nrequires = ["hatchling"]\nbuild-backend = "hatchling.build"\n'
        if package
        else ""
    )
    return (
        f'[project]\nname = "{name}"\nversion = "0.1.0"\nrequires-python = "{python}"\n'
        f"dependencies = {dependencies!r}\n\n".replace("'", '"')
        + '[dependency-groups]\ntest = ["pytest>=8", "pytest-cov>=5", "httpx>=0.27"]\n'
        + build
    )


def _write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)


@dataclass(frozen=True)
class Foreign:
    root: Path
    name: str
    kind: str
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def code(self) -> Path:
        """The file whose VERSION a release changes."""
        if self.kind == "django":
            return self.root / "mysite/urls.py"
        return self.root / f"src/{self.name.replace('-', '_')}/main.py"

    def run(self, *argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            list(argv),
            cwd=self.root,
            env={**os.environ, "APP_PORT": str(self.port)},
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )

    def slipway(self, *args: str) -> str:
        done = self.run(SLIPWAY, *args)
        assert done.returncode == 0, f"slipway {' '.join(args)}:\n{done.stdout}\n{done.stderr}"
        return done.stdout

    def release(self, version: str) -> None:
        template = DJANGO_URLS if self.kind == "django" else FASTAPI_APP
        self.code.write_text(template.replace("{version}", version) + INCR)
        git(self.root, "add", "-A")
        git(self.root, "commit", "-qm", f"version {version}")


def _fastapi(root: Path, name: str) -> None:
    module = name.replace("-", "_")
    deps = ["fastapi>=0.110", "uvicorn>=0.30", "sqlalchemy>=2.0", "alembic>=1.13"]
    _write(
        root,
        {
            "pyproject.toml": _pyproject(name, deps, package=True, python=">=3.11,<3.14"),
            f"src/{module}/__init__.py": "",
            "alembic.ini": "[alembic]\nscript_location = migrations\n",
            "migrations/env.py": ALEMBIC_ENV,
            "migrations/versions/0001_items.py": ALEMBIC_ITEMS,
            "tests/test_hello.py": FASTAPI_TEST.replace("{module}", module),
            f"src/{module}/worker.py": FASTAPI_WORKER,
        },
    )


def _django(root: Path, name: str) -> None:
    _write(
        root,
        {
            "pyproject.toml": _pyproject(
                name, ["django>=5.0", "gunicorn>=22"], package=False, python="==3.11.*"
            ),
            "manage.py": MANAGE,
            "mysite/__init__.py": "",
            "mysite/settings.py": DJANGO_SETTINGS,
            "mysite/wsgi.py": WSGI,
            "items/__init__.py": "",
            "items/models.py": DJANGO_MODELS,
            "items/migrations/__init__.py": "",
            "items/migrations/0001_initial.py": DJANGO_MIGRATION,
        },
    )


@pytest.fixture(scope="module", params=["fastapi", "django"])
def foreign(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Foreign]:
    kind = str(request.param)
    root = tmp_path_factory.mktemp(kind)
    name = f"{kind}-{uuid.uuid4().hex[:6]}"
    (_django if kind == "django" else _fastapi)(root, name)
    project = Foreign(root, name, kind, free_port())
    _write(root, {".dockerignore": OWN_DOCKERIGNORE})
    git(root, "init", "-q")
    git(root, "remote", "add", "origin", REMOTE)
    subprocess.run(["uv", "lock", "-q"], cwd=root, check=True, timeout=300)
    project.release("1")
    try:
        yield project
    finally:
        take_down(project)


def take_down(project: Foreign) -> None:
    """The project's stack and volumes down, and every image it built gone (by tag)."""
    project.run(SLIPWAY, "down", "--volumes")
    tags = [t for image in docker.image.list(project.name) for t in image.repo_tags]
    if tags:
        docker.image.remove(tags, force=True)


def _init_flags(foreign: Foreign) -> list[str]:
    """The FastAPI app has a worker; the Django site has none."""
    module = foreign.name.replace("-", "_")
    return ["--worker", f"python -m {module}.worker"] if foreign.kind == "fastapi" else []


def test_init_writes_the_files_then_a_second_run_changes_nothing(foreign: Foreign) -> None:
    out = foreign.slipway("init", *_init_flags(foreign))
    assert "wrote slipway.yaml" in out
    assert ("wrote compose/worker.yaml" in out) is (foreign.kind == "fastapi")
    assert "skipped .dockerignore" in out  # the project's own stays as it is
    assert "wrote compose/migrate.yaml" in out
    server = "gunicorn mysite.wsgi:application" if foreign.kind == "django" else "uvicorn "
    assert f"serves with: {server}" in out
    # The project's own Python (issue 27 item 6): Django's requires 3.11, on Debian 12.
    python, image = PYTHON[foreign.kind]
    assert f"python: {python} on {image} (the highest requires-python " in out
    assert f"FROM {image} AS base" in (foreign.root / "docker/Dockerfile").read_text()
    git(foreign.root, "add", "-A")
    git(foreign.root, "commit", "-qm", "slipway init")

    again = foreign.slipway("init", *_init_flags(foreign))
    assert "nothing changed" in again
    assert "wrote" not in again
    status = foreign.run("git", "status", "--porcelain")
    assert status.stdout == ""


@pytest.fixture(scope="module")
def tool_bin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """slipway installed as the README says, as a uv tool, in folders of its own."""
    tools = tmp_path_factory.mktemp("uv-tools")
    done = subprocess.run(
        ["uv", "tool", "install", *README_TOOL_FLAGS, str(ROOT)],
        env={
            **_outside_this_venv(),
            "UV_TOOL_DIR": str(tools),
            "UV_TOOL_BIN_DIR": str(tools / "bin"),
        },
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return tools / "bin"


def _outside_this_venv() -> dict[str, str]:
    """This process's environment without the test run's virtualenv or nox's."""
    here = str(Path(sys.executable).parent)
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"VIRTUAL_ENV", "UV_PROJECT_ENVIRONMENT", "NOX_CURRENT_SESSION"}
    }
    env["PATH"] = os.pathsep.join(p for p in env["PATH"].split(os.pathsep) if p != here)
    return env


def test_a_fresh_clone_passes_make_lint_and_make_test(
    foreign: Foreign, tool_bin: Path, tmp_path: Path
) -> None:
    # A teammate's first day: clone, then only the README's commands, with
    # slipway installed as a uv tool (no slipway, nox or invoke in the project).
    assert f"uv tool install {' '.join(README_TOOL_FLAGS)} " in (ROOT / "README.md").read_text()
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(foreign.root), str(clone))
    env = {**_outside_this_venv(), "PATH": f"{tool_bin}{os.pathsep}{_outside_this_venv()['PATH']}"}
    for goal in ("lint", "test"):
        done = subprocess.run(
            ["make", goal],
            cwd=clone,
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
        assert done.returncode == 0, f"make {goal}:\n{done.stdout[-3000:]}\n{done.stderr[-5000:]}"
    # The Django site has no tests yet: make test says nothing ran (a skip,
    # not a pass) and exits 0; the FastAPI app's one test runs in its test image.
    if foreign.kind == "django":
        assert "Session docker_tests skipped: nothing to run: pytest collected no test" in (
            done.stderr
        )
    else:
        assert "Session docker_tests was successful" in done.stderr
        assert "1 passed" in done.stdout + done.stderr
    assert "Session policy was successful" in done.stderr
    assert "app: 12 rules pass" in done.stderr  # the generated compose files' hardening


def test_deploy_redeploy_under_load_rollback_backup_and_down(foreign: Foreign) -> None:
    out = foreign.slipway("deploy")
    assert f"prod is healthy at {foreign.url}" in out
    assert http("GET", f"{foreign.url}/") == (200, {"hello": "world", "version": "1"})
    served_by = foreign.run(SLIPWAY, "exec", "--env", "prod", "--", "python", "-c", PRINT_VERSION)
    assert served_by.stdout.strip() == PYTHON[foreign.kind][0], served_by
    for n in range(3):
        status, body = http("POST", f"{foreign.url}/items", {"name": f"item {n}"})
        assert status == 201, body
    if foreign.kind == "fastapi":
        # init's worker: the release image, its heartbeat probe, its own logs.
        (row,) = [ln for ln in foreign.slipway("status").splitlines() if " worker " in f" {ln} "]
        assert "healthy" in row
        logs = foreign.slipway("logs", "--role", "worker", "--tail", "all")
        assert "worker up, fencing token None" in logs

    foreign.release("2")
    _write(foreign.root, DECOYS)  # git-ignored by init's .gitignore lines, or not: both leak
    with Traffic(foreign.url, clients=4, gets=("/", "/health")) as load:
        redeployed = foreign.slipway("deploy")
    print(f"{foreign.kind} redeploy: {load.summary()}")  # noqa: T201 (the figures)
    assert "backed up prod" in redeployed  # a new release with a migrate step
    assert load.failed == []
    assert http("GET", f"{foreign.url}/")[1]["version"] == "2"
    _assert_nothing_secret_in_the_release(foreign)

    foreign.slipway("rollback")
    assert http("GET", f"{foreign.url}/")[1]["version"] == "1"

    verified = foreign.slipway("backup", "--verify")
    print(f"{foreign.kind} backup: {verified.strip()}")  # noqa: T201
    assert "verify ok" in verified
    assert "3 rows" in verified or "4 rows" in verified  # items, and the migration's own table

    assert "volumes are kept" in foreign.slipway("down")
    assert foreign.slipway("status").startswith("prod: nothing is running")


def _add_redis(foreign: Foreign) -> None:
    """Redis beside the app, as a user adds it: a service with its health and
    data in compose/base.yaml, the app waiting for it to be healthy, and in
    compose/prod.yaml the hardening init gave the app; committed."""
    base_file, prod_file = foreign.root / "compose/base.yaml", foreign.root / "compose/prod.yaml"
    base, prod = yaml.safe_load(base_file.read_text()), yaml.safe_load(prod_file.read_text())
    base["services"]["redis"] = {
        "image": "redis:8",
        "volumes": ["redis-data:/data"],
        "healthcheck": {
            "test": ["CMD", "redis-cli", "ping"],
            "interval": "10s",
            "timeout": "3s",
            "retries": 3,
            "start_period": "10s",
            "start_interval": "1s",
        },
    }
    base["services"]["app"]["depends_on"] = {"redis": {"condition": "service_healthy"}}
    base["volumes"]["redis-data"] = None
    hardened = {k: v for k, v in prod["services"]["app"].items() if k != "stop_grace_period"}
    prod["services"]["redis"] = hardened
    base_file.write_text(yaml.safe_dump(base, sort_keys=False))
    prod_file.write_text(yaml.safe_dump(prod, sort_keys=False))
    git(foreign.root, "add", "-A")
    git(foreign.root, "commit", "-qm", "redis beside the app")


# What a sidecar goes through does not depend on the app's framework: the
# FastAPI project alone (Django's deploys are proven above).
@pytest.mark.parametrize("foreign", ["fastapi"], indirect=True)
def test_a_redis_the_app_needs_starts_healthy_before_it_and_status_lists_it(
    foreign: Foreign,
) -> None:
    # Issue 23's first finding: the rollout starts the app alone (--no-deps),
    # so the Redis it depends on never started and every request that used
    # it answered 500, while deploy said healthy.
    _add_redis(foreign)

    out = foreign.slipway("deploy")

    assert "started redis (healthy) before the app" in out
    assert http("GET", f"{foreign.url}/visits") == (200, {"visits": 1})
    assert http("GET", f"{foreign.url}/visits") == (200, {"visits": 2})
    started = {
        (c.config.labels or {})["com.docker.compose.service"]: c.state.started_at
        for c in docker.container.list(
            filters=[("label", f"com.docker.compose.project={foreign.name}-prod")]
        )
    }
    assert started["redis"] < started["app"]
    # It names no network: it is on an internal one alone, which the app joins.
    (redis,) = docker.container.list(
        filters=[
            ("label", f"com.docker.compose.project={foreign.name}-prod"),
            ("label", "com.docker.compose.service=redis"),
        ]
    )
    (network,) = redis.network_settings.networks
    assert network == f"{foreign.name}-prod_slipway-sidecars"
    assert docker.network.inspect(network).internal
    (row,) = [line for line in foreign.slipway("status").splitlines() if " redis " in f" {line} "]
    assert "running" in row
    assert "healthy" in row
    # Part of the stack now: a deploy with nothing to roll leaves it as it is.
    again = foreign.slipway("deploy")
    assert "nothing to roll" in again
    assert "started redis" not in again
    assert "tried" not in again
    assert http("GET", f"{foreign.url}/visits") == (200, {"visits": 3})

    # A sidecar image this engine lacks and cannot pull: one line, and what
    # runs is left as it was.
    running = sorted(c.id for c in docker.container.list())
    base_file = foreign.root / "compose/base.yaml"
    base_file.write_text(base_file.read_text().replace("image: redis:8", "image: redis:8-alpine"))
    git(foreign.root, "commit", "-qam", "an image this engine lacks")
    line = _refused(foreign)
    assert line.startswith(
        "slipway: the sidecar image(s) of redis (redis:8-alpine) are not on prod's engine "
        "(the local engine) and could not be pulled: load them there (docker load) or let "
        "that engine reach their registry; "
    ), line
    assert line.endswith(" kept serving and no request reached the new release"), line
    assert sorted(c.id for c in docker.container.list()) == running
    assert http("GET", f"{foreign.url}/visits") == (200, {"visits": 4})

    # A change that breaks it: tried first, refused in one line, while the
    # running Redis and release serve every request.
    _redis_command(foreign, ["redis-server", "--no-such-directive", "yes"], "a broken redis")
    with Traffic(foreign.url, clients=2, gets=("/visits",), min_seconds=5) as load:
        # Its own log says why, among the details.
        line = _refused(foreign, details="redis (trial) log: ")
    assert line.startswith(
        "slipway: redis's new configuration did not pass its trial, so redis was not "
        "replaced: redis (trial) exited with code 1 before it was healthy; "
    ), line
    assert load.failed == [], load.summary()
    assert sorted(c.id for c in docker.container.list()) == running
    assert not docker.container.list(all=True, filters=[("label", "slipway.trial")])

    # One that works: tried, then it replaces the running one, its data kept.
    bounded = ["redis-server", "--protected-mode", "no", "--dir", "/data", "--maxmemory"]
    _redis_command(foreign, [*bounded, "${REDIS_MAXMEMORY:-64mb}"], "a bounded redis")
    out = foreign.slipway("deploy")
    assert "tried the new configuration of redis: healthy" in out
    status, body = http("GET", f"{foreign.url}/visits")
    assert status == 200, body
    visits = body["visits"]
    assert visits > 5  # the count went on from what the old one had
    # Before compose replaced it, the old one was stopped (Redis writes its
    # dump as it stops) and its volume kept: the dump holds the count.
    saved = _kept_dump(foreign, out)
    assert saved.startswith(b"REDIS"), saved[:16]
    assert b"visits" in saved
    _dependents_restart_only_when_they_must(foreign)
    foreign.slipway("down", "--volumes")


def _dependents_restart_only_when_they_must(foreign: Foreign) -> None:
    """A change to Redis alone (its env file: the same release) replaces it
    and leaves the app as it is, unless the app's depends_on says
    `restart: true` for it: then the app rolls onto new containers."""
    env_file = foreign.root / "env/prod.env"
    env_file.write_text(env_file.read_text() + "REDIS_MAXMEMORY=48mb\n")
    apps = {c.id for c in _app(foreign)}
    out = foreign.slipway("deploy")
    assert "stopped redis and kept its data" in out
    assert "nothing to roll" in out
    assert {c.id for c in _app(foreign)} == apps
    assert http("GET", f"{foreign.url}/visits")[0] == 200

    base_file = foreign.root / "compose/base.yaml"
    base = yaml.safe_load(base_file.read_text())
    base["services"]["app"]["depends_on"]["redis"]["restart"] = True
    base_file.write_text(yaml.safe_dump(base, sort_keys=False))
    git(foreign.root, "commit", "-qam", "the app restarts with redis")
    foreign.slipway("deploy")
    env_file.write_text(env_file.read_text().replace("=48mb", "=32mb"))
    apps = {c.id for c in _app(foreign)}
    # The app rolls with no failed request ("/" needs no Redis): compose
    # itself restarted none of its containers when it replaced Redis.
    with Traffic(foreign.url, clients=2, gets=("/",), min_seconds=3) as load:
        out = foreign.slipway("deploy")
    assert (
        "its configuration changed (redis replaced, and app's depends_on says restart: true)"
    ) in out
    assert load.failed == [], load.summary()
    assert not apps & {c.id for c in _app(foreign)}
    assert http("GET", f"{foreign.url}/visits")[0] == 200


def _app(foreign: Foreign) -> list[Container]:
    return docker.container.list(
        filters=[
            ("label", f"com.docker.compose.project={foreign.name}-prod"),
            ("label", "com.docker.compose.service=app"),
        ]
    )


def _kept_dump(foreign: Foreign, out: str) -> bytes:
    """The Redis dump in the file a deploy said it kept the old one's data in."""
    kept = re.search(r"stopped redis and kept its data \(/data\) in (\S+) \(", out)
    assert kept, out
    with tarfile.open(foreign.root / kept.group(1)) as tar:
        dump = tar.extractfile("data/dump.rdb")
        assert dump is not None
        return dump.read()


def _refused(foreign: Foreign, *, details: str = "") -> str:
    """A failed deploy's one line (after the details it prints, which hold
    ``details``): that line."""
    failed = foreign.run(SLIPWAY, "deploy")
    assert failed.returncode == 1, failed.stdout
    *before, line = failed.stderr.strip().splitlines()
    assert details in "\n".join(before), failed.stderr
    assert not any(earlier.startswith("slipway: ") for earlier in before), failed.stderr
    return line


def _redis_command(foreign: Foreign, command: list[str], message: str) -> None:
    base_file = foreign.root / "compose/base.yaml"
    base = yaml.safe_load(base_file.read_text())
    base["services"]["redis"]["image"] = "redis:8"
    base["services"]["redis"]["command"] = command
    base_file.write_text(yaml.safe_dump(base, sort_keys=False))
    git(foreign.root, "commit", "-qam", message)


def _image_files(ref: str, tar: Path) -> list[str]:
    """Every path in the image's file system, from an export of a created,
    never-started container."""
    container = docker.container.create(ref, pull="never")
    try:
        docker.container.export(container, tar)
    finally:
        docker.container.remove(container, force=True)
    with tarfile.open(tar) as archive:
        return archive.getnames()


def _assert_nothing_secret_in_the_release(foreign: Foreign) -> None:
    """The running release was built from a tree holding env/prod.env, the
    secret files, a backup, .env, .slipway/ and .git (whose config names the
    token), behind a .dockerignore that excludes none of them: the image
    holds none, and its labels, the history and the SBOM name no token."""
    pointer = (foreign.root / ".slipway/prod.env").read_text()
    ref = pointer.split("SLIPWAY_IMAGE=", 1)[1].split()[0].strip("'\"")
    names = _image_files(ref, foreign.root.parent / f"{foreign.name}.tar")
    (foreign.root.parent / f"{foreign.name}.tar").unlink()
    assert any(name.endswith("app/pyproject.toml") for name in names), names[:20]
    leaked = [
        name
        for name in names
        if name.rstrip("/").split("/")[-1] in {".env", "prod.env", ".git", ".slipway"}
        or "/backups/" in f"/{name}"
        or "/secrets/" in f"/{name}"
    ]
    assert leaked == []
    labels = docker.image.inspect(ref).config.labels or {}
    assert labels["org.opencontainers.image.source"] == "https://example.test/org/leak.git"
    for record in (foreign.root / ".slipway").rglob("*"):
        if record.is_file():
            assert TOKEN not in record.read_text(errors="replace"), record
    assert TOKEN not in foreign.slipway("history", "--json")
