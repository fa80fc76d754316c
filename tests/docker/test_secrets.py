"""Secrets reach containers as files only, and prod refuses a placeholder key."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from python_on_whales import DockerClient, docker
from python_on_whales.exceptions import DockerException
from python_on_whales.utils import run

from tests.docker.conftest import Project

pytestmark = pytest.mark.docker


def secret_values(project: Project) -> dict[str, str]:
    folder = project.root / "secrets"
    return {path.name: path.read_text() for path in sorted(folder.iterdir())}


def test_deploy_creates_random_secret_files_readable_by_the_containers_only_via_0700(
    project: Project, pg_project: Project
) -> None:
    values = secret_values(pg_project)
    assert sorted(values) == ["db_password", "secret_key"]
    assert all(len(value) >= 64 for value in values.values())
    assert stat.S_IMODE((project.root / "secrets").stat().st_mode) == 0o700
    for name in values:
        assert stat.S_IMODE((project.root / "secrets" / name).stat().st_mode) == 0o644

    out = project.ok("secrets")
    assert "0 secret file(s) created" in out
    assert secret_values(project) == values


def test_no_container_or_image_shows_a_secret_value(project: Project, pg_project: Project) -> None:
    project.ok("deploy")
    values = secret_values(pg_project).values()
    containers = [
        c
        for stack in (f"{project.name}-prod", f"{project.name}-prod-pg")
        for c in docker.container.list(
            all=True, filters=[("label", f"com.docker.compose.project={stack}")]
        )
    ]
    services = sorted(c.config.labels["com.docker.compose.service"] for c in containers)
    # Two app replicas, the worker and the proxy per stack, and prod-pg's db
    # and redis; the migrations ran in one-off containers that are gone.
    assert services == [
        *("app", "app", "app", "app", "db", "proxy", "proxy", "redis", "worker", "worker")
    ]
    images = {c.image for c in containers}
    with_secrets = []
    for container in containers:
        # The whole `docker inspect`: Env, Cmd, Args, Labels, Mounts...
        inspected = run([*docker.docker_cmd, "inspect", container.id])
        assert not [v for v in values if v in inspected], container.name
        if "/run/secrets/" in inspected:
            with_secrets.append(container.name)
    # Every app replica, prod-pg's worker (the database's password) and the db
    # read secret files; prod's worker and the proxies need none.
    assert len(with_secrets) == 6, with_secrets
    assert not [name for name in with_secrets if "-prod-worker-" in name]
    assert not [name for name in with_secrets if "-proxy-" in name]
    for image in images:
        history = run([*docker.docker_cmd, "history", "--no-trunc", image])
        inspected = run([*docker.docker_cmd, "image", "inspect", image])
        assert not [v for v in values if v in history + inspected], image


def test_prod_refuses_to_start_with_a_placeholder_secret_key(
    project: Project, tmp_path: Path
) -> None:
    project.ok("build", "--target", "prod")
    placeholder = tmp_path / "secret_key"
    placeholder.write_text("!!!SET SECRET_KEY!!!\n")
    placeholder.chmod(0o644)
    override = tmp_path / "placeholder.yaml"
    override.write_text(f"secrets:\n  secret_key:\n    file: {placeholder}\n")
    env_file = tmp_path / "image.env"
    env_file.write_text(f"SLIPWAY_IMAGE={project.image}:prod\n")
    compose = DockerClient(
        compose_files=[
            project.root / "compose/base.yaml",
            project.root / "compose/prod.yaml",
            override,
        ],
        compose_project_name=f"{project.name}-refusal",
        compose_env_files=[env_file],
    )

    try:
        with pytest.raises(DockerException) as failure:
            compose.compose.run("app", remove=True, tty=False, dependencies=False)
    finally:
        compose.compose.down(volumes=True)

    assert failure.value.return_code == 78
    output = (failure.value.stderr or "") + (failure.value.stdout or "")
    lines = [line for line in output.splitlines() if "notes-service" in line]
    assert lines == [
        "notes-service: refusing to start in prod: the secret key is a placeholder: "
        "run `invoke secrets` (or put a random value in secrets/secret_key)"
    ]
