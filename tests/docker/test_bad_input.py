"""Bad input gets one clear line and a non-zero exit, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.docker.conftest import Project

pytestmark = pytest.mark.docker


def one_line_error(result: object) -> str:
    returncode, stdout, stderr = (getattr(result, k) for k in ("returncode", "stdout", "stderr"))
    assert returncode == 1, (stdout, stderr)
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
    assert line == (
        "slipway: slipway.yaml: environments.prod.health_timeout: "
        "expected a positive integer, got 'soon'"
    )


def test_unreachable_daemon_is_one_line(project: Project, tmp_path: Path) -> None:
    dead = f"unix://{tmp_path}/no-docker.sock"
    for task in (("build", "--target", "prod"), ("deploy",), ("status",)):
        line = one_line_error(project.invoke(*task, DOCKER_HOST=dead))
        assert line == (
            f"slipway: cannot reach the Docker daemon at {dead}: start Docker, or fix DOCKER_HOST"
        )


def test_unknown_environment_is_refused(project: Project) -> None:
    line = one_line_error(project.invoke("deploy", "--env", "staging"))
    assert line == "slipway: unknown environment 'staging': slipway.yaml defines dev, prod"
