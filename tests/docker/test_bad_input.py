"""Bad input gets one clear line and a non-zero exit, never a traceback."""

from __future__ import annotations

import os
import shutil
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.docker.conftest import Project, app_containers, http

pytestmark = pytest.mark.docker


def one_line_error(result: object, code: int = 1) -> str:
    """The one line of a failure (exit 1) or, with ``code=2``, of a usage error."""
    returncode, stdout, stderr = (getattr(result, k) for k in ("returncode", "stdout", "stderr"))
    assert returncode == code, (stdout, stderr)
    assert "Traceback" not in stderr + stdout
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    return str(lines[0])


def test_broken_slipway_yaml_names_the_file_and_line(project: Project, tmp_path: Path) -> None:
    broken = tmp_path / "slipway.yaml"
    broken.write_text("project: [unclosed\nimage: x\n")
    line = one_line_error(project.invoke("deploy", SLIPWAY_CONFIG=str(broken)))
    assert line.startswith("slipway: slipway.yaml: invalid YAML at line")


def test_wrong_type_in_slipway_yaml_names_the_key(project: Project, tmp_path: Path) -> None:
    config = tmp_path / "slipway.yaml"
    text = (
        (project.root / "slipway.yaml")
        .read_text()
        .replace("health_timeout: 90", "health_timeout: soon")
    )
    config.write_text(text)
    for name in ("compose", "docker"):
        (tmp_path / name).symlink_to(project.root / name)
    line = one_line_error(project.invoke("build", SLIPWAY_CONFIG=str(config)))
    number = text.splitlines().index("    health_timeout: soon") + 1
    assert line == (
        f"slipway: slipway.yaml:{number}: environments.prod.health_timeout: "
        "expected a positive integer, got 'soon'"
    )


def test_unreachable_daemon_is_one_line(project: Project, tmp_path: Path) -> None:
    dead = f"unix://{tmp_path}/no-docker.sock"
    for task in (("build", "--target", "prod"), ("deploy",), ("status",)):
        line = one_line_error(project.invoke(*task, DOCKER_HOST=dead))
        assert line == (
            f"slipway: cannot reach the Docker daemon at {dead}: start Docker, or fix DOCKER_HOST"
        )


@pytest.fixture
def running(project: Project) -> Iterator[list[str]]:
    """The project's prod stack, deployed; yields its app containers' ids and,
    after the test, checks that the bad input left them running and serving."""
    project.ok("deploy")
    before = app_ids(project)
    yield before
    assert app_ids(project) == before, "the running app was replaced"
    assert http("GET", f"{project.url}/health") == (200, {"status": "ok"})


def app_ids(project: Project) -> list[str]:
    return [c.id for c in app_containers(project)]


def variant(project: Project, name: str, change: Callable[[dict[str, Any]], None]) -> str:
    """A changed copy of the project's slipway.yaml beside it (same project, same stack)."""
    settings = yaml.safe_load((project.root / "slipway.yaml").read_text())
    change(settings)
    path = project.root / f"{name}.yaml"
    path.write_text(yaml.safe_dump(settings, sort_keys=False))
    return str(path)


@pytest.mark.usefixtures("running")
def test_unknown_environment_is_refused_and_touches_nothing(project: Project) -> None:
    line = one_line_error(project.invoke("deploy", "--env", "staging"), code=2)
    assert line == "slipway: unknown environment 'staging': slipway.yaml defines dev, prod, prod-pg"


@pytest.mark.usefixtures("running")
def test_missing_env_file_without_an_example_is_refused(project: Project) -> None:
    config = variant(
        project, "no-env", lambda s: s["environments"]["prod"].update(env_file="env/gone.env")
    )
    line = one_line_error(project.invoke("deploy", SLIPWAY_CONFIG=config))
    assert line.startswith("slipway: gone.env is missing for environment prod")
    assert "create " in line


@pytest.mark.usefixtures("running")
def test_missing_compose_plugin_is_one_line(project: Project, tmp_path: Path) -> None:
    real = shutil.which("docker")
    fake = tmp_path / "docker"
    fake.write_text(
        "#!/bin/sh\n"
        'if [ "$1" = compose ]; then\n'
        "  echo \"docker: 'compose' is not a docker command.\" >&2; exit 1\n"
        "fi\n"
        f'exec {real} "$@"\n'
    )
    fake.chmod(0o755)
    path = f"{tmp_path}:{os.environ['PATH']}"
    line = one_line_error(project.invoke("deploy", PATH=path))
    assert line == (
        "slipway: the docker compose v2 plugin is missing: install docker-compose-plugin"
    )


@pytest.mark.usefixtures("running")
def test_host_port_in_use_is_refused_before_anything_changes(project: Project) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        line = one_line_error(project.invoke("deploy", APP_PORT=str(port)))
    assert line == (
        f"slipway: port 127.0.0.1:{port} is already in use by another program: stop it, "
        "or set APP_PORT in env/prod.env"
    )


@pytest.mark.usefixtures("running")
def test_failing_build_shows_the_failing_step(project: Project) -> None:
    dockerfile = (project.root / "docker/Dockerfile").read_text()
    broken = dockerfile.replace(
        "FROM base AS prod\n",
        "FROM base AS prod\nRUN echo 'compiling the flux capacitor' && exit 3\n",
    )
    (project.root / "docker/Broken.Dockerfile").write_text(broken)
    config = variant(
        project, "broken-build", lambda s: s.update(dockerfile="docker/Broken.Dockerfile")
    )
    result = project.invoke("deploy", SLIPWAY_CONFIG=config)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    *details, last = result.stderr.strip().splitlines()
    assert last.startswith(
        "slipway: building target prod failed at `RUN echo 'compiling the flux capacitor'"
    )
    assert any("compiling the flux capacitor" in line for line in details)
    assert any("exit code: 3" in line for line in [*details, last])


@pytest.mark.usefixtures("running")
def test_image_over_budget_is_not_deployed(project: Project) -> None:
    config = variant(project, "tight", lambda s: s["targets"].update(prod={"size_budget_mb": 20}))
    line = one_line_error(project.invoke("deploy", SLIPWAY_CONFIG=config))
    assert "over its 20 MB budget (the running stack is untouched)" in line
