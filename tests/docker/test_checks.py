"""The size and non-root checks, and the in-container test run, on real images."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from python_on_whales import docker

from slipway import config, engine
from slipway.build import testrun
from slipway.errors import CheckFailed
from tests.docker.conftest import ROOT, Project

pytestmark = pytest.mark.docker


def nox(project: Project, session: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Run one nox session of the copy, as `nox -s SESSION` would."""
    return project.run("nox", "--noxfile", str(project.root / "noxfile.py"), "-s", session, **env)


def with_budget(project: Project, tmp_path: Path, prod_mb: int) -> Path:
    """A copy of the project's slipway.yaml with another prod budget."""
    settings = yaml.safe_load((project.root / "slipway.yaml").read_text())
    settings["targets"] = {"dev": None, "test": None, "prod": {"size_budget_mb": prod_mb}}
    path = project.root / f"slipway-{tmp_path.name}.yaml"
    path.write_text(yaml.safe_dump(settings))
    return path


def test_image_size_fails_below_the_real_size_and_shows_the_largest_layers(
    project: Project, tmp_path: Path
) -> None:
    result = nox(project, "image_size", SLIPWAY_CONFIG=str(with_budget(project, tmp_path, 20)))
    assert result.returncode == 1
    out = result.stdout + result.stderr
    assert f"{project.image}:prod" in out
    assert "over its 20 MB budget" in out
    assert "largest layers of" in out
    assert "COPY --chown=app:app /app/.venv /app/.venv" in out


def test_image_size_passes_above_the_real_size(project: Project, tmp_path: Path) -> None:
    result = nox(project, "image_size", SLIPWAY_CONFIG=str(with_budget(project, tmp_path, 2000)))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2000 MB" in result.stderr


TINY_DOCKERFILE = """\
FROM python:3.13-slim-trixie AS base
FROM base AS dev
USER 1000
HEALTHCHECK CMD ["python", "-c", "pass"]
FROM base AS prod
USER 1000
# The mistake under test: the last USER is root.
USER root
HEALTHCHECK CMD ["python", "-c", "pass"]
"""


def tiny_project(root: Path, dockerfile: str) -> Path:
    (root / "docker").mkdir()
    (root / "docker/Dockerfile").write_text(dockerfile)
    (root / "compose").mkdir()
    (root / "compose/prod.yaml").write_text("services:\n  app:\n    image: tiny/app:prod\n")
    path = root / "slipway.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "project": "tiny",
                "image": "slipway-test/tiny",
                "targets": {"dev": None, "prod": None, "test": None},
                "environments": {
                    "prod": {
                        "target": "prod",
                        "compose_files": ["compose/prod.yaml"],
                        "env_file": "env/prod.env",
                    },
                },
            }
        )
    )
    return path


def test_non_root_fails_for_an_image_whose_last_user_is_root(
    project: Project, tmp_path: Path
) -> None:
    result = nox(project, "non_root", SLIPWAY_CONFIG=str(tiny_project(tmp_path, TINY_DOCKERFILE)))
    assert result.returncode == 1
    out = result.stdout + result.stderr
    assert "slipway-test/tiny:prod runs as root: add a USER" in out
    assert "slipway-test/tiny:prod runs as uid 0" in out


def test_non_root_passes_for_prod_and_dev(project: Project) -> None:
    result = nox(project, "non_root")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "uid 10001" in result.stderr


def test_in_container_tests_fail_the_run_when_a_test_fails(
    project: Project, tmp_path: Path
) -> None:
    project.ok("build", "--target", "test")
    (tmp_path / "docker").mkdir()
    (tmp_path / "docker/Dockerfile").write_text(
        f"FROM {project.image}:test AS test\n"
        "COPY test_broken.py /app/service/tests/test_broken.py\n"
    )
    (tmp_path / "test_broken.py").write_text("def test_that_is_broken():\n    assert 1 + 1 == 3\n")
    (tmp_path / "slipway.yaml").write_text(
        yaml.safe_dump(
            {
                "project": "tiny",
                "image": "slipway-test/tiny-tests",
                "targets": {"test": None},
                "environments": {},
            }
        )
    )
    cfg = config.load(tmp_path / "slipway.yaml")
    seen: list[str] = []
    with pytest.raises(CheckFailed, match="tests failed inside slipway-test/tiny-tests:test"):
        testrun.run_in_image(engine.client(cfg), cfg, tmp_path / "reports", report=seen.append)
    output = "\n".join(seen)
    assert "test_that_is_broken" in output
    assert "1 failed" in output
    assert (tmp_path / "reports/junit.xml").is_file()


def test_docker_tests_in_an_image_without_pytest_says_what_to_add(tmp_path: Path) -> None:
    """A project whose test stage installs no pytest: `nox -s docker_tests`
    fails with slipway's one line, not docker's `executable file not found`."""
    image = "slipway-test/tiny-no-pytest"
    (tmp_path / "docker").mkdir()
    (tmp_path / "docker/Dockerfile").write_text("FROM python:3.13-slim-trixie AS test\n")
    (tmp_path / "slipway.yaml").write_text(
        yaml.safe_dump(
            {"project": "tiny", "image": image, "targets": {"test": None}, "environments": {}}
        )
    )
    shutil.copy(ROOT / "src/slipway/templates/noxfile.py", tmp_path / "noxfile.py")
    try:
        result = subprocess.run(
            [sys.executable, "-m", "nox", "-s", "docker_tests"],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        # The run's container, which never started, is gone (--rm) ...
        left = docker.container.list(all=True, filters=[("ancestor", f"{image}:test")])
    finally:
        # ... and the test image goes here.
        if docker.image.exists(f"{image}:test"):
            docker.image.remove(f"{image}:test", force=True)
    out = result.stdout + result.stderr
    assert result.returncode == 1, out
    assert (
        f"Session docker_tests aborted: the test image {image}:test has no pytest: add pytest "
        "and pytest-cov to the dependency group the Dockerfile's test stage installs "
        "(uv add --dev pytest pytest-cov)"
    ) in result.stderr
    assert "executable file not found" not in out
    assert "Traceback" not in out
    assert left == []


def test_check_builds_first_then_its_json_matches_the_tables(project: Project) -> None:
    table = project.invoke("check")
    assert table.returncode == 0, table.stdout + table.stderr
    assert re.search(r"^#\d+ \[prod \d+/\d+\]", table.stdout, re.MULTILINE)  # it built first

    result = project.invoke("check", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)  # stdout is JSON alone; build lines went to stderr
    assert "#" in result.stderr
    size_rows = [line.split() for line in table.stdout.splitlines() if line.startswith("slipway-")]
    assert [(r["image"]["ref"], r["budget_mb"]) for r in report["sizes"]] == [
        (row[0], int(row[3])) for row in size_rows
    ]
    checks = table.stdout[table.stdout.index("check  ") :].splitlines()[2:]
    assert len(report["checks"]) == len(checks)
    for row, line in zip(report["checks"], checks, strict=True):
        assert line.startswith(row["name"])
        assert ("ok" if row["ok"] else "FAIL") in line
        assert line.rstrip().endswith(row["detail"])
    assert all(r["ok"] for r in report["checks"])
