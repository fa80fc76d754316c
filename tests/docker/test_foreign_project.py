"""slipway on a project that is not this repository's: a FastAPI app written
from scratch here, its own uv lock, `slipway init`, then the same guarantees."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from python_on_whales import docker

from bench.traffic import Traffic
from tests.docker.conftest import free_port, git, http

pytestmark = pytest.mark.docker

SLIPWAY = str(Path(sys.executable).parent / "slipway")
APP = """\
from fastapi import FastAPI

app = FastAPI()
VERSION = "{version}"


@app.get("/health")
def health() -> dict[str, str]:
    return {{"status": "ok"}}


@app.get("/")
def hello() -> dict[str, str]:
    return {{"hello": "world", "version": VERSION}}
"""
TEST = """\
from fastapi.testclient import TestClient

from {module}.main import app


def test_hello() -> None:
    assert TestClient(app).get("/").json()["hello"] == "world"
"""


@dataclass(frozen=True)
class Foreign:
    root: Path
    name: str
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def run(self, *argv: str) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "APP_PORT": str(self.port)}
        return subprocess.run(
            list(argv),
            cwd=self.root,
            env=env,
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
        module = self.name.replace("-", "_")
        (self.root / f"src/{module}/main.py").write_text(APP.format(version=version))
        git(self.root, "add", "-A")
        git(self.root, "commit", "-qm", f"version {version}")


@pytest.fixture(scope="module")
def foreign(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Foreign]:
    root = tmp_path_factory.mktemp("foreign")
    name = f"hello-{uuid.uuid4().hex[:6]}"
    module = name.replace("-", "_")
    (root / "pyproject.toml").write_text(
        f'[project]\nname = "{name}"\nversion = "0.1.0"\nrequires-python = ">=3.11"\n'
        'dependencies = ["fastapi>=0.110", "uvicorn>=0.30"]\n\n'
        '[dependency-groups]\ntest = ["pytest>=8", "pytest-cov>=5", "httpx>=0.27"]\n\n'
        '[build-system]\nrequires = ["hatchling"]\nbuild-backend = "hatchling.build"\n'
    )
    (root / f"src/{module}").mkdir(parents=True)
    (root / f"src/{module}/__init__.py").write_text("")
    (root / "tests").mkdir()
    (root / "tests/test_hello.py").write_text(TEST.format(module=module))
    project = Foreign(root, name, free_port())
    git(root, "init", "-q")
    subprocess.run(["uv", "lock", "-q"], cwd=root, check=True, timeout=300)
    project.release("1")
    try:
        yield project
    finally:
        project.run(SLIPWAY, "down", "--volumes")
        tags = [t for image in docker.image.list(name) for t in image.repo_tags]
        if tags:
            docker.image.remove(tags, force=True)


def test_init_writes_the_files_then_a_second_run_changes_nothing(foreign: Foreign) -> None:
    out = foreign.slipway("init")
    assert "wrote slipway.yaml" in out
    assert f"uvicorn {foreign.name.replace('-', '_')}.main:app" in out
    git(foreign.root, "add", "-A")
    git(foreign.root, "commit", "-qm", "slipway init")

    again = foreign.slipway("init")
    assert "nothing changed" in again
    assert "wrote" not in again
    assert (
        subprocess.run(
            ["git", "status", "--porcelain"],
            cwd=foreign.root,
            capture_output=True,
            text=True,
            check=False,
        ).stdout
        == ""
    )


def test_the_generated_files_pass_lint_and_policy(foreign: Foreign) -> None:
    done = foreign.run(
        sys.executable, "-m", "nox", "--noxfile", "noxfile.py", "-s", "lint", "policy"
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "Session lint was successful" in done.stderr
    assert "app: 12 rules pass" in done.stderr


def test_deploy_redeploy_under_load_and_rollback(foreign: Foreign) -> None:
    out = foreign.slipway("deploy")
    assert f"prod is healthy at {foreign.url}" in out
    assert http("GET", f"{foreign.url}/") == (200, {"hello": "world", "version": "1"})

    foreign.release("2")
    with Traffic(foreign.url, clients=4, gets=("/", "/health")) as load:
        foreign.slipway("deploy")
    print(f"foreign redeploy: {load.summary()}")  # noqa: T201 (the figures)
    assert load.failed == []
    assert http("GET", f"{foreign.url}/")[1]["version"] == "2"

    foreign.slipway("rollback")
    assert http("GET", f"{foreign.url}/")[1]["version"] == "1"
    status = foreign.slipway("status")
    assert status.count("healthy") >= 3  # the proxy and two replicas
