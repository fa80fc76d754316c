"""The one way into Docker: a python-on-whales client built from the config.

Nothing else in slipway runs ``docker``; every failure of the CLI is turned
into a :class:`~slipway.errors.SlipwayError` here.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from python_on_whales import DockerClient
from python_on_whales.client_config import ClientNotFoundError
from python_on_whales.exceptions import DockerException

from slipway.config import Config, Environment
from slipway.errors import DockerUnavailable, SlipwayError

_UNREACHABLE = (
    "Cannot connect to the Docker daemon",
    "error during connect",
    "permission denied while trying to connect",
    "dial unix",
)


def project_name(config: Config, env: Environment) -> str:
    """Compose project of an environment: ``slipway-prod``, ``slipway-dev``."""
    return f"{config.project}-{env.name}"


def state_file(config: Config, env: Environment) -> Path:
    """Where deploy records which image an environment runs (SLIPWAY_IMAGE)."""
    return config.state_dir() / f"{env.name}.env"


def client(
    config: Config, env: Environment | None = None, *, env_file: Path | None = None
) -> DockerClient:
    """A client for images, or, given an environment, for its compose stack.

    ``env_file`` stands in for the environment's own env file (doctor reads a
    missing one's example, which is what deploy would create it from).
    """
    if env is None:
        return DockerClient()
    env_files: list[str | Path] = [
        p for p in (env_file or env.env_file, state_file(config, env)) if p.is_file()
    ]
    return DockerClient(
        compose_files=[str(f) for f in env.compose_files],
        compose_project_name=project_name(config, env),
        compose_env_files=env_files,
    )


def message_of(exc: DockerException) -> str:
    """The last meaningful line the docker CLI printed."""
    text = "\n".join(s for s in (exc.stderr, exc.stdout) if s)
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    errors = [ln for ln in lines if "error" in ln.lower()]
    return (errors or lines or [f"exit code {exc.return_code}"])[-1]


@contextmanager
def docker_errors(action: str) -> Iterator[None]:
    """Turn python-on-whales failures into one-line SlipwayErrors."""
    try:
        yield
    except ClientNotFoundError:
        raise DockerUnavailable(
            "the docker CLI is not installed: install Docker Engine with buildx and compose v2"
        ) from None
    except DockerException as exc:
        raise unavailable(exc) or SlipwayError(f"{action} failed: {message_of(exc)}") from None


def unavailable(exc: DockerException) -> DockerUnavailable | None:
    """The missing daemon or plugin behind a failed docker call, if that is the cause."""
    text = f"{exc.stderr or ''}\n{exc.stdout or ''}"
    if any(marker in text for marker in _UNREACHABLE):
        host = os.environ.get("DOCKER_HOST", "the default socket")
        return DockerUnavailable(
            f"cannot reach the Docker daemon at {host}: start Docker, or fix DOCKER_HOST"
        )
    if "'compose' is not a docker command" in text or "unknown command: docker compose" in text:
        return DockerUnavailable(
            "the docker compose v2 plugin is missing: install docker-compose-plugin"
        )
    if "'buildx' is not a docker command" in text:
        return DockerUnavailable(
            "the docker buildx plugin is missing: install docker-buildx-plugin"
        )
    return None


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
                docker.container.copy((container, path), target)
            except DockerException as exc:
                if "Could not find the file" in f"{exc.stderr}{exc.stdout}":
                    continue
                raise unavailable(exc) or SlipwayError(
                    f"copying {path} out of {image} failed: {message_of(exc)}"
                ) from None
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
