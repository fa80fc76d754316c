"""The Dockerfile's targets build, and the prod image is lean and non-root."""

from __future__ import annotations

import pytest
from python_on_whales import docker

from tests.docker.conftest import Project

pytestmark = pytest.mark.docker


@pytest.mark.parametrize("target", ["dev", "test", "prod"])
def test_each_target_builds_through_invoke(project: Project, target: str) -> None:
    out = project.ok("build", "--target", target)
    assert f"built {project.image}:{target}" in out
    assert docker.image.exists(f"{project.image}:{target}")


def test_unknown_target_is_refused_in_one_line(project: Project) -> None:
    result = project.invoke("build", "--target", "staging")
    assert result.returncode == 2  # a usage error
    assert result.stderr.strip() == (
        "slipway: unknown target 'staging': choose one of dev, test, prod"
    )


@pytest.fixture(scope="module")
def prod_image(project: Project) -> str:
    project.ok("build", "--target", "prod")
    return f"{project.image}:prod"


def sh(image: str, script: str) -> str:
    """Run a shell script in a throw-away container of the image."""
    return str(
        docker.run(image, ["-c", script], entrypoint="sh", remove=True, pull="never")
    ).strip()


def test_prod_image_runs_as_a_fixed_non_root_user(prod_image: str) -> None:
    image = docker.image.inspect(prod_image)
    assert image.config.user not in ("", "root", "0", "0:0")
    assert sh(prod_image, "id -u") == "10001"


def test_prod_image_has_a_healthcheck_that_needs_no_curl(prod_image: str) -> None:
    healthcheck = docker.image.inspect(prod_image).config.healthcheck
    assert healthcheck is not None
    assert healthcheck.test is not None
    probe = "/usr/local/lib/slipway/healthcheck.py"
    assert healthcheck.test == ["CMD", "python", probe]
    assert sh(prod_image, f"grep -c urllib.request {probe}") != "0"
    assert sh(prod_image, "command -v curl wget || echo none") == "none"


def test_prod_image_carries_no_uv_tests_git_or_host_venv(prod_image: str) -> None:
    report = sh(
        prod_image,
        "command -v uv uvx || echo no-uv;"
        " python -c 'import pytest' 2>/dev/null && echo pytest || echo no-pytest;"
        " find / -xdev \\( -name .git -o -name tests -path '/app/*' \\) 2>/dev/null | head -1;"
        " ls /app/service 2>/dev/null || echo no-source;"
        " grep -q '^home = /usr' /app/.venv/pyvenv.cfg && echo image-venv;"
        " ls /app/.venv/bin/invoke /app/.venv/bin/nox 2>/dev/null || echo no-host-tools",
    )
    assert report.splitlines() == ["no-uv", "no-pytest", "no-source", "image-venv", "no-host-tools"]


def test_one_healthcheck_serves_dev_and_prod_and_the_test_run_has_none(project: Project) -> None:
    for target in ("dev", "test"):
        project.ok("build", "--target", target)
    prod, dev, test = (
        docker.image.inspect(f"{project.image}:{target}").config.healthcheck
        for target in ("prod", "dev", "test")
    )
    assert prod is not None
    assert dev == prod
    assert test is not None
    assert test.test == ["NONE"]
