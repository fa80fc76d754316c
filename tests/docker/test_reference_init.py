"""The reference service shipped the way a user's project is: this repository
without slipway's files for it (slipway.yaml, docker/, compose/, env/), then
`slipway init --package notes-service` in its uv workspace, then `slipway
deploy`. The committed files are that output grown by hand (README, "The
reference service"): PostgreSQL, file secrets, a narrower COPY."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import yaml
from python_on_whales import docker

from tests.docker.conftest import copy_repository, free_port, git, http, same_note

pytestmark = pytest.mark.docker

SLIPWAY = str(Path(sys.executable).parent / "slipway")
OWN_FILES = ("slipway.yaml", "docker", "compose", "env")


def test_init_in_the_workspace_then_deploy_serves_the_reference_service(tmp_path: Path) -> None:
    copy_repository(tmp_path)
    for name in OWN_FILES:
        path = tmp_path / name
        shutil.rmtree(path) if path.is_dir() else path.unlink()
    port = free_port()

    def slipway(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [SLIPWAY, *args],
            cwd=tmp_path,
            env={**os.environ, "APP_PORT": str(port)},
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )

    asked = slipway("init")
    assert asked.returncode == 2  # a usage error
    assert asked.stderr.strip() == (
        "slipway: pyproject.toml is a uv workspace: pass --package with the one to ship "
        "(slipway, notes-service)"
    )
    assert not (tmp_path / "slipway.yaml").exists()

    done = slipway(
        "init",
        "--package",
        "notes-service",
        "--command",
        "notes-service serve",
        "--migrate",
        "notes-service migrate",
    )
    assert done.returncode == 0, done.stderr
    assert "wrote docker/Dockerfile" in done.stdout
    assert "skipped tasks.py: exists: left as it is" in done.stdout
    # Its own compose project and image, so nothing of the checkout's is touched.
    settings = yaml.safe_load((tmp_path / "slipway.yaml").read_text())
    assert (settings["package"], settings["tests"]["unit"]) == ("notes-service", ["service/tests"])
    settings["project"] = f"slipway-test-{uuid.uuid4().hex[:6]}"
    settings["image"] = "slipway-test/notes-init"
    (tmp_path / "slipway.yaml").write_text(yaml.safe_dump(settings, sort_keys=False))
    git(tmp_path, "init", "-q")
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-q", "-m", "slipway init")
    try:
        deployed = slipway("deploy")
        assert deployed.returncode == 0, deployed.stdout + deployed.stderr
        assert f"prod is healthy at http://127.0.0.1:{port}" in deployed.stdout
        url = f"http://127.0.0.1:{port}"
        status, note = http("POST", f"{url}/notes", {"text": "shipped through init"})
        assert status == 201, note
        assert same_note(http("GET", f"{url}/notes/{note['id']}"), note)
        running = slipway("status").stdout
        assert running.count("slipway-test/notes-init:") >= 2, running  # two replicas

        assert slipway("down", "--volumes").returncode == 0
        assert not docker.volume.exists(f"{settings['project']}-prod_app-data")
    finally:
        slipway("down", "--volumes")
