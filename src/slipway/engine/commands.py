"""Named docker commands built from python-on-whales' own methods, each
failure translated by :func:`~slipway.engine.errors.docker_errors`."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from python_on_whales import DockerClient

from slipway.engine.errors import docker_errors
from slipway.errors import EngineError


def ensure_engine(docker: DockerClient, *, compose: bool = False) -> None:
    """Fail early, with one line, when the daemon or a plugin is missing."""
    with docker_errors("docker version"):
        docker.version()
        docker.buildx.version()
        if compose:
            docker.compose.version()


def copy_out(docker: DockerClient, image: str, paths: Sequence[str], dest: Path) -> list[str]:
    """Copy those of ``paths`` that exist in ``image`` under ``dest``, keeping
    their absolute layout (``/var/lib/dpkg`` lands in ``dest/var/lib/dpkg``).

    From a created, never-started container, removed afterwards: nothing runs.
    Returns the paths copied.
    """
    copied = []
    with docker_errors(f"reading {image}"):
        container = docker.container.create(image, pull="never")
    try:
        for path in paths:
            target = dest / path.lstrip("/")
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                with docker_errors(f"copying {path} out of {image}"):
                    docker.container.copy((container, path), target)
            except EngineError as exc:
                if "Could not find the file" in f"{exc.stderr}{exc.stdout}":
                    continue
                raise
            copied.append(path)
    finally:
        with docker_errors(f"removing the container made from {image}"):
            container.remove(volumes=True)
    return copied


def run_python(docker: DockerClient, image: str, code: str) -> str:
    """Run ``python -c CODE`` in a throw-away container of ``image`` (never
    pulled) and return what it printed."""
    with docker_errors(f"running python in {image}"):
        out = docker.run(image, ["-c", code], entrypoint="python", remove=True, pull="never")
    return str(out)


def compose_model(docker: DockerClient, *, action: str = "docker compose config") -> dict[str, Any]:
    """The stack as `docker compose config --format json` resolves it: files
    merged, variables substituted, every key kept (python-on-whales' own
    ComposeConfig model drops some, such as read_only and security_opt)."""
    with docker_errors(action):
        return docker.compose.config(return_json=True)
